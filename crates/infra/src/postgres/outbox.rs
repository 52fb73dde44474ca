use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::mail::{Outbox, OutgoingEmail};
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::store_error;
use super::prepared::prepared;
use super::schema::outbox_emails;
use super::store::PgTx;
use crate::mail::{DeliverySettings, MailTransport, QueuedEmail};

/// Emails per INSERT: well under PostgreSQL's 65,535 bind parameters at 8 a row.
const ENQUEUE_CHUNK: usize = 1_000;

impl Outbox for PgTx<'_> {
    fn enqueue_email(&mut self, email: &OutgoingEmail) -> Result<(), StoreError> {
        self.enqueue_emails(std::slice::from_ref(email))
    }

    fn enqueue_emails(&mut self, emails: &[OutgoingEmail]) -> Result<(), StoreError> {
        let now = Utc::now();
        for chunk in emails.chunks(ENQUEUE_CHUNK) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|email| {
                    (
                        outbox_emails::id.eq(email.id.as_uuid()),
                        outbox_emails::org_id.eq(email.org_id.map(|o| o.as_uuid())),
                        outbox_emails::recipient.eq(email.to.as_str()),
                        outbox_emails::subject.eq(&email.subject),
                        outbox_emails::text_body.eq(&email.text),
                        outbox_emails::html_body.eq(&email.html),
                        outbox_emails::next_attempt_at.eq(now),
                        outbox_emails::created_at.eq(now),
                    )
                })
                .collect();
            // One email (the usual case) is one prepared form; a list's text grows with it.
            match rows.as_slice() {
                [row] => prepared(diesel::insert_into(outbox_emails::table).values(row)).execute(self.conn),
                rows => diesel::insert_into(outbox_emails::table).values(rows).execute(self.conn),
            }
            .map_err(store_error)?;
            for email in chunk {
                tracing::info!(email = %email.id, to = email.to.as_str(), subject = %email.subject, "email queued");
            }
        }
        Ok(())
    }
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
}

impl DeliveryRound {
    pub fn handled(&self) -> usize {
        self.sent + self.retried + self.dead
    }
}

/// Takes up to `settings.batch` due emails: counts the attempt and leases them until
/// `now + settings.lease`, in one short transaction. Rows are claimed with `FOR UPDATE
/// SKIP LOCKED`, so workers on several server instances never take the same email; one
/// whose worker dies mid-send becomes due again when its lease ends (at-least-once).
fn claim_due(
    conn: &mut PgConnection,
    settings: &DeliverySettings,
    now: DateTime<Utc>,
) -> Result<Vec<(QueuedEmail, i32)>, StoreError> {
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        let due: Vec<(Uuid, String, String, String, String, i32)> = outbox_emails::table
            .filter(outbox_emails::status.eq("pending"))
            .filter(outbox_emails::next_attempt_at.le(now))
            .order(outbox_emails::next_attempt_at.asc())
            .limit(settings.batch)
            .for_update()
            .skip_locked()
            .select((
                outbox_emails::id,
                outbox_emails::recipient,
                outbox_emails::subject,
                outbox_emails::text_body,
                outbox_emails::html_body,
                outbox_emails::attempts,
            ))
            .load(conn)?;
        let ids: Vec<Uuid> = due.iter().map(|row| row.0).collect();
        let lease_until = now + chrono::Duration::from_std(settings.lease).unwrap_or(chrono::Duration::minutes(10));
        prepared(diesel::update(outbox_emails::table.filter(outbox_emails::id.eq_any(&ids))).set((
            outbox_emails::attempts.eq(outbox_emails::attempts + 1),
            outbox_emails::next_attempt_at.eq(lease_until),
        )))
        .execute(conn)?;
        Ok(due
            .into_iter()
            .map(|(id, recipient, subject, text, html, attempts)| {
                (QueuedEmail { id, recipient, subject, text, html }, attempts + 1)
            })
            .collect())
    })
    .map_err(store_error)
}

/// Records how one send went. A delivered or abandoned email keeps no body: the body may
/// hold a secret link, and nothing needs it any more.
fn record_outcome(
    conn: &mut PgConnection,
    email: &QueuedEmail,
    attempts: i32,
    outcome: Result<(), String>,
    settings: &DeliverySettings,
) -> Result<DeliveryRound, StoreError> {
    let row = outbox_emails::table.filter(outbox_emails::id.eq(email.id));
    let now = Utc::now();
    let (query, round) = match outcome {
        Ok(()) => {
            let set = (
                outbox_emails::status.eq("sent"),
                outbox_emails::sent_at.eq(Some(now)),
                outbox_emails::text_body.eq(""),
                outbox_emails::html_body.eq(""),
                outbox_emails::last_error.eq(None::<String>),
            );
            (prepared(diesel::update(row).set(set)).execute(conn), DeliveryRound { sent: 1, ..Default::default() })
        }
        Err(error) if attempts >= settings.max_attempts => {
            tracing::error!(email = %email.id, attempts, %error, "email undeliverable; giving up");
            let set = (
                outbox_emails::status.eq("dead"),
                outbox_emails::sent_at.eq(None::<DateTime<Utc>>),
                outbox_emails::text_body.eq(""),
                outbox_emails::html_body.eq(""),
                outbox_emails::last_error.eq(Some(error)),
            );
            (prepared(diesel::update(row).set(set)).execute(conn), DeliveryRound { dead: 1, ..Default::default() })
        }
        Err(error) => {
            let retry_at = now + settings.backoff(attempts);
            tracing::warn!(email = %email.id, attempts, %error, %retry_at, "email delivery failed; will retry");
            let set = (outbox_emails::next_attempt_at.eq(retry_at), outbox_emails::last_error.eq(Some(error)));
            (prepared(diesel::update(row).set(set)).execute(conn), DeliveryRound { retried: 1, ..Default::default() })
        }
    };
    query.map(|_| round).map_err(store_error)
}

/// Delivers the emails that are due, each recorded as soon as it is sent. Stops early,
/// between two emails, when `stop` is set.
pub fn deliver_due(
    conn: &mut PgConnection,
    transport: &dyn MailTransport,
    settings: &DeliverySettings,
    stop: &AtomicBool,
) -> Result<DeliveryRound, StoreError> {
    let mut round = DeliveryRound::default();
    for (email, attempts) in claim_due(conn, settings, Utc::now())? {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let outcome = record_outcome(conn, &email, attempts, transport.send(&email), settings)?;
        round = DeliveryRound {
            sent: round.sent + outcome.sent,
            retried: round.retried + outcome.retried,
            dead: round.dead + outcome.dead,
        };
    }
    Ok(round)
}
