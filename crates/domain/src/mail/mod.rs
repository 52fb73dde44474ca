//! Outbound email. Use cases never send mail themselves: they write it to an outbox in the
//! same transaction as the change that causes it, and a worker delivers it afterwards. A
//! rolled-back change sends nothing; a committed one is never forgotten.

use crate::error::StoreError;
use crate::ids::{EmailId, OrgId};
use crate::user::Email;

/// What an email says, rendered: its subject, a plain-text body and an HTML one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, every interpolated value escaped.
    pub html: String,
}

/// Header-safe: no line breaks (they would start new headers), bounded length.
pub fn one_line(value: &str, max: usize) -> String {
    value.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect()
}

/// The HTML document every email wraps its body in; `body` must already be escaped.
pub fn html_page(body: &str) -> String {
    format!("<!doctype html><html><body style=\"font-family: sans-serif\">{body}</body></html>")
}

/// A message to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// The message's id.
    pub id: EmailId,
    /// The organization it is sent on behalf of, if any.
    pub org_id: Option<OrgId>,
    /// The recipient.
    pub to: Email,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

impl OutgoingEmail {
    /// A new message to `to`, sent on behalf of `org_id` (if any).
    pub fn new(org_id: Option<OrgId>, to: Email, content: EmailContent) -> Self {
        let EmailContent { subject, text, html } = content;
        Self { id: EmailId::generate(), org_id, to, subject, text, html }
    }
}

/// Queues `content` to every owner of the organization whose address is verified.
pub fn email_owners(tx: &mut dyn crate::store::Tx, org: OrgId, content: &EmailContent) -> Result<(), StoreError> {
    let owners = tx.member_access_facts(org, Some(&crate::authz::RoleKey::owner()), None, i64::MAX)?;
    let emails: Vec<OutgoingEmail> = owners
        .iter()
        .filter(|owner| owner.email_verified)
        .filter_map(|owner| owner.email.as_deref().and_then(|e| Email::parse(e).ok()))
        .map(|to| OutgoingEmail::new(Some(org), to, content.clone()))
        .collect();
    tx.enqueue_emails(&emails)
}

/// The port emails are queued through.
pub trait Outbox {
    /// Queues one message in the caller's transaction.
    fn enqueue_email(&mut self, email: &OutgoingEmail) -> Result<(), StoreError>;

    /// Queues many at once; an adapter may do it in one round trip.
    fn enqueue_emails(&mut self, emails: &[OutgoingEmail]) -> Result<(), StoreError> {
        emails.iter().try_for_each(|email| self.enqueue_email(email))
    }
}
