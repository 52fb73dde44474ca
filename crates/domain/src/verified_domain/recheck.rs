//! The daily re-verification: a verified domain whose TXT record is gone, and still gone an
//! hour later, goes back to unverified, with an audit record and an email to the owners.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::dns::TxtResolver;
use super::model::{OrgDomain, CLAIM_TTL, CONFIRM_ABSENCE_AFTER, RECHECK_EVERY};
use super::service::audit;
use crate::audit::{Actor, AuditAction, Changes};
use crate::context::RequestMeta;
use crate::error::StoreError;
use crate::mail::{html_page, one_line, EmailContent};
use crate::store::{Store, Tx};
use crate::time::Clock;

/// After a lookup that could not tell, the domain is looked at again this much later
/// rather than at the next round, so a broken resolver is not hammered.
pub const RETRY_AFTER_DNS_FAILURE: Duration = Duration::hours(1);

/// What one round of re-verification did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecheckRound {
    /// Domains whose record was found again.
    pub still_verified: usize,
    /// The record was gone for the first time: looked at again after
    /// [`CONFIRM_ABSENCE_AFTER`] before anything changes.
    pub missing: usize,
    /// The record was still gone: back to unverified.
    pub lost: usize,
    /// The lookup could not tell; nothing changed.
    pub undecided: usize,
    /// What the latest undecided lookup said, for the worker's log.
    pub last_error: Option<String>,
}

impl RecheckRound {
    /// How many domains the round looked at.
    pub fn handled(&self) -> usize {
        self.still_verified + self.missing + self.lost + self.undecided
    }
}

/// Re-verifies domains on a schedule.
#[derive(Clone)]
pub struct DomainRecheck<S> {
    store: S,
    clock: Arc<dyn Clock>,
    resolver: Arc<dyn TxtResolver>,
}

enum Outcome {
    Proven,
    Gone,
    Undecided,
}

impl<S: Store> DomainRecheck<S> {
    /// The worker over `store`, looking TXT records up through `resolver` and reading time from
    /// `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>, resolver: Arc<dyn TxtResolver>) -> Self {
        Self { store, clock, resolver }
    }

    /// Looks up to `batch` domains checked more than [`RECHECK_EVERY`] ago. Each lookup
    /// runs outside any transaction; the result is applied only if nobody checked the
    /// domain meanwhile, so several instances never report one loss twice.
    pub fn run_round(&self, batch: i64) -> Result<RecheckRound, StoreError> {
        let now = self.clock.now();
        let due = self.store.transaction(|tx| tx.domains_due_for_recheck(now - RECHECK_EVERY, batch))?;
        let mut round = RecheckRound::default();
        for seen in due {
            let outcome = match self.resolver.txt_records(&seen.record_name()) {
                Ok(records) if seen.proven_by(&records) => Outcome::Proven,
                Ok(_) => Outcome::Gone,
                Err(error) => {
                    round.last_error = Some(format!("{}: {}", seen.name, error.0));
                    Outcome::Undecided
                }
            };
            match self.store.transaction(|tx| apply(tx, &seen, &outcome, self.clock.now()))? {
                Some(Applied::StillVerified) => round.still_verified += 1,
                Some(Applied::Missing) => round.missing += 1,
                Some(Applied::Lost) => round.lost += 1,
                Some(Applied::Undecided) => round.undecided += 1,
                None => {}
            }
        }
        Ok(round)
    }
}

fn apply(
    tx: &mut dyn Tx,
    seen: &OrgDomain,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<Option<Applied>, StoreError> {
    let Some(current) = tx.find_domain(seen.org_id, &super::DomainRef::Id(seen.id), true)? else { return Ok(None) };
    // Applied only to the row as it was read: another worker's result, or any change made
    // meanwhile, wins, and the domain comes round again if it is still due.
    if current != *seen {
        return Ok(None);
    }
    // Due again this long after `now`, rather than a day later.
    let again_after = |wait: Duration| Some(now - RECHECK_EVERY + wait);
    let (next, applied) = match outcome {
        Outcome::Proven => {
            (OrgDomain { last_checked_at: Some(now), missing_since: None, ..current }, Applied::StillVerified)
        }
        Outcome::Undecided => {
            (OrgDomain { last_checked_at: again_after(RETRY_AFTER_DNS_FAILURE), ..current }, Applied::Undecided)
        }
        Outcome::Gone => match current.missing_since {
            Some(since) if now - since >= CONFIRM_ABSENCE_AFTER => (
                OrgDomain {
                    verified_at: None,
                    expires_at: Some(now + CLAIM_TTL),
                    last_checked_at: Some(now),
                    missing_since: None,
                    updated_at: now,
                    version: current.version + 1,
                    ..current
                },
                Applied::Lost,
            ),
            since => (
                OrgDomain {
                    last_checked_at: again_after(CONFIRM_ABSENCE_AFTER),
                    missing_since: Some(since.unwrap_or(now)),
                    ..current
                },
                Applied::Missing,
            ),
        },
    };
    tx.update_domain(&next).map_err(|e| match e {
        super::DomainWriteError::Store(e) => e,
        other => StoreError::Internal(other.to_string()),
    })?;
    if applied == Applied::Lost {
        let mut changes = Changes::new();
        changes.set("record_name", next.record_name());
        changes.set("expires_at", next.expires_at.map(|t| t.to_rfc3339()));
        audit(tx, &Actor::System, &RequestMeta::default(), &next, AuditAction::DomainVerificationLost, changes, now)?;
        email_owners(tx, &next)?;
    }
    Ok(Some(applied))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    StillVerified,
    Missing,
    Lost,
    Undecided,
}

/// Tells every owner with a verified address that the domain is no longer verified.
fn email_owners(tx: &mut dyn Tx, domain: &OrgDomain) -> Result<(), StoreError> {
    let Some(org) = tx.find_org(domain.org_id)? else { return Ok(()) };
    crate::mail::email_owners(tx, domain.org_id, &render_lost_email(org.name.as_str(), domain))
}

fn render_lost_email(org_name: &str, domain: &OrgDomain) -> EmailContent {
    let org = one_line(org_name, 200);
    let expires = domain.expires_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default();
    let text = format!(
        "The TXT record that proves {org} owns {domain} is gone, so {domain} is no longer verified.\n\n\
         Until it is verified again, people at {domain} are not offered {org}, not admitted by their domain, and \
         not held to its single sign-on.\n\n\
         Publish this TXT record again and verify the domain before {expires}:\n\n  {name}  TXT  \"{value}\"\n",
        domain = domain.name,
        name = domain.record_name(),
        value = domain.record_value(),
    );
    let escape = |s: &str| html_escape::encode_text(s).into_owned();
    let html = html_page(&format!(
        "<p>The TXT record that proves {org} owns <b>{domain}</b> is gone, so {domain} is no longer verified.</p>\
         <p>Until it is verified again, people at {domain} are not offered {org}, not admitted by their domain, \
         and not held to its single sign-on.</p>\
         <p>Publish this TXT record again and verify the domain before {expires}:</p>\
         <pre>{name}  TXT  \"{value}\"</pre>",
        org = escape(&org),
        domain = escape(domain.name.as_str()),
        expires = escape(&expires),
        name = escape(&domain.record_name()),
        value = escape(&domain.record_value()),
    ));
    EmailContent { subject: format!("{} is no longer verified for {}", domain.name, org), text, html }
}
