use chrono::{DateTime, Utc};

use super::model::Organization;
use super::values::Slug;
use crate::error::StoreError;
use crate::ids::OrgId;

/// Why an organization could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgWriteError {
    /// Names are unique among live organizations.
    #[error("another live organization has this name")]
    NameTaken,
    /// Slugs are unique among live organizations.
    #[error("another live organization has this slug")]
    SlugTaken,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The port organizations are stored through. Reads see live (not deleted) organizations
/// only.
pub trait OrgRepository {
    /// Stores a new organization.
    fn insert_org(&mut self, org: &Organization) -> Result<(), OrgWriteError>;

    /// The live organization `id`.
    fn find_org(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError>;

    /// Reads the organization and locks it until the transaction ends, serialising the
    /// changes that must see each other (version checks, the last-owner rule).
    fn lock_org(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError>;

    /// Writes every profile field and the version.
    fn update_org(&mut self, org: &Organization) -> Result<(), OrgWriteError>;

    /// Marks the organization deleted at `at`; reads no longer see it.
    fn soft_delete_org(&mut self, id: OrgId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Whether a live organization has `slug`.
    fn org_slug_taken(&mut self, slug: &Slug) -> Result<bool, StoreError>;
}
