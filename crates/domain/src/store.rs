//! The unit-of-work port: one transaction over every repository a use case needs.

use crate::access::{EntryCache, EntryCacheAccess, NoCache};
use crate::apikey::ApiKeyRepository;
use crate::audit::{AuditLog, AuditSink};
use crate::dashboard::DashboardRepository;
use crate::error::StoreError;
use crate::events::EventRepository;
use crate::idempotency::IdempotencyRepository;
use crate::invite::InviteRepository;
use crate::join::JoinRequestRepository;
use crate::llm::LlmPolicyRepository;
use crate::mail::Outbox;
use crate::member::MemberRepository;
use crate::notification::NotificationRepository;
use crate::org::OrgRepository;
use crate::platform::PlatformRepository;
use crate::policy::{MfaRepository, PolicyRepository};
use crate::role::RoleRepository;
use crate::scim::{DirectoryRepository, ScimRepository};
use crate::spend::SpendRepository;
use crate::sso::SsoRepository;
use crate::team::TeamRepository;
use crate::user::UserRepository;
use crate::verified_domain::DomainRepository;
use crate::webhooks::WebhookRepository;

/// Everything a use case may read or write inside one transaction.
pub trait Tx:
    UserRepository
    + OrgRepository
    + MemberRepository
    + RoleRepository
    + TeamRepository
    + ApiKeyRepository
    + InviteRepository
    + Outbox
    + AuditSink
    + AuditLog
    + PolicyRepository
    + MfaRepository
    + NotificationRepository
    + SsoRepository
    + ScimRepository
    + DirectoryRepository
    + DomainRepository
    + JoinRequestRepository
    + PlatformRepository
    + LlmPolicyRepository
    + SpendRepository
    + DashboardRepository
    + IdempotencyRepository
    + EventRepository
    + WebhookRepository
    + EntryCacheAccess
{
}

impl<T> Tx for T where
    T: UserRepository
        + OrgRepository
        + MemberRepository
        + RoleRepository
        + TeamRepository
        + ApiKeyRepository
        + InviteRepository
        + Outbox
        + AuditSink
        + AuditLog
        + PolicyRepository
        + MfaRepository
        + NotificationRepository
        + SsoRepository
        + ScimRepository
        + DirectoryRepository
        + DomainRepository
        + JoinRequestRepository
        + PlatformRepository
        + LlmPolicyRepository
        + SpendRepository
        + DashboardRepository
        + IdempotencyRepository
        + EventRepository
        + WebhookRepository
        + EntryCacheAccess
{
}

/// Runs use cases in transactions.
pub trait Store: Clone + Send + Sync + 'static {
    /// Runs `work` in one transaction: committed when it returns `Ok`, rolled back when it
    /// returns `Err`, so a mutation and its audit record land together or not at all.
    fn transaction<T, E>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>;

    /// Runs read-only `work` without opening a transaction when the store can: one
    /// statement then costs one round trip. Each statement sees its own snapshot, so `work`
    /// must neither write nor need two reads to agree.
    fn read<T, E>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.transaction(work)
    }

    /// Runs `work` in one read-only transaction that sees the data as it was when it began,
    /// however many reads it makes and whatever commits meanwhile. Any write in `work` fails.
    /// The default is [`Store::transaction`], for stores whose transactions see that anyway.
    fn read_snapshot<T, E>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.transaction(work)
    }

    /// The entry cache this store's transactions consult, read here without a connection
    /// ([`crate::access::read_cached`]). The default keeps nothing.
    fn cached_entries(&self) -> &dyn EntryCache {
        &NoCache
    }

    /// Checks that the storage answers.
    fn ping(&self) -> Result<(), StoreError>;
}
