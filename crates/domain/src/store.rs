//! The unit-of-work port: one transaction over every repository a use case needs.

use crate::audit::AuditSink;
use crate::error::StoreError;
use crate::member::MemberRepository;
use crate::org::OrgRepository;
use crate::user::UserRepository;

/// Everything a use case may read or write inside one transaction.
pub trait Tx: UserRepository + OrgRepository + MemberRepository + AuditSink {}

impl<T: UserRepository + OrgRepository + MemberRepository + AuditSink> Tx for T {}

/// Runs use cases in transactions.
pub trait Store: Clone + Send + Sync + 'static {
    /// Runs `work` in one transaction: committed when it returns `Ok`, rolled back when it
    /// returns `Err`, so a mutation and its audit record land together or not at all.
    fn transaction<T, E>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>;

    /// Checks that the storage answers.
    fn ping(&self) -> Result<(), StoreError>;
}
