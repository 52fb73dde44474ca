use std::sync::Arc;

use crate::access::{enter_org, read_in_org, role_permissions, Lock, OrgScope};
use crate::audit::{AuditAction, AuditRecord, Changes, Target};
use crate::authz::{Permission, RoleGrant, RoleKey, SystemRole};
use crate::context::Caller;
use crate::error::{AccessError, Invalid};
use crate::ids::MemberId;
use crate::org::OrgRef;
use crate::pagination::{Page, PageRequest};
use crate::store::Store;
use crate::store::Tx;
use crate::time::Clock;

use super::error::MemberError;
use super::model::{Member, MemberQuery, Membership};

/// Use cases of memberships.
#[derive(Clone)]
pub struct MemberService<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S: Store> MemberService<S> {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// A page of the organization's members in join order, filtered by `query`; needs
    /// `members:read`.
    pub fn list(
        &self,
        caller: &Caller,
        org: &OrgRef,
        query: MemberQuery,
        page: PageRequest,
    ) -> Result<Page<Member>, MemberError> {
        let filter = query.parse()?;
        let now = self.clock.now();
        read_in_org(&self.store, caller, org, now, |tx, scope| {
            scope.grant.authorize(Permission::MembersRead)?;
            Ok(tx.list_members(scope.org.id, &filter, page)?)
        })
    }

    /// One member of the organization; needs `members:read`.
    pub fn get(&self, caller: &Caller, org: &OrgRef, member: MemberId) -> Result<Member, MemberError> {
        let now = self.clock.now();
        read_in_org(&self.store, caller, org, now, |tx, scope| {
            scope.grant.authorize(Permission::MembersRead)?;
            tx.find_member(scope.org.id, member)?.ok_or(MemberError::Access(AccessError::NotFound("member")))
        })
    }

    /// The caller leaves the organization. The last owner cannot: the organization row is
    /// locked first, so concurrent leaves and demotions see each other's effect.
    pub fn leave(&self, caller: &Caller, org: &OrgRef) -> Result<(), MemberError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<MemberError>(tx, caller, org, now, Lock::Org)?;
            let membership = scope.membership.ok_or(AccessError::NotFound("membership"))?;
            if membership.role.is_owner() && tx.count_owners(scope.org.id)? <= 1 {
                return Err(MemberError::LastOwner);
            }
            tx.delete_membership(scope.org.id, membership.id)?;
            let record = AuditRecord::new(
                scope.org.id,
                &scope.actor,
                AuditAction::MemberLeft,
                Target::new("member", membership.id),
                &caller.meta,
                now,
            );
            tx.append_audit(&record)?;
            Ok(())
        })
    }

    fn find_target(tx: &mut dyn Tx, scope: &OrgScope, member: MemberId) -> Result<Membership, MemberError> {
        let found = tx.find_member(scope.org.id, member)?.ok_or(AccessError::NotFound("member"))?;
        Ok(found.membership)
    }

    fn role_permissions(
        tx: &mut dyn Tx,
        scope: &OrgScope,
        role: &RoleKey,
    ) -> Result<crate::authz::PermissionSet, MemberError> {
        role_permissions(tx, scope.org.id, role)?.ok_or_else(|| MemberError::UnknownRole(role.to_string()))
    }

    /// Refuses taking the last active owner's owner role away.
    fn keep_an_owner(tx: &mut dyn Tx, scope: &OrgScope, target: &Membership) -> Result<(), MemberError> {
        if target.is_active_owner() && tx.count_owners(scope.org.id)? <= 1 {
            return Err(MemberError::LastOwner);
        }
        Ok(())
    }

    fn record(
        scope: &OrgScope,
        caller: &Caller,
        action: AuditAction,
        member: MemberId,
        changes: Changes,
        at: chrono::DateTime<chrono::Utc>,
    ) -> AuditRecord {
        AuditRecord::new(scope.org.id, &scope.actor, action, Target::new("member", member), &caller.meta, at)
            .with_changes(changes)
    }

    /// Gives a member another role. The caller must hold every permission of both the old
    /// and the new role, so nobody promotes past themselves or demotes someone above them,
    /// and only an owner makes or unmakes an owner.
    pub fn change_role(
        &self,
        caller: &Caller,
        org: &OrgRef,
        member: MemberId,
        role: &str,
    ) -> Result<Member, MemberError> {
        self.change_role_if(caller, org, member, role, None)
    }

    /// [`Self::change_role`], refused when the member changed since version `if_match`.
    pub fn change_role_if(
        &self,
        caller: &Caller,
        org: &OrgRef,
        member: MemberId,
        role: &str,
        if_match: Option<i64>,
    ) -> Result<Member, MemberError> {
        let role = RoleKey::parse(role).map_err(|e| Invalid::field("role", e.code, e.message))?;
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<MemberError>(tx, caller, org, now, Lock::Org)?;
            scope.grant.authorize(Permission::MembersUpdate)?;
            let target = Self::find_target(tx, &scope, member)?;
            if let Some(expected) = if_match.filter(|v| *v != target.version) {
                return Err(MemberError::VersionMismatch { expected, current: target.version });
            }
            let old = RoleGrant { key: &target.role, permissions: Self::role_permissions(tx, &scope, &target.role)? };
            let new = RoleGrant { key: &role, permissions: Self::role_permissions(tx, &scope, &role)? };
            scope.grant.may_change_role(Some(&old), Some(&new))?;
            if target.role != role {
                if !role.is_owner() {
                    Self::keep_an_owner(tx, &scope, &target)?;
                }
                tx.set_member_role(scope.org.id, member, &role, false, now)?;
                let mut changes = Changes::new();
                changes.diff("role", &target.role.to_string(), &role.to_string());
                tx.append_audit(&Self::record(&scope, caller, AuditAction::MemberRoleChanged, member, changes, now))?;
            }
            tx.find_member(scope.org.id, member)?.ok_or(MemberError::Access(AccessError::NotFound("member")))
        })
    }

    /// Removes a member. Nobody removes a member whose role holds a permission they lack,
    /// only an owner removes an owner, and the last owner cannot be removed.
    pub fn remove(&self, caller: &Caller, org: &OrgRef, member: MemberId) -> Result<(), MemberError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<MemberError>(tx, caller, org, now, Lock::Org)?;
            scope.grant.authorize(Permission::MembersRemove)?;
            let target = Self::find_target(tx, &scope, member)?;
            let permissions = role_permissions(tx, scope.org.id, &target.role)?.unwrap_or_default();
            scope.grant.may_change_role(Some(&RoleGrant { key: &target.role, permissions }), None)?;
            Self::keep_an_owner(tx, &scope, &target)?;
            tx.delete_membership(scope.org.id, member)?;
            let mut changes = Changes::new();
            changes.set("role", target.role.as_str());
            changes.set("user_id", target.user_id.to_string());
            tx.append_audit(&Self::record(&scope, caller, AuditAction::MemberRemoved, member, changes, now))?;
            Ok(())
        })
    }

    /// An owner hands the owner role to another member and becomes an admin.
    pub fn transfer_ownership(&self, caller: &Caller, org: &OrgRef, to: MemberId) -> Result<Member, MemberError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<MemberError>(tx, caller, org, now, Lock::Org)?;
            let own = scope.membership.clone().filter(|_| scope.grant.is_owner()).ok_or(AccessError::OwnerRequired)?;
            scope.grant.authorize(Permission::OrgTransferOwnership)?;
            let target = Self::find_target(tx, &scope, to)?;
            let owner = RoleKey::owner();
            let from = RoleGrant { key: &target.role, permissions: Self::role_permissions(tx, &scope, &target.role)? };
            let to_owner = RoleGrant { key: &owner, permissions: Self::role_permissions(tx, &scope, &owner)? };
            scope.grant.may_change_role(Some(&from), Some(&to_owner))?;
            if target.id == own.id {
                return Err(Invalid::field("member_id", "self_transfer", "ownership must go to another member").into());
            }
            if target.is_suspended() {
                return Err(Invalid::field(
                    "member_id",
                    "member_suspended",
                    "ownership must go to an active member; this one is suspended by the identity provider",
                )
                .into());
            }
            let admin = SystemRole::Admin.key();
            tx.set_member_role(scope.org.id, target.id, &RoleKey::owner(), false, now)?;
            tx.set_member_role(scope.org.id, own.id, &admin, false, now)?;
            let mut changes = Changes::new();
            changes.set("from_member", own.id.to_string());
            changes.set("to_member", target.id.to_string());
            changes.diff("previous_role_of_new_owner", &target.role.to_string(), &RoleKey::owner().to_string());
            let record = AuditRecord::new(
                scope.org.id,
                &scope.actor,
                AuditAction::OrgOwnershipTransferred,
                Target::new("organization", scope.org.id),
                &caller.meta,
                now,
            )
            .with_changes(changes);
            tx.append_audit(&record)?;
            tx.find_member(scope.org.id, target.id)?.ok_or(MemberError::Access(AccessError::NotFound("member")))
        })
    }
}
