//! Platform staff inside a customer's organization.

use crate::authz::{Access, Grant, Permission, PermissionSet, SystemRole};

/// What platform staff without a membership may do in a customer organization: read, by
/// an explicit list, never change. A permission added to the catalogue later is not
/// granted to staff until it is named here.
const STAFF_READS: &[Permission] = &[
    Permission::OrgRead,
    Permission::MembersRead,
    Permission::RolesRead,
    Permission::InvitesRead,
    Permission::TeamsRead,
    Permission::SecurityRead,
    Permission::SsoRead,
    Permission::ScimRead,
    Permission::AuditRead,
    Permission::BillingRead,
    Permission::LlmRead,
];

pub(super) fn grant() -> Grant {
    Grant { role: SystemRole::Member.key(), permissions: PermissionSet::of(STAFF_READS), access: Access::Staff }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_may_read_but_never_write() {
        let grant = grant();
        assert_eq!(grant.access, Access::Staff);
        assert!(grant.authorize(Permission::MembersRead).is_ok());
        assert!(grant.authorize(Permission::AuditRead).is_ok());
        for permission in Permission::ALL.iter().filter(|p| !p.as_str().ends_with(":read")) {
            assert!(grant.authorize(*permission).is_err(), "{permission}");
        }
        assert!(!grant.is_owner());
    }
}
