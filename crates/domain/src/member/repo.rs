use chrono::{DateTime, Utc};

use crate::authz::RoleKey;
use crate::error::StoreError;
use crate::ids::{MemberId, OrgId, UserId};
use crate::pagination::{Page, PageRequest};

use super::model::{Member, MemberFilter, Membership};
use crate::org::Organization;

/// Why storing a membership failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemberWriteError {
    /// The user already belongs to the organization.
    #[error("the user is already a member of the organization")]
    AlreadyMember,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The port memberships are stored through. Every read is scoped by organization.
pub trait MemberRepository {
    /// Stores a new membership.
    fn insert_membership(&mut self, membership: &Membership) -> Result<(), MemberWriteError>;

    /// The user's membership of `org`, if any.
    fn find_membership_of_user(&mut self, org: OrgId, user: UserId) -> Result<Option<Membership>, StoreError>;

    /// The live organization the user joined first: what `me` resolves to.
    fn default_org_of_user(&mut self, user: UserId) -> Result<Option<OrgId>, StoreError>;

    /// The user's live organizations in join order.
    fn list_orgs_of_user(
        &mut self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<(Organization, Membership)>, StoreError>;

    /// One member of `org`, with their profile.
    fn find_member(&mut self, org: OrgId, member: MemberId) -> Result<Option<Member>, StoreError>;

    /// Members in join order, filtered.
    fn list_members(
        &mut self,
        org: OrgId,
        filter: &MemberFilter,
        page: PageRequest,
    ) -> Result<Page<Member>, StoreError>;

    /// Owners who are not suspended: the ones the last-owner rule keeps.
    fn count_owners(&mut self, org: OrgId) -> Result<u64, StoreError>;

    /// Gives the member `role`; `from_group` says a SCIM group mapping gave it (see
    /// [`Membership::role_from_group`]); any other role change clears that.
    fn set_member_role(
        &mut self,
        org: OrgId,
        member: MemberId,
        role: &RoleKey,
        from_group: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Removes the membership; `false` when there was none.
    fn delete_membership(&mut self, org: OrgId, member: MemberId) -> Result<bool, StoreError>;
}
