use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::mail::{Outbox, OutgoingEmail};
use domain::StoreError;
use uuid::Uuid;

use super::errors::store_error;
use super::schema::outbox_emails;
use super::store::PgTx;
use crate::mail::{DeliverySettings, MailTransport, QueuedEmail};

impl Outbox for PgTx<'_> {
    fn enqueue_email(&mut self, email: &OutgoingEmail) -> Result<(), StoreError> {
        let now = Utc::now();
        diesel::insert_into(outbox_emails::table)
            .values((
                outbox_emails::id.eq(email.id.as_uuid()),
                outbox_emails::org_id.eq(email.org_id.map(|o| o.as_uuid())),
                outbox_emails::recipient.eq(email.to.as_str()),
                outbox_emails::subject.eq(&email.subject),
                outbox_emails::text_body.eq(&email.text),
                outbox_emails::html_body.eq(&email.html),
                outbox_emails::next_attempt_at.eq(now),
                outbox_emails::created_at.eq(now),
            ))
            .execute(self.conn)
            .map_err(store_error)?;
        tracing::info!(email = %email.id, to = email.to.as_str(), subject = %email.subject, "email queued");
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

/// Delivers the emails that are due, at most `settings.batch` of them. Rows are claimed
/// with `FOR UPDATE SKIP LOCKED`, so any number of workers (one per server instance) share
/// the queue without sending a message twice at once; a worker that dies mid-send leaves
/// its rows to be claimed again, which makes delivery at-least-once.
pub fn deliver_due(
    conn: &mut PgConnection,
    transport: &dyn MailTransport,
    settings: &DeliverySettings,
    now: DateTime<Utc>,
) -> Result<DeliveryRound, StoreError> {
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
        let mut round = DeliveryRound::default();
        for (id, recipient, subject, text, html, attempts) in due {
            let email = QueuedEmail { id, recipient, subject, text, html };
            let row = outbox_emails::table.filter(outbox_emails::id.eq(id));
            let attempts = attempts + 1;
            match transport.send(&email) {
                Ok(()) => {
                    diesel::update(row)
                        .set((
                            outbox_emails::status.eq("sent"),
                            outbox_emails::sent_at.eq(now),
                            outbox_emails::attempts.eq(attempts),
                        ))
                        .execute(conn)?;
                    round.sent += 1;
                }
                Err(error) if attempts >= settings.max_attempts => {
                    tracing::error!(email = %id, attempts, %error, "email undeliverable; giving up");
                    diesel::update(row)
                        .set((
                            outbox_emails::status.eq("dead"),
                            outbox_emails::attempts.eq(attempts),
                            outbox_emails::last_error.eq(&error),
                        ))
                        .execute(conn)?;
                    round.dead += 1;
                }
                Err(error) => {
                    let retry_at = now + settings.backoff(attempts);
                    tracing::warn!(email = %id, attempts, %error, %retry_at, "email delivery failed; will retry");
                    diesel::update(row)
                        .set((
                            outbox_emails::attempts.eq(attempts),
                            outbox_emails::next_attempt_at.eq(retry_at),
                            outbox_emails::last_error.eq(&error),
                        ))
                        .execute(conn)?;
                    round.retried += 1;
                }
            }
        }
        Ok(round)
    })
    .map_err(store_error)
}
