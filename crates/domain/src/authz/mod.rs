//! The permission model and the one authorization decision point.
//!
//! A caller's rights in an organization are a [`Grant`]: its role and the
//! [`PermissionSet`] that role carries. [`Grant::authorize`] is the only place a permission
//! is checked; every use case asks it, and a Rust service importing this crate can run the
//! same check in-process:
//!
//! ```
//! use orgd_domain::authz::{Grant, Permission, RoleKey, SystemRole};
//!
//! let member = Grant::for_system_role(SystemRole::Member);
//! assert!(member.authorize(Permission::MembersRead).is_ok());
//! assert!(member.authorize(Permission::OrgUpdate).is_err());
//!
//! let owner = Grant::for_system_role(SystemRole::Owner);
//! assert!(owner.authorize(Permission::OrgDelete).is_ok());
//! assert_eq!(owner.role, RoleKey::owner());
//! ```

mod grant;
mod permission;
mod permission_map;
mod role;

pub use grant::{Access, Grant, Resource, RoleGrant};
pub use permission::{parse_permissions, Permission, PermissionSet, UnknownPermission};
pub use permission_map::PermissionMap;
pub use role::{RoleKey, SystemRole};
