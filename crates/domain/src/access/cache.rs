//! What entering an organization reads, kept between requests.
//!
//! Entering reads the same few rows on every request (the person, the organization and its
//! policies, the membership, the role's permissions, an API key). An adapter may keep them
//! in memory, as long as it forgets an entry once the rows behind it change, on this
//! instance and on every other one. The contract that makes that safe lives here:
//!
//! - an [`Epoch`] is taken *before* the rows are read, and an entry is kept with it; the
//!   adapter refuses an entry whose rows changed after its epoch, so a read racing a change
//!   never outlives it;
//! - entries are kept only once the transaction that read them has committed
//!   ([`EntryCacheAccess::keep_after_commit`]), so nothing rolled back is ever served;
//! - nothing that needs a write (a profile to refresh, a key's use to record, staff access
//!   to audit) is answered from memory: the cached path declines and the use case enters
//!   through the database.

use crate::apikey::ApiKey;
use crate::authz::{PermissionSet, RoleKey};
use crate::ids::{OrgId, UserId};
use crate::member::Membership;
use crate::org::Organization;
use crate::policy::OrgPolicies;
use crate::user::User;

/// The adapter's clock of changes, read before the rows an entry is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Epoch(pub u64);

/// One thing worth keeping, as read at some [`Epoch`].
#[derive(Debug, Clone)]
pub enum CacheEntry {
    /// A person's stored profile, found by their identity provider's subject.
    User(User),
    /// A live organization with the policies its gate applies.
    Org(Box<(Organization, OrgPolicies)>),
    /// A person's membership of an organization.
    Membership(Membership),
    /// The permissions a role key carries in an organization.
    RolePermissions {
        /// The organization.
        org: OrgId,
        /// The role key.
        role: RoleKey,
        /// The permissions it carries there.
        permissions: PermissionSet,
    },
    /// An API key, found by the keyed hash of its secret under the current key.
    ApiKey {
        /// The keyed hash of the secret.
        hash: Vec<u8>,
        /// The key.
        key: ApiKey,
    },
}

/// Reads what an adapter kept. Every answer may be `None`; callers then read the store.
pub trait EntryCache: Send + Sync {
    /// Taken before reading rows that will be kept.
    fn epoch(&self) -> Epoch;
    /// The user with this identity-provider subject, if kept.
    fn user(&self, subject: &str) -> Option<User>;
    /// The live organization `org` with its policies, if kept.
    fn org(&self, org: OrgId) -> Option<(Organization, OrgPolicies)>;
    /// `user`'s membership of `org`, if kept.
    fn membership(&self, org: OrgId, user: UserId) -> Option<Membership>;
    /// The permissions `role` carries in `org`, if kept.
    fn role_permissions(&self, org: OrgId, role: &RoleKey) -> Option<PermissionSet>;
    /// The API key whose secret hashes to `hash`, if kept.
    fn api_key(&self, hash: &[u8]) -> Option<ApiKey>;
}

/// The cache of a store that keeps nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCache;

impl EntryCache for NoCache {
    fn epoch(&self) -> Epoch {
        Epoch(0)
    }
    fn user(&self, _: &str) -> Option<User> {
        None
    }
    fn org(&self, _: OrgId) -> Option<(Organization, OrgPolicies)> {
        None
    }
    fn membership(&self, _: OrgId, _: UserId) -> Option<Membership> {
        None
    }
    fn role_permissions(&self, _: OrgId, _: &RoleKey) -> Option<PermissionSet> {
        None
    }
    fn api_key(&self, _: &[u8]) -> Option<ApiKey> {
        None
    }
}

/// How a transaction reaches its store's entry cache.
pub trait EntryCacheAccess {
    /// The cache of the store this transaction belongs to.
    fn entry_cache(&self) -> &dyn EntryCache;
    /// Keeps `entry`, read at `epoch`, once this transaction commits; dropped if it rolls
    /// back.
    fn keep_after_commit(&mut self, epoch: Epoch, entry: CacheEntry);
}
