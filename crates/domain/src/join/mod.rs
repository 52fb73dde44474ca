//! Joining an organization by the verified domain of one's email: the organizations a
//! person is offered, their requests to join, and the decisions on them.

mod service;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

use crate::authz::RoleKey;
use crate::error::StoreError;
use crate::ids::{JoinRequestId, MemberId, OrgId, UserId};
use crate::org::Organization;
use crate::pagination::{Page, PageRequest};
use crate::user::Email;
use crate::verified_domain::{DomainName, JoinPolicy};

pub use service::{JoinError, JoinOutcome, JoinService};

/// Where a request to join stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRequestStatus {
    /// Waiting for an admin's decision.
    Pending,
    /// Approved: the person became a member.
    Approved,
    /// Denied.
    Denied,
}

impl JoinRequestStatus {
    /// Every status, in the order listed.
    pub const ALL: [JoinRequestStatus; 3] =
        [JoinRequestStatus::Pending, JoinRequestStatus::Approved, JoinRequestStatus::Denied];

    /// The name the HTTP API gives the status, e.g. `pending`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JoinRequestStatus::Pending => "pending",
            JoinRequestStatus::Approved => "approved",
            JoinRequestStatus::Denied => "denied",
        }
    }

    /// Reads back a name [`JoinRequestStatus::as_str`] gives; `None` for any other text.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// A person's request to join an organization by their email's domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// The request's public id.
    pub id: JoinRequestId,
    /// The organization asked to join.
    pub org_id: OrgId,
    /// The person asking.
    pub user_id: UserId,
    /// The verified address, and its domain, the request was made with.
    pub email: Email,
    /// The verified domain of `email` that offers the organization.
    pub domain: DomainName,
    /// Where the request stands.
    pub status: JoinRequestStatus,
    /// `None` on a decision made by the domain's `auto` policy.
    pub decided_by: Option<UserId>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Once approved: the role joined with, and the membership.
    pub role: Option<RoleKey>,
    /// Once approved: the membership it created.
    pub member_id: Option<MemberId>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// An organization offered to a person by their domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestedOrg {
    /// The organization.
    pub org: Organization,
    /// The verified domain of the person's email that offers it.
    pub domain: DomainName,
    /// How the domain's people may join it.
    pub join: JoinPolicy,
    /// The person's open request to join it, if any.
    pub pending_request: Option<JoinRequestId>,
}

/// The port join requests are stored through. Every read is scoped by organization.
pub trait JoinRequestRepository {
    /// Stores a new request.
    fn insert_join_request(&mut self, request: &JoinRequest) -> Result<(), StoreError>;

    /// Saves a decision.
    fn update_join_request(&mut self, request: &JoinRequest) -> Result<(), StoreError>;

    /// With `lock`, the row stays locked until the transaction ends.
    fn find_join_request(
        &mut self,
        org: OrgId,
        id: JoinRequestId,
        lock: bool,
    ) -> Result<Option<JoinRequest>, StoreError>;

    /// The person's open request to join `org`, if any.
    fn pending_join_request(&mut self, org: OrgId, user: UserId) -> Result<Option<JoinRequest>, StoreError>;

    /// Newest first, optionally of one status.
    fn list_join_requests(
        &mut self,
        org: OrgId,
        status: Option<JoinRequestStatus>,
        page: PageRequest,
    ) -> Result<Page<JoinRequest>, StoreError>;
}
