//! Outbound email. Use cases never send mail themselves: they write it to an outbox in the
//! same transaction as the change that causes it, and a worker delivers it afterwards. A
//! rolled-back change sends nothing; a committed one is never forgotten.

use crate::error::StoreError;
use crate::ids::{EmailId, OrgId};
use crate::user::Email;

/// A message to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub id: EmailId,
    pub org_id: Option<OrgId>,
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The port emails are queued through.
pub trait Outbox {
    fn enqueue_email(&mut self, email: &OutgoingEmail) -> Result<(), StoreError>;
}
