//! Organizations: the tenant boundary.

mod error;
mod model;
mod repo;
mod service;
mod values;

pub use error::OrgError;
pub use model::{CreateOrg, MyOrg, OrgRef, OrgView, Organization, Patch, UpdateOrg};
pub use repo::{OrgRepository, OrgWriteError};
pub use service::OrgService;
pub(crate) use service::{apply_update, parse_update, soft_delete};
pub use values::{DomainName, LogoUrl, OrgName, PostalAddress, PostalAddressInput, Slug, TimeZone};

#[cfg(test)]
mod tests;
