//! Users, provisioned just in time from the identity provider's claims.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

mod link;

pub use link::link_provisioned;

use crate::context::{Identity, RequestMeta};
use crate::error::{StoreError, ValueError};
use crate::ids::{MemberId, OrgId, UserId};
use crate::member::Membership;
use crate::store::Tx;

/// A normalised, syntactically valid email address (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// The longest address, in characters.
    pub const MAX_LEN: usize = 254;

    /// A bare address only: the `Name <address>` form is refused, so what is stored is
    /// exactly where mail goes.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let value = value.trim();
        let options = email_address::Options::default().without_display_text();
        let valid = value.len() <= Self::MAX_LEN
            && !value.chars().any(|c| c.is_control() || c.is_whitespace())
            && email_address::EmailAddress::parse_with_options(value, options).is_ok();
        if !valid {
            return Err(ValueError::new("invalid_email", "not a valid email address"));
        }
        Ok(Self(value.to_lowercase()))
    }

    /// The lower-cased address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person known to the service, provisioned from their identity provider's claims (or
/// over SCIM before their first sign-in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's public id.
    pub id: UserId,
    /// The identity provider's subject; `None` for a person an organization's identity
    /// provider provisioned over SCIM who has not signed in yet (see [`link_provisioned`]).
    pub subject: Option<String>,
    /// Their email address, as their identity provider last said.
    pub email: Option<Email>,
    /// True when the identity provider vouched for the email.
    pub email_verified: bool,
    /// Their display name.
    pub name: Option<String>,
    /// Sticky: set once a token proved a second factor. Identity providers report the
    /// methods of one sign-in, not enrolment, so its absence later proves nothing.
    pub mfa_enrolled: bool,
    /// The [`crate::policy::SignInMethod`] of the latest sign-in that named one.
    pub last_sign_in_method: Option<String>,
    /// Second-factor methods (RFC 8176 names such as `otp`, `hwk`) seen in this person's
    /// tokens, sorted; sticky like `mfa_enrolled`.
    pub mfa_methods: Vec<String>,
    /// When and from where the person was last seen, to [`SEEN_RESOLUTION`].
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The address of their last request, to [`SEEN_RESOLUTION`].
    pub last_ip: Option<IpAddr>,
    /// When they were first seen.
    pub created_at: DateTime<Utc>,
    /// When their profile last changed.
    pub updated_at: DateTime<Utc>,
}

/// How stale `last_seen_at` may grow before a request refreshes it, so that a busy person
/// does not turn every request into a write.
pub const SEEN_RESOLUTION: Duration = Duration::minutes(5);

impl User {
    const NAME_MAX_CHARS: usize = 200;

    /// The user as these claims describe it, starting from what was stored (if anything).
    fn from_claims(stored: Option<&User>, identity: &Identity, client_ip: Option<IpAddr>, now: DateTime<Utc>) -> User {
        let mut mfa_methods: Vec<String> = stored.map(|u| u.mfa_methods.clone()).unwrap_or_default();
        mfa_methods.extend(identity.second_factors().map(str::to_owned));
        mfa_methods.sort();
        mfa_methods.dedup();
        let name = identity
            .name
            .as_deref()
            .map(|n| n.chars().filter(|c| !c.is_control()).take(Self::NAME_MAX_CHARS).collect::<String>())
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        let email = identity.email.as_deref().and_then(|e| Email::parse(e).ok());
        User {
            id: stored.map_or_else(UserId::generate, |u| u.id),
            subject: Some(identity.subject.clone()),
            email_verified: email.is_some() && identity.email_verified,
            email,
            name,
            mfa_enrolled: stored.is_some_and(|u| u.mfa_enrolled) || identity.used_mfa(),
            last_sign_in_method: identity
                .sign_in_method
                .map(|m| m.as_str().to_owned())
                .or_else(|| stored.and_then(|u| u.last_sign_in_method.clone())),
            mfa_methods,
            last_seen_at: Some(now),
            last_ip: client_ip.or_else(|| stored.and_then(|u| u.last_ip)),
            created_at: stored.map_or(now, |u| u.created_at),
            updated_at: now,
        }
    }

    /// Whether the claims presented now say nothing worth a write over this stored user:
    /// [`sync_user`] would return it as it is.
    pub(crate) fn unchanged_by(&self, identity: &Identity, meta: &RequestMeta, now: DateTime<Utc>) -> bool {
        self.is_current(&User::from_claims(Some(self), identity, meta.client_ip, now))
    }

    /// Whether `current` says nothing worth a write over this stored user.
    fn is_current(&self, current: &User) -> bool {
        self.same_profile(current)
            && self.last_ip == current.last_ip
            && self.last_seen_at.zip(current.last_seen_at).is_some_and(|(stored, now)| now - stored < SEEN_RESOLUTION)
    }

    fn same_profile(&self, other: &User) -> bool {
        self.email == other.email
            && self.email_verified == other.email_verified
            && self.name == other.name
            && self.mfa_enrolled == other.mfa_enrolled
            && self.last_sign_in_method == other.last_sign_in_method
            && self.mfa_methods == other.mfa_methods
    }
}

/// A provisioned membership handed to the person who signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedMembership {
    /// The provisioned membership, now theirs.
    pub membership: Membership,
    /// The person's own membership of the same organization, merged into it and removed.
    pub replaced: Option<MemberId>,
}

/// The port users are stored through.
pub trait UserRepository {
    /// The user with this identity-provider subject.
    fn find_user_by_subject(&mut self, subject: &str) -> Result<Option<User>, StoreError>;

    /// The user with this id.
    fn find_user(&mut self, id: UserId) -> Result<Option<User>, StoreError>;

    /// Inserts the user, or updates the profile of the user with the same subject (two
    /// first requests of a new user may race), returning the stored row.
    fn upsert_user(&mut self, user: &User) -> Result<User, StoreError>;

    /// Inserts or updates a person provisioned over SCIM who has not signed in (no
    /// subject): their email and name as the identity provider sent them, unverified.
    fn save_provisioned_user(&mut self, user: &User) -> Result<(), StoreError>;

    /// Provisioned people not yet linked to a sign-in whose email is `email`.
    fn find_unlinked_users(&mut self, email: &Email) -> Result<Vec<UserId>, StoreError>;

    /// The memberships of a provisioned, unlinked user.
    fn provisioned_memberships(&mut self, user: UserId) -> Result<Vec<Membership>, StoreError>;

    /// Hands the provisioned membership `member` to the user `into`. Where `into` is
    /// already a member of the same organization the two become one: the provisioned
    /// membership's id stays (it is the identity provider's SCIM id) with the role, the
    /// suspension and the team seats of `into`'s own, which is removed.
    fn merge_provisioned_membership(
        &mut self,
        org: OrgId,
        member: MemberId,
        into: UserId,
        at: DateTime<Utc>,
    ) -> Result<LinkedMembership, StoreError>;
}

/// Provisions the caller's user on first sight of its subject and keeps its profile, and
/// where it was last seen from, current. Writes only when a claim or the address changed,
/// or `last_seen_at` is older than [`SEEN_RESOLUTION`], so the common request is one read.
/// Whenever it writes, the people provisioned over SCIM with the caller's verified email
/// are linked to them ([`link_provisioned`]).
pub fn sync_user(
    tx: &mut dyn Tx,
    identity: &Identity,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<User, StoreError> {
    let stored = tx.find_user_by_subject(&identity.subject)?;
    let current = User::from_claims(stored.as_ref(), identity, meta.client_ip, now);
    match stored {
        Some(stored) if stored.is_current(&current) => Ok(stored),
        _ => {
            let user = tx.upsert_user(&current)?;
            link_provisioned(tx, &user, meta, now)?;
            Ok(user)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{identity, InMemoryStore};
    use crate::Store;

    fn meta(client_ip: Option<IpAddr>) -> RequestMeta {
        RequestMeta { client_ip, ..RequestMeta::default() }
    }

    #[test]
    fn emails_are_validated_and_normalised() {
        assert_eq!(Email::parse(" Ada@Example.COM ").map(|e| e.as_str().to_owned()), Ok("ada@example.com".into()));
        assert!(Email::parse("not-an-email").is_err());
        assert!(Email::parse("Alice <mallory@evil.com>").is_err(), "no display-name form");
        assert!(Email::parse("\u{0} <a@b.com>").is_err());
        assert!(Email::parse("a\r\nb@example.com").is_err());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn first_sight_provisions_and_later_claims_update_the_profile() {
        let store = InMemoryStore::default();
        let now = Utc::now();
        let first = store
            .transaction(|tx| sync_user(tx, &identity("sub-1", "ada@example.com"), &RequestMeta::default(), now))
            .unwrap();
        let mut renamed = identity("sub-1", "ada@example.com");
        renamed.name = Some("Ada L.".into());
        let second = store.transaction(|tx| sync_user(tx, &renamed, &RequestMeta::default(), now)).unwrap();
        assert_eq!(first.id, second.id);
        assert_eq!(second.name.as_deref(), Some("Ada L."));
        assert_eq!(store.user_count(), 1);
    }

    #[test]
    fn control_characters_in_claims_are_not_stored() {
        let store = InMemoryStore::default();
        let mut odd = identity("sub-4", "d@example.com");
        odd.name = Some("Ada\u{0}Lovelace".into());
        odd.auth_methods = vec!["p\u{0}wd".into(), "otp".into()];
        let user = store.transaction(|tx| sync_user(tx, &odd, &RequestMeta::default(), Utc::now())).unwrap();
        assert_eq!(user.name.as_deref(), Some("AdaLovelace"));
        assert_eq!(user.mfa_methods, vec!["otp".to_owned()]);
    }

    #[test]
    fn mfa_enrolment_is_sticky() {
        let store = InMemoryStore::default();
        let now = Utc::now();
        let mut with_mfa = identity("sub-2", "b@example.com");
        with_mfa.auth_methods = vec!["pwd".into(), "otp".into()];
        store.transaction(|tx| sync_user(tx, &with_mfa, &RequestMeta::default(), now)).unwrap();
        let later = store
            .transaction(|tx| sync_user(tx, &identity("sub-2", "b@example.com"), &RequestMeta::default(), now))
            .unwrap();
        assert!(later.mfa_enrolled);
        assert_eq!(later.mfa_methods, vec!["otp".to_owned()], "the generic `mfa` marker is no method");
    }

    #[test]
    fn where_a_person_was_seen_is_kept_without_a_write_per_request() {
        let store = InMemoryStore::default();
        let now = Utc::now();
        let ip = "2001:db8::1".parse().ok();
        let first = store.transaction(|tx| sync_user(tx, &identity("sub-5", "e@example.com"), &meta(ip), now)).unwrap();
        assert_eq!((first.last_ip, first.last_seen_at), (ip, Some(now)));
        let soon = now + Duration::minutes(1);
        let same = store.transaction(|tx| sync_user(tx, &identity("sub-5", "e@example.com"), &meta(ip), soon)).unwrap();
        assert_eq!(same.last_seen_at, Some(now), "within the resolution nothing is written");
        let moved = "192.0.2.1".parse().ok();
        let elsewhere =
            store.transaction(|tx| sync_user(tx, &identity("sub-5", "e@example.com"), &meta(moved), soon)).unwrap();
        assert_eq!((elsewhere.last_ip, elsewhere.last_seen_at), (moved, Some(soon)));
    }

    #[test]
    fn an_unverifiable_email_is_not_kept_as_verified() {
        let store = InMemoryStore::default();
        let mut bad = identity("sub-3", "nope");
        bad.email_verified = true;
        let user = store.transaction(|tx| sync_user(tx, &bad, &RequestMeta::default(), Utc::now())).unwrap();
        assert_eq!(user.email, None);
        assert!(!user.email_verified);
    }
}
