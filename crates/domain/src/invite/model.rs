use chrono::{DateTime, Utc};

use crate::audit::Actor;
use crate::authz::RoleKey;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::{InviteId, MemberId, OrgId, TeamId, UserId};
use crate::member::{MemberWriteError, Membership};
use crate::org::Organization;
use crate::pagination::{Page, PageRequest};
use crate::user::Email;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub id: InviteId,
    pub org_id: OrgId,
    pub role: RoleKey,
    pub team_id: Option<TeamId>,
    /// Only a user whose verified email is this may accept; anyone with the link when `None`.
    pub email: Option<Email>,
    pub max_uses: i32,
    pub uses: i32,
    pub expires_at: DateTime<Utc>,
    pub created_by: Actor,
    pub inviter_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_sent_at: Option<DateTime<Utc>>,
}

/// Where an invite stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteStatus {
    /// Usable.
    Pending,
    /// A single-use invite that was used.
    Accepted,
    /// A multi-use invite used up.
    Exhausted,
    Expired,
    Revoked,
}

impl InviteStatus {
    pub const ALL: &'static [InviteStatus] = &[
        InviteStatus::Pending,
        InviteStatus::Accepted,
        InviteStatus::Exhausted,
        InviteStatus::Expired,
        InviteStatus::Revoked,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            InviteStatus::Pending => "pending",
            InviteStatus::Accepted => "accepted",
            InviteStatus::Exhausted => "exhausted",
            InviteStatus::Expired => "expired",
            InviteStatus::Revoked => "revoked",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.as_str() == value)
    }
}

impl Invite {
    pub fn status(&self, now: DateTime<Utc>) -> InviteStatus {
        if self.revoked_at.is_some() {
            InviteStatus::Revoked
        } else if self.uses >= self.max_uses {
            if self.max_uses == 1 {
                InviteStatus::Accepted
            } else {
                InviteStatus::Exhausted
            }
        } else if self.expires_at <= now {
            InviteStatus::Expired
        } else {
            InviteStatus::Pending
        }
    }
}

/// Who used an invite, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    pub invite_id: InviteId,
    pub member_id: MemberId,
    pub user_id: UserId,
    pub redeemed_at: DateTime<Utc>,
}

/// An invite with its redemptions, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteView {
    pub invite: Invite,
    pub status: InviteStatus,
    pub redemptions: Vec<Redemption>,
}

/// A created invite with its secret, which is never shown again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedInvite {
    pub invite: Invite,
    pub token: String,
    pub accept_url: String,
}

/// What the holder of an invite link may see before accepting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitePreview {
    pub org_name: String,
    pub role: RoleKey,
    pub inviter_name: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub email_bound: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedInvite {
    pub org: Organization,
    pub membership: Membership,
}

#[derive(Debug, Clone, Default)]
pub struct CreateInvite {
    pub role: String,
    pub team_id: Option<TeamId>,
    pub email: Option<String>,
    pub max_uses: Option<i32>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("no invite can make an owner; invite as admin, then transfer ownership")]
    OwnerRole,
    #[error("`{0}` is not a role of this organization")]
    UnknownRole(String),
    #[error("the invite has expired")]
    Expired,
    #[error("the invite was revoked")]
    Revoked,
    #[error("the invite has been used as many times as it allows")]
    Exhausted,
    #[error("the invite is no longer valid: its role or its inviter's rights changed")]
    NoLongerValid,
    #[error("this invite is for another email address; sign in with the invited, verified address")]
    EmailMismatch,
    #[error("you are already a member of this organization")]
    AlreadyMember,
    #[error("only email invites are sent")]
    NotAnEmailInvite,
    #[error("the invite email was sent moments ago; retry in {retry_after_secs} seconds")]
    ResendTooSoon { retry_after_secs: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::team::TeamWriteError> for InviteError {
    fn from(err: crate::team::TeamWriteError) -> Self {
        match err {
            // A fresh member cannot already sit in the team.
            crate::team::TeamWriteError::NameTaken
            | crate::team::TeamWriteError::AlreadyInTeam
            | crate::team::TeamWriteError::ExternalIdTaken => InviteError::AlreadyMember,
            crate::team::TeamWriteError::Store(e) => InviteError::Store(e),
        }
    }
}

impl From<MemberWriteError> for InviteError {
    fn from(err: MemberWriteError) -> Self {
        match err {
            MemberWriteError::AlreadyMember => InviteError::AlreadyMember,
            MemberWriteError::Store(e) => InviteError::Store(e),
        }
    }
}

/// The port invites are stored through.
pub trait InviteRepository {
    fn insert_invite(&mut self, invite: &Invite, lookup_hash: &[u8]) -> Result<(), StoreError>;

    fn find_invite(&mut self, org: OrgId, id: InviteId) -> Result<Option<Invite>, StoreError>;

    /// The invite whose secret hashes to this, in any organization; with `lock`, locked
    /// until the transaction ends, so concurrent acceptances take turns.
    fn find_invite_by_hash(&mut self, lookup_hash: &[u8], lock: bool) -> Result<Option<Invite>, StoreError>;

    /// Stores the invite's secret under the hash `to` instead of `from` (a hashing-key
    /// rotation).
    fn rekey_invite(&mut self, from: &[u8], to: &[u8]) -> Result<(), StoreError>;

    /// Newest first, optionally only those in `status` at `now`.
    fn list_invites(
        &mut self,
        org: OrgId,
        status: Option<InviteStatus>,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<Invite>, StoreError>;

    fn list_redemptions(&mut self, org: OrgId, invites: &[InviteId]) -> Result<Vec<Redemption>, StoreError>;

    /// Records a use and counts it.
    fn redeem_invite(&mut self, org: OrgId, redemption: &Redemption) -> Result<(), StoreError>;

    fn revoke_invite(&mut self, org: OrgId, id: InviteId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Replaces the invite's secret (the old link dies) and records the send time.
    fn reissue_invite(
        &mut self,
        org: OrgId,
        id: InviteId,
        lookup_hash: &[u8],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
