//! The port policies are stored through.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::document::{MfaPolicy, OrgPolicies, SecurityPolicy, SignInPolicy, Versioned};
use super::method::SignInMethod;
use crate::authz::RoleKey;
use crate::error::StoreError;
use crate::ids::{ApiKeyId, MemberId, OrgId, UserId};
use crate::org::Organization;

/// What is known of how a member last came in, for previewing who a policy locks out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccessFacts {
    /// The membership.
    pub member_id: MemberId,
    /// The person.
    pub user_id: UserId,
    /// Their display name.
    pub name: Option<String>,
    /// Their email, verified or not.
    pub email: Option<String>,
    /// True when their identity provider vouched for the email.
    pub email_verified: bool,
    /// Their role.
    pub role: RoleKey,
    /// True once any of their tokens showed a second factor.
    pub mfa_enrolled: bool,
    /// How they last signed in, when known.
    pub sign_in_method: Option<SignInMethod>,
    /// The address they last came from, when known.
    pub last_ip: Option<IpAddr>,
}

/// What is known of where a live API key was last used from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAccessFacts {
    /// The key.
    pub key_id: ApiKeyId,
    /// Its name.
    pub name: String,
    /// The address it was last used from, when known.
    pub last_used_ip: Option<IpAddr>,
}

/// The port the organization's security policies are read and written through.
pub trait PolicyRepository {
    /// The live organization and every policy of it, in one round trip; with `lock`, the
    /// organization row is locked until the transaction ends.
    fn find_org_for_entry(&mut self, id: OrgId, lock: bool) -> Result<Option<(Organization, OrgPolicies)>, StoreError>;

    /// The policies of each of these organizations that wrote any, in one round trip; an
    /// organization left out has every policy off.
    fn policies_of(&mut self, orgs: &[OrgId]) -> Result<Vec<(OrgId, OrgPolicies)>, StoreError>;

    /// Stores the 2FA policy at its new version.
    fn save_mfa_policy(&mut self, org: OrgId, policy: &Versioned<MfaPolicy>) -> Result<(), StoreError>;

    /// Stores the sign-in policy at its new version.
    fn save_sign_in_policy(&mut self, org: OrgId, policy: &Versioned<SignInPolicy>) -> Result<(), StoreError>;

    /// Stores the IP allowlist and session policy at its new version.
    fn save_security_policy(&mut self, org: OrgId, policy: &Versioned<SecurityPolicy>) -> Result<(), StoreError>;

    /// Members in join order after `after`, optionally only those holding `role`.
    fn member_access_facts(
        &mut self,
        org: OrgId,
        role: Option<&RoleKey>,
        after: Option<MemberId>,
        limit: i64,
    ) -> Result<Vec<MemberAccessFacts>, StoreError>;

    /// Every usable (unrevoked, unexpired at `now`) API key of the organization.
    fn key_access_facts(&mut self, org: OrgId, now: DateTime<Utc>) -> Result<Vec<KeyAccessFacts>, StoreError>;
}
