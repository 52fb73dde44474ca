use std::sync::Arc;

use super::error::RoleError;
use super::model::{parse_description, CreateRole, CustomRole, RoleName, RoleView, UpdateRole, MAX_CUSTOM_ROLES};
use super::repo::RoleWriteError;
use crate::access::{enter_org, read_in_org, role_permissions, Lock, OrgScope};
use crate::audit::{AuditAction, AuditRecord, Changes, Target};
use crate::authz::{parse_permissions, Permission, PermissionSet, RoleGrant, RoleKey, SystemRole};
use crate::context::Caller;
use crate::error::{AccessError, Invalid};
use crate::ids::RoleId;
use crate::org::OrgRef;
use crate::policy::Feature;
use crate::store::{Store, Tx};
use crate::time::Clock;

/// Use cases of custom roles.
#[derive(Clone)]
pub struct RoleService<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

fn permission_names(set: PermissionSet) -> Vec<&'static str> {
    set.iter().map(Permission::as_str).collect()
}

fn record(scope: &OrgScope, caller: &Caller, action: AuditAction, role: &CustomRole, changes: Changes) -> AuditRecord {
    AuditRecord::new(scope.org.id, &scope.actor, action, Target::new("role", role.id), &caller.meta, role.updated_at)
        .with_changes(changes)
}

impl<S: Store> RoleService<S> {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The organization's roles: system roles first (unless shadowed), then custom roles.
    pub fn list(&self, caller: &Caller, org: &OrgRef) -> Result<Vec<RoleView>, RoleError> {
        let now = self.clock.now();
        read_in_org(&self.store, caller, org, now, |tx, scope| {
            scope.grant.authorize(Permission::RolesRead)?;
            let custom = tx.list_roles(scope.org.id)?;
            let shadowed = |system: SystemRole| custom.iter().any(|c| c.key == system.key());
            let mut roles: Vec<RoleView> =
                SystemRole::ALL.iter().copied().filter(|s| !shadowed(*s)).map(RoleView::System).collect();
            roles.extend(custom.iter().cloned().map(|role| RoleView::Custom { shadows: role.key.system_role(), role }));
            Ok(roles)
        })
    }

    /// Creates a custom role; needs `roles:create` and every permission the role grants.
    pub fn create(&self, caller: &Caller, org: &OrgRef, input: CreateRole) -> Result<CustomRole, RoleError> {
        let mut invalid = Invalid::default();
        let name = invalid.check("name", RoleName::parse(&input.name));
        let key = match (&input.key, &name) {
            (Some(key), _) => invalid.check("key", RoleKey::parse(key)),
            (None, Some(name)) => invalid.check("key", name.derive_key()),
            (None, None) => None,
        };
        let description = invalid.check("description", parse_description(input.description.as_deref())).flatten();
        let permissions = parse_permissions(&mut invalid, "permissions", &input.permissions);
        invalid.into_result()?;
        let (Some(name), Some(key)) = (name, key) else {
            return Err(Invalid::field("name", "required", "a name is required").into());
        };
        if key.is_owner() {
            return Err(RoleError::ReservedKey);
        }
        let now = self.clock.now();

        self.store.transaction(|tx| {
            let scope = enter_org::<RoleError>(tx, caller, org, now, Lock::Org)?;
            scope.grant.authorize(Permission::RolesCreate)?;
            scope.org.entitlements.require(Feature::CustomRoles)?;
            scope.grant.may_grant(permissions)?;
            // Replacing a system role changes the rights of everyone holding it: only someone
            // holding all of that role's permissions may redefine it.
            if let Some(system) = key.system_role() {
                scope.grant.may_grant(system.permissions())?;
            }
            if tx.list_roles(scope.org.id)?.len() >= MAX_CUSTOM_ROLES {
                return Err(RoleError::TooManyRoles(MAX_CUSTOM_ROLES));
            }
            let role = CustomRole {
                id: RoleId::generate(),
                org_id: scope.org.id,
                key,
                name,
                description,
                permissions,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            tx.insert_role(&role).map_err(|e| match e {
                RoleWriteError::KeyTaken => RoleError::KeyTaken,
                RoleWriteError::Store(e) => RoleError::Store(e),
            })?;
            let mut changes = Changes::new();
            changes.set("key", role.key.as_str());
            changes.set("name", role.name.as_str());
            changes.set("permissions", permission_names(role.permissions));
            tx.append_audit(&record(&scope, caller, AuditAction::RoleCreated, &role, changes))?;
            Ok(role)
        })
    }

    fn find(tx: &mut dyn Tx, scope: &OrgScope, id: RoleId) -> Result<CustomRole, RoleError> {
        tx.find_role(scope.org.id, id)?.ok_or(RoleError::Access(AccessError::NotFound("role")))
    }

    /// Renames a role or changes its permissions. Nobody may edit a role that holds, or
    /// would hold, a permission they lack.
    pub fn update(
        &self,
        caller: &Caller,
        org: &OrgRef,
        id: RoleId,
        input: UpdateRole,
    ) -> Result<CustomRole, RoleError> {
        let mut invalid = Invalid::default();
        let name = input.name.as_deref().and_then(|n| invalid.check("name", RoleName::parse(n)));
        let description =
            input.description.map(|d| invalid.check("description", parse_description(d.as_deref())).flatten());
        let permissions = input.permissions.map(|p| parse_permissions(&mut invalid, "permissions", &p));
        invalid.into_result()?;
        let now = self.clock.now();

        self.store.transaction(|tx| {
            let scope = enter_org::<RoleError>(tx, caller, org, now, Lock::Org)?;
            scope.grant.authorize(Permission::RolesUpdate)?;
            scope.org.entitlements.require(Feature::CustomRoles)?;
            let before = Self::find(tx, &scope, id)?;
            if let Some(expected) = input.if_match.filter(|v| *v != before.version) {
                return Err(RoleError::VersionMismatch { expected, current: before.version });
            }
            scope.grant.may_grant(before.permissions)?;
            let mut after = before.clone();
            if let Some(name) = name {
                after.name = name;
            }
            if let Some(description) = description {
                after.description = description;
            }
            if let Some(permissions) = permissions {
                scope.grant.may_grant(permissions)?;
                after.permissions = permissions;
            }
            if after == before {
                return Ok(before);
            }
            after.updated_at = now;
            after.version = before.version + 1;
            tx.update_role(&after)?;
            let mut changes = Changes::new();
            changes.diff("name", &before.name.as_str().to_owned(), &after.name.as_str().to_owned());
            changes.diff("description", &before.description, &after.description);
            changes.diff("permissions", &permission_names(before.permissions), &permission_names(after.permissions));
            tx.append_audit(&record(&scope, caller, AuditAction::RoleUpdated, &after, changes))?;
            Ok(after)
        })
    }

    /// Deletes a custom role. Members holding it move to `reassign_to`; without one, a role
    /// still held is refused. Members of a role that shadows a system role fall back to it.
    pub fn delete(
        &self,
        caller: &Caller,
        org: &OrgRef,
        id: RoleId,
        reassign_to: Option<String>,
    ) -> Result<(), RoleError> {
        let replacement = reassign_to
            .map(|key| RoleKey::parse(&key).map_err(|e| Invalid::field("reassign_to", e.code, e.message)))
            .transpose()?;
        let now = self.clock.now();

        self.store.transaction(|tx| {
            let scope = enter_org::<RoleError>(tx, caller, org, now, Lock::Org)?;
            scope.grant.authorize(Permission::RolesDelete)?;
            let role = Self::find(tx, &scope, id)?;
            scope.grant.may_grant(role.permissions)?;
            let holders = tx.count_members_with_role(scope.org.id, &role.key)?;
            let mut changes = Changes::new();
            changes.set("key", role.key.as_str());
            match (&replacement, role.key.system_role()) {
                (Some(target), _) if *target == role.key => {
                    return Err(Invalid::field(
                        "reassign_to",
                        "same_role",
                        "members cannot be moved to the role being deleted",
                    )
                    .into())
                }
                (Some(target), _) if holders > 0 => {
                    let permissions = role_permissions(tx, scope.org.id, target)?
                        .ok_or_else(|| RoleError::UnknownRole(target.to_string()))?;
                    let from = RoleGrant { key: &role.key, permissions: role.permissions };
                    scope.grant.may_change_role(Some(&from), Some(&RoleGrant { key: target, permissions }))?;
                    let moved = tx.reassign_role(scope.org.id, &role.key, target, now)?;
                    changes.set("reassigned_to", target.as_str());
                    changes.set("members_reassigned", moved);
                }
                (None, Some(system)) if holders > 0 => {
                    let from = RoleGrant { key: &role.key, permissions: role.permissions };
                    let fallback = system.key();
                    let to = RoleGrant { key: &fallback, permissions: system.permissions() };
                    scope.grant.may_change_role(Some(&from), Some(&to))?;
                    changes.set("members_reverted_to_system_role", holders);
                }
                (None, None) if holders > 0 => return Err(RoleError::InUse { members: holders }),
                _ => {}
            }
            tx.delete_role(scope.org.id, role.id)?;
            let deleted = CustomRole { updated_at: now, ..role };
            tx.append_audit(&record(&scope, caller, AuditAction::RoleDeleted, &deleted, changes))?;
            Ok(())
        })
    }
}
