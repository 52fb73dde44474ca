//! A domain an organization claimed, and what its verification allows.

use chrono::{DateTime, Duration, Utc};

use super::name::DomainName;
use crate::authz::RoleKey;
use crate::error::StoreError;
use crate::ids::{DomainId, OrgId, UserId};

/// How long an unverified claim stands before it lapses.
pub const CLAIM_TTL: Duration = Duration::days(7);
/// How often a verified domain's record is looked up again.
pub const RECHECK_EVERY: Duration = Duration::hours(24);
/// How long a vanished record must stay gone before the domain is unverified, so that one
/// bad answer (a zone being redeployed, a spoofed reply) never lifts SSO enforcement.
pub const CONFIRM_ABSENCE_AFTER: Duration = Duration::hours(1);
/// The most domains one organization may hold (claimed or verified).
pub const MAX_DOMAINS_PER_ORG: usize = 50;
/// What the TXT record's value starts with, so that it is recognisable among others.
pub const CHALLENGE_PREFIX: &str = "orgd-domain-verification=";

/// Where a domain claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainStatus {
    /// Claimed; waiting for its TXT record.
    Unverified,
    /// Proven by its TXT record.
    Verified,
    /// Never verified within [`CLAIM_TTL`]: claim it again for a new challenge.
    Expired,
}

impl DomainStatus {
    /// The name the HTTP API gives the status, e.g. `verified`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DomainStatus::Unverified => "unverified",
            DomainStatus::Verified => "verified",
            DomainStatus::Expired => "expired",
        }
    }
}

/// Who of the domain's people may join, and how.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum JoinPolicy {
    /// Nobody joins by the domain.
    #[default]
    Off,
    /// They see the organization and may ask to join; an admin decides.
    Suggest,
    /// Their request admits them at once with `role`, for as long as `set_by` could still
    /// grant that role themselves; otherwise it waits for an admin as under `Suggest`.
    Auto {
        /// The role they are admitted with.
        role: RoleKey,
        /// The person who chose it, whose rights it is bounded by.
        set_by: UserId,
    },
}

impl JoinPolicy {
    /// The name the HTTP API gives the policy: `off`, `suggest` or `auto`.
    pub const fn name(&self) -> &'static str {
        match self {
            JoinPolicy::Off => "off",
            JoinPolicy::Suggest => "suggest",
            JoinPolicy::Auto { .. } => "auto",
        }
    }

    /// True unless the policy is `off`.
    pub const fn is_open(&self) -> bool {
        !matches!(self, JoinPolicy::Off)
    }

    /// The role an `auto` policy admits with.
    pub fn role(&self) -> Option<&RoleKey> {
        match self {
            JoinPolicy::Auto { role, .. } => Some(role),
            _ => None,
        }
    }
}

/// A domain claimed by an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgDomain {
    /// The claim's public id.
    pub id: DomainId,
    /// The organization that claimed it.
    pub org_id: OrgId,
    /// The domain name.
    pub name: DomainName,
    /// The random part of the TXT record value; public once published, so not a secret.
    pub challenge: String,
    /// When it was verified; `None` while unverified.
    pub verified_at: Option<DateTime<Utc>>,
    /// When an unverified claim lapses.
    pub expires_at: Option<DateTime<Utc>>,
    /// When its TXT record was last looked up.
    pub last_checked_at: Option<DateTime<Utc>>,
    /// When the daily check first found the record gone, while the domain is still
    /// verified; see [`CONFIRM_ABSENCE_AFTER`].
    pub missing_since: Option<DateTime<Utc>>,
    /// Who of the domain's people may join, and how; only for a verified domain.
    pub join: JoinPolicy,
    /// Bumped by every change of the join policy or the verification; the domain's `ETag`.
    pub version: i64,
    /// When it was claimed.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl OrgDomain {
    /// The version a store holds after saving `next` over `self`: only what a client sees
    /// changing moves it (the re-check's bookkeeping does not).
    pub fn version_after(&self, next: &OrgDomain) -> i64 {
        let seen = |d: &OrgDomain| (d.join.clone(), d.verified_at, d.challenge.clone());
        if seen(self) == seen(next) {
            self.version
        } else {
            self.version + 1
        }
    }
}

impl OrgDomain {
    /// Where the claim stands at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> DomainStatus {
        match (self.verified_at, self.expires_at) {
            (Some(_), _) => DomainStatus::Verified,
            (None, Some(at)) if at <= now => DomainStatus::Expired,
            (None, _) => DomainStatus::Unverified,
        }
    }

    /// True when its TXT record proved the claim and has not been found gone since.
    pub fn is_verified(&self) -> bool {
        self.verified_at.is_some()
    }

    /// Where the TXT record goes.
    pub fn record_name(&self) -> String {
        self.name.challenge_name()
    }

    /// What the TXT record holds.
    pub fn record_value(&self) -> String {
        format!("{CHALLENGE_PREFIX}{}", self.challenge)
    }

    /// Whether one of these TXT records proves the claim. Compared exactly (after
    /// trimming): the value is case-sensitive, as it was shown.
    pub fn proven_by(&self, records: &[String]) -> bool {
        let expected = self.record_value();
        records.iter().any(|record| record.trim() == expected)
    }
}

/// Names a domain in a path: by id, or by the domain name itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRef {
    /// By the claim's public id.
    Id(DomainId),
    /// By the domain name.
    Name(DomainName),
}

impl DomainRef {
    /// `None` when the value is neither a domain id nor a domain name: nothing is found
    /// by it.
    pub fn parse(value: &str) -> Option<Self> {
        if let Ok(id) = value.parse::<DomainId>() {
            return Some(DomainRef::Id(id));
        }
        DomainName::parse(value).ok().map(DomainRef::Name)
    }
}

/// Why a claim could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainWriteError {
    /// The organization already claimed this domain.
    #[error("the organization already claimed this domain")]
    AlreadyClaimed,
    /// Another organization verified this domain first.
    #[error("another organization verified this domain")]
    VerifiedElsewhere,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The port claimed domains are stored through. Every read of one organization's domains
/// is scoped by it.
pub trait DomainRepository {
    /// Stores a new claim.
    fn insert_domain(&mut self, domain: &OrgDomain) -> Result<(), DomainWriteError>;

    /// Saves verification, expiry, check time and join policy.
    fn update_domain(&mut self, domain: &OrgDomain) -> Result<(), DomainWriteError>;

    /// With `lock`, the row stays locked until the transaction ends.
    fn find_domain(&mut self, org: OrgId, domain: &DomainRef, lock: bool) -> Result<Option<OrgDomain>, StoreError>;

    /// Every domain of the organization, by name (at most [`MAX_DOMAINS_PER_ORG`]).
    fn list_domains(&mut self, org: OrgId) -> Result<Vec<OrgDomain>, StoreError>;

    /// Deletes the claim `id` of organization `org`.
    fn delete_domain(&mut self, org: OrgId, id: DomainId) -> Result<(), StoreError>;

    /// Deletes every domain of the organization, answering their names.
    fn delete_domains_of_org(&mut self, org: OrgId) -> Result<Vec<DomainName>, StoreError>;

    /// The organization holding `name` verified, if any.
    fn verified_domain(&mut self, name: &DomainName) -> Result<Option<OrgDomain>, StoreError>;

    /// Verified domains last checked before `before` (or never), least recently checked
    /// first. Nothing is locked: the lookups happen outside any transaction, and each
    /// result is applied only if nobody checked the domain meanwhile.
    fn domains_due_for_recheck(&mut self, before: DateTime<Utc>, limit: i64) -> Result<Vec<OrgDomain>, StoreError>;
}
