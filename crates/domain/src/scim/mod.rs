//! SCIM provisioning: whether an organization's identity provider may provision its
//! members, the bearer token it does so with (shown once, stored as a keyed hash), and the
//! SCIM 2.0 protocol itself (RFC 7643 / 7644): users ↔ members, groups ↔ teams.

mod directory;
mod fault;
pub mod filter;
mod listing;
mod model;
pub mod patch;
pub mod path;
mod provisioning;
mod render;
pub mod resource;
pub mod schema;
mod service;

pub use directory::{DirectoryGroup, DirectoryRepository, DirectoryUser, Lookup, ScimUserRecord, Start};
pub use fault::ScimFault;
pub use listing::{ListQuery, ListResponse, DEFAULT_COUNT, MAX_COUNT};
pub use model::{GroupRole, ScimConfig, ScimRepository, StoredScimToken, MAX_GROUP_ROLES};
pub use provisioning::find_org as find_provisioned_org;
pub use provisioning::{ScimContext, ScimProvisioning, ScimResource, MAX_USER_NAME_CHARS};
pub use service::{GroupRoleInput, ScimError, ScimService, ScimWrite};

#[cfg(test)]
mod tests;
