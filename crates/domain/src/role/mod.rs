//! Custom roles: an organization's own named sets of permissions.
//!
//! A custom role whose key equals a system role's (`admin`, `member`) shadows it in that
//! organization. `owner` is reserved: the owner role always holds every permission, which is
//! what keeps an organization governable.

mod error;
mod model;
mod repo;
mod service;

pub use error::RoleError;
pub use model::{CreateRole, CustomRole, RoleName, RoleView, UpdateRole, MAX_CUSTOM_ROLES};
pub use repo::{RoleRepository, RoleWriteError};
pub use service::RoleService;
