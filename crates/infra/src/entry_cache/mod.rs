//! The in-memory [`EntryCache`]: what entering an organization reads, kept per instance and
//! forgotten when PostgreSQL says the rows behind it changed.
//!
//! Invalidation is by generation, never by scanning. Every change signal bumps a counter;
//! the organization or person it names maps to one of [`SLOTS`] slots, which records the
//! counter's value. An entry remembers the counter as it was *before* its rows were read
//! (its epoch) and is served only while its slot has not moved past that: a change that
//! raced the read invalidates the entry even if the entry is kept after the signal.
//! Forgetting everything moves a floor instead.
//!
//! Entries are served only while the change listener is connected and has confirmed so
//! within [`LISTENER_GRACE`]: a listener that lost its connection could have missed a
//! signal, so the cache stops answering until it is back (and then forgets everything).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use orgd_domain::access::{CacheEntry, EntryCache, Epoch};
use orgd_domain::apikey::ApiKey;
use orgd_domain::authz::{PermissionSet, RoleKey};
use orgd_domain::ids::{OrgId, UserId};
use orgd_domain::member::Membership;
use orgd_domain::org::Organization;
use orgd_domain::policy::OrgPolicies;
use orgd_domain::user::User;
use quick_cache::sync::Cache;
use uuid::Uuid;

/// Change slots; two organizations sharing one only invalidate each other now and then.
pub const SLOTS: usize = 4096;
/// How long an entry may be served at most, whatever the signals say.
pub const ENTRY_LIFETIME: Duration = Duration::from_secs(60);
/// How recently the listener must have confirmed its connection for entries to be served:
/// the bound within which a change made on another instance is honoured here, even if its
/// signal was lost with the connection.
pub const LISTENER_GRACE: Duration = Duration::from_secs(1);

/// How many entries of each kind an instance keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryCacheSettings {
    pub capacity: usize,
}

impl Default for EntryCacheSettings {
    fn default() -> Self {
        Self { capacity: 10_000 }
    }
}

#[derive(Clone)]
struct Kept<T> {
    value: T,
    epoch: u64,
    slot: usize,
    at: Instant,
}

/// The in-memory entry cache of one instance.
pub struct MemoryEntryCache {
    changes: AtomicU64,
    slots: Box<[AtomicU64]>,
    floor: AtomicU64,
    listening: AtomicBool,
    started: Instant,
    /// Milliseconds since `started` when the listener last confirmed its connection.
    confirmed_at: AtomicU64,
    users: Cache<String, Kept<User>>,
    orgs: Cache<OrgId, Kept<(Organization, OrgPolicies)>>,
    memberships: Cache<(OrgId, UserId), Kept<Membership>>,
    roles: Cache<(OrgId, RoleKey), Kept<PermissionSet>>,
    api_keys: Cache<Vec<u8>, Kept<ApiKey>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How many lookups the cache answered, and how many it left to the database, since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lookups {
    pub hits: u64,
    pub misses: u64,
}

/// What one change signal names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// These organizations or people.
    Ids(Vec<Uuid>),
    /// Too many to list: everything.
    Everything,
}

impl Changed {
    /// Reads a signal's payload: space-separated ids, or `*`. Anything unreadable is taken
    /// as everything: forgetting too much is only slower.
    pub fn parse(payload: &str) -> Self {
        let mut ids = Vec::new();
        for word in payload.split_ascii_whitespace() {
            match Uuid::parse_str(word) {
                Ok(id) => ids.push(id),
                Err(_) => return Changed::Everything,
            }
        }
        Changed::Ids(ids)
    }
}

fn slot_of(id: Uuid) -> usize {
    // UUIDv7 and v4 end in random bits.
    (id.as_u128() as usize) % SLOTS
}

impl MemoryEntryCache {
    pub fn new(settings: EntryCacheSettings) -> Self {
        let capacity = settings.capacity.max(1);
        Self {
            changes: AtomicU64::new(1),
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            floor: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            started: Instant::now(),
            confirmed_at: AtomicU64::new(0),
            users: Cache::new(capacity),
            orgs: Cache::new(capacity),
            memberships: Cache::new(capacity),
            roles: Cache::new(capacity),
            api_keys: Cache::new(capacity),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Forgets what `changed` names.
    pub fn invalidate(&self, changed: &Changed) {
        match changed {
            Changed::Everything => self.forget_everything(),
            Changed::Ids(ids) => {
                for id in ids {
                    let at = self.changes.fetch_add(1, Ordering::AcqRel) + 1;
                    self.slots[slot_of(*id)].fetch_max(at, Ordering::AcqRel);
                }
            }
        }
    }

    pub fn forget_everything(&self) {
        let at = self.changes.fetch_add(1, Ordering::AcqRel) + 1;
        self.floor.fetch_max(at, Ordering::AcqRel);
    }

    /// The listener is connected and listening (`true`), or lost its connection (`false`,
    /// which also forgets everything: signals may have been missed).
    pub fn set_listening(&self, listening: bool) {
        if listening {
            self.forget_everything();
            self.confirm_listening();
        }
        self.listening.store(listening, Ordering::Release);
        if !listening {
            self.forget_everything();
        }
    }

    /// The listener's connection answered: every signal committed before now has arrived.
    pub fn confirm_listening(&self) {
        self.confirmed_at.store(self.millis(), Ordering::Release);
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn serving(&self) -> bool {
        self.listening.load(Ordering::Acquire)
            && self.millis().saturating_sub(self.confirmed_at.load(Ordering::Acquire))
                < LISTENER_GRACE.as_millis() as u64
    }

    fn fresh(&self, epoch: u64, slot: usize) -> bool {
        epoch >= self.floor.load(Ordering::Acquire) && self.slots[slot].load(Ordering::Acquire) <= epoch
    }

    /// Every lookup ends here, answered or not, so this is where they are counted.
    fn served<T: Clone>(&self, kept: Option<Kept<T>>) -> Option<T> {
        let served = kept
            .filter(|kept| self.serving() && self.fresh(kept.epoch, kept.slot) && kept.at.elapsed() < ENTRY_LIFETIME);
        let counter = if served.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        served.map(|kept| kept.value)
    }

    pub fn lookups(&self) -> Lookups {
        Lookups { hits: self.hits.load(Ordering::Relaxed), misses: self.misses.load(Ordering::Relaxed) }
    }

    /// Keeps `entry`, read at `epoch`, unless what it was read from changed since.
    pub fn keep(&self, epoch: Epoch, entry: CacheEntry) {
        let kept = |slot_id: Uuid| (epoch.0, slot_of(slot_id));
        let (epoch, slot) = match &entry {
            CacheEntry::User(user) => kept(user.id.as_uuid()),
            CacheEntry::Org(found) => kept(found.0.id.as_uuid()),
            CacheEntry::Membership(membership) => kept(membership.org_id.as_uuid()),
            CacheEntry::RolePermissions { org, .. } => kept(org.as_uuid()),
            CacheEntry::ApiKey { key, .. } => kept(key.org_id.as_uuid()),
        };
        if !self.serving() || !self.fresh(epoch, slot) {
            return;
        }
        let at = Instant::now();
        let wrap = |value| Kept { value, epoch, slot, at };
        match entry {
            CacheEntry::User(user) => {
                if let Some(subject) = user.subject.clone() {
                    self.users.insert(subject, wrap(user));
                }
            }
            CacheEntry::Org(found) => {
                let org = found.0.id;
                self.orgs.insert(org, Kept { value: *found, epoch, slot, at });
            }
            CacheEntry::Membership(m) => {
                self.memberships.insert((m.org_id, m.user_id), Kept { value: m, epoch, slot, at })
            }
            CacheEntry::RolePermissions { org, role, permissions } => {
                self.roles.insert((org, role), Kept { value: permissions, epoch, slot, at })
            }
            CacheEntry::ApiKey { hash, key } => self.api_keys.insert(hash, Kept { value: key, epoch, slot, at }),
        }
    }
}

impl EntryCache for MemoryEntryCache {
    fn epoch(&self) -> Epoch {
        Epoch(self.changes.load(Ordering::Acquire))
    }

    fn user(&self, subject: &str) -> Option<User> {
        self.served(self.users.get(subject))
    }

    fn org(&self, org: OrgId) -> Option<(Organization, OrgPolicies)> {
        self.served(self.orgs.get(&org))
    }

    fn membership(&self, org: OrgId, user: UserId) -> Option<Membership> {
        self.served(self.memberships.get(&(org, user)))
    }

    fn role_permissions(&self, org: OrgId, role: &RoleKey) -> Option<PermissionSet> {
        self.served(self.roles.get(&(org, role.clone())))
    }

    fn api_key(&self, hash: &[u8]) -> Option<ApiKey> {
        self.served(self.api_keys.get(hash))
    }
}

#[cfg(test)]
mod tests;
