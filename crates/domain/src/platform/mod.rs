//! Platform staff: the operator's people, recognised by a trusted claim of their token,
//! who look after every organization. `staff_read` may read any organization (its routes
//! and `/v1/admin`); `staff_admin` may also change organizations through `/v1/admin`:
//! profile, soft delete and restore, plan and entitlements. Every look into an
//! organization and every change is recorded in that organization's audit log (actor
//! `staff`), and in the platform audit log staff read themselves.

mod model;
mod repo;
mod role;
mod service;

pub use model::{
    AdminOrg, OrgSearch, OrgSearchInput, PlatformAuditEvent, PlatformAuditPage, SetEntitlements, MAX_QUERY_CHARS,
};
pub use repo::PlatformRepository;
pub use role::StaffRole;
pub use service::{PlatformError, PlatformService};

#[cfg(test)]
mod tests;
