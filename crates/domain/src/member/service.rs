use std::sync::Arc;

use crate::access::{enter_org, Lock};
use crate::audit::{AuditAction, AuditRecord, Target};
use crate::authz::Permission;
use crate::context::Caller;
use crate::error::AccessError;
use crate::ids::MemberId;
use crate::org::OrgRef;
use crate::pagination::{Page, PageRequest};
use crate::store::Store;
use crate::time::Clock;

use super::error::MemberError;
use super::model::{Member, MemberQuery};

/// Use cases of memberships.
#[derive(Clone)]
pub struct MemberService<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S: Store> MemberService<S> {
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub fn list(
        &self,
        caller: &Caller,
        org: &OrgRef,
        query: MemberQuery,
        page: PageRequest,
    ) -> Result<Page<Member>, MemberError> {
        let filter = query.parse()?;
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<MemberError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::MembersRead)?;
            Ok(tx.list_members(scope.org.id, &filter, page)?)
        })
    }

    pub fn get(&self, caller: &Caller, org: &OrgRef, member: MemberId) -> Result<Member, MemberError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<MemberError>(tx, caller, org, now, Lock::None)?;
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
}
