use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::values::{DomainName, LogoUrl, OrgName, PostalAddress, PostalAddressInput, Slug, TimeZone};
use crate::authz::Grant;
use crate::error::AccessError;
use crate::ids::OrgId;
use crate::member::Membership;

/// An organization: the tenant every member, role, team and policy belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// The organization's public id.
    pub id: OrgId,
    /// Its display name, unique among live organizations.
    pub name: OrgName,
    /// Its URL-safe short name, unique among live organizations.
    pub slug: Slug,
    /// The company's web domain, shown on its profile (proof of ownership is separate: see
    /// [`verified_domain`](crate::verified_domain)).
    pub domain: Option<DomainName>,
    /// An `https` URL of its logo.
    pub logo_url: Option<LogoUrl>,
    /// The IANA time zone it works in.
    pub timezone: Option<TimeZone>,
    /// Its postal address.
    pub address: Option<PostalAddress>,
    /// Bumped by every change; the resource's ETag.
    pub version: i64,
    /// The features the organization may configure: its plan and per-organization
    /// overrides, set by platform staff. Feature gates ask `entitlements.require(…)`.
    pub entitlements: crate::policy::Entitlements,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// How a request names an organization: its public id, or `me` for the caller's default
/// organization (the earliest-joined membership).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgRef {
    /// The caller's default organization: their earliest-joined membership.
    Me,
    /// The organization with this id.
    Id(OrgId),
}

impl FromStr for OrgRef {
    type Err = AccessError;

    /// A string that cannot name an organization names none the caller can see: 404.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value == "me" {
            return Ok(OrgRef::Me);
        }
        value.parse().map(OrgRef::Id).map_err(|_| AccessError::NotFound("organization"))
    }
}

/// An organization with the caller's rights in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgView {
    /// The organization.
    pub org: Organization,
    /// The caller's rights in it.
    pub grant: Grant,
}

/// One of the caller's own organizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyOrg {
    /// The organization.
    pub org: Organization,
    /// The caller's membership; `None` for an organization platform staff reach without
    /// one (`grant.access` is then `staff`).
    pub membership: Option<Membership>,
    /// The caller's rights in it.
    pub grant: Grant,
    /// The organization `me` resolves to.
    pub is_default: bool,
    /// The policy that keeps the caller's current sign-in out of the organization, if any:
    /// listed all the same, so the person learns why and what to do.
    pub blocked_by: Option<crate::policy::PolicyRefusal>,
}

/// Input of "create an organization", before validation.
#[derive(Debug, Clone, Default)]
pub struct CreateOrg {
    /// The display name.
    pub name: String,
    /// The slug; derived from the name (made unique) when `None`.
    pub slug: Option<String>,
    /// The company's web domain.
    pub domain: Option<String>,
    /// An `https` URL of the logo.
    pub logo_url: Option<String>,
    /// An IANA time zone, e.g. `Europe/Paris`.
    pub timezone: Option<String>,
    /// The postal address.
    pub address: Option<PostalAddressInput>,
}

/// One field of a partial update: left alone, cleared (explicit `null`), or set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// The field is not in the update: keep its value.
    #[default]
    Keep,
    /// The field is `null`: empty it.
    Clear,
    /// The field's new value.
    Set(T),
}

impl<T> From<Option<Option<T>>> for Patch<T> {
    fn from(value: Option<Option<T>>) -> Self {
        match value {
            None => Patch::Keep,
            Some(None) => Patch::Clear,
            Some(Some(v)) => Patch::Set(v),
        }
    }
}

/// Input of "update an organization": absent fields are kept, `Clear` empties an optional
/// field. Name and slug are required fields, so they can be set but not cleared.
#[derive(Debug, Clone, Default)]
pub struct UpdateOrg {
    /// The new display name; cannot be cleared.
    pub name: Patch<String>,
    /// The new slug; cannot be cleared.
    pub slug: Patch<String>,
    /// The company's web domain.
    pub domain: Patch<String>,
    /// The logo URL.
    pub logo_url: Patch<String>,
    /// The IANA time zone.
    pub timezone: Patch<String>,
    /// The postal address.
    pub address: Patch<PostalAddressInput>,
}
