use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::values::{DomainName, LogoUrl, OrgName, PostalAddress, PostalAddressInput, Slug, TimeZone};
use crate::authz::Grant;
use crate::error::AccessError;
use crate::ids::OrgId;
use crate::member::Membership;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub name: OrgName,
    pub slug: Slug,
    pub domain: Option<DomainName>,
    pub logo_url: Option<LogoUrl>,
    pub timezone: Option<TimeZone>,
    pub address: Option<PostalAddress>,
    /// Bumped by every change; the resource's ETag.
    pub version: i64,
    /// The features the organization may configure: its plan and per-organization
    /// overrides, set by platform staff. Feature gates ask `entitlements.require(…)`.
    pub entitlements: crate::policy::Entitlements,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How a request names an organization: its public id, or `me` for the caller's default
/// organization (the earliest-joined membership).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgRef {
    Me,
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
    pub org: Organization,
    pub grant: Grant,
}

/// One of the caller's own organizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyOrg {
    pub org: Organization,
    /// The caller's membership; `None` for an organization platform staff reach without
    /// one (`grant.access` is then `staff`).
    pub membership: Option<Membership>,
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
    pub name: String,
    pub slug: Option<String>,
    pub domain: Option<String>,
    pub logo_url: Option<String>,
    pub timezone: Option<String>,
    pub address: Option<PostalAddressInput>,
}

/// One field of a partial update: left alone, cleared (explicit `null`), or set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
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
    pub name: Patch<String>,
    pub slug: Patch<String>,
    pub domain: Patch<String>,
    pub logo_url: Patch<String>,
    pub timezone: Patch<String>,
    pub address: Patch<PostalAddressInput>,
}
