use chrono::{DateTime, Utc};

use super::model::Organization;
use super::values::Slug;
use crate::error::StoreError;
use crate::ids::OrgId;

/// Why an organization could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgWriteError {
    #[error("another live organization has this name")]
    NameTaken,
    #[error("another live organization has this slug")]
    SlugTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The port organizations are stored through. Reads see live (not deleted) organizations
/// only.
pub trait OrgRepository {
    fn insert_org(&mut self, org: &Organization) -> Result<(), OrgWriteError>;

    fn find_org(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError>;

    /// Reads the organization and locks it until the transaction ends, serialising the
    /// changes that must see each other (version checks, the last-owner rule).
    fn lock_org(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError>;

    /// Writes every profile field and the version.
    fn update_org(&mut self, org: &Organization) -> Result<(), OrgWriteError>;

    fn soft_delete_org(&mut self, id: OrgId, at: DateTime<Utc>) -> Result<(), StoreError>;

    fn org_slug_taken(&mut self, slug: &Slug) -> Result<bool, StoreError>;
}
