use chrono::{DateTime, Utc};

use crate::audit::Actor;
use crate::authz::RoleKey;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::{InviteId, MemberId, OrgId, TeamId, UserId};
use crate::member::{MemberWriteError, Membership};
use crate::org::Organization;
use crate::pagination::{Page, PageRequest};
use crate::user::Email;

/// An invitation to join an organization with one role: a link anyone holding it may use, or
/// one bound to an email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The invite's public id.
    pub id: InviteId,
    /// The organization it admits to.
    pub org_id: OrgId,
    /// The role it hands out; never `owner`.
    pub role: RoleKey,
    /// A team the newcomer is also seated in.
    pub team_id: Option<TeamId>,
    /// Only a user whose verified email is this may accept; anyone with the link when `None`.
    pub email: Option<Email>,
    /// How many people may accept it (1 for an email-bound invite).
    pub max_uses: i32,
    /// How many have accepted it so far.
    pub uses: i32,
    /// After this instant nobody may accept it.
    pub expires_at: DateTime<Utc>,
    /// Who issued it.
    pub created_by: Actor,
    /// The issuing person's display name when issued, for the invite's preview and email.
    pub inviter_name: Option<String>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; `None` while not revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When its email was last sent; `None` for a link invite.
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
    /// Its expiry passed before it was used up.
    Expired,
    /// Revoked before it was used up.
    Revoked,
}

impl InviteStatus {
    /// Every status, in the order listed.
    pub const ALL: &'static [InviteStatus] = &[
        InviteStatus::Pending,
        InviteStatus::Accepted,
        InviteStatus::Exhausted,
        InviteStatus::Expired,
        InviteStatus::Revoked,
    ];

    /// The name the HTTP API gives the status, e.g. `pending`.
    pub const fn as_str(self) -> &'static str {
        match self {
            InviteStatus::Pending => "pending",
            InviteStatus::Accepted => "accepted",
            InviteStatus::Exhausted => "exhausted",
            InviteStatus::Expired => "expired",
            InviteStatus::Revoked => "revoked",
        }
    }

    /// Reads back a name [`InviteStatus::as_str`] gives; `None` for any other text.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.as_str() == value)
    }
}

impl Invite {
    /// Where the invite stands at `now`; revocation wins over use, and use over expiry.
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
    /// The invite used.
    pub invite_id: InviteId,
    /// The membership it created.
    pub member_id: MemberId,
    /// The person who accepted it.
    pub user_id: UserId,
    /// When they accepted it.
    pub redeemed_at: DateTime<Utc>,
}

/// An invite with its redemptions, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteView {
    /// The invite.
    pub invite: Invite,
    /// Its status when listed.
    pub status: InviteStatus,
    /// Who accepted it, oldest first.
    pub redemptions: Vec<Redemption>,
}

/// A created invite with its secret, which is never shown again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedInvite {
    /// The invite as stored.
    pub invite: Invite,
    /// The secret link token; only a hash of it is kept.
    pub token: String,
    /// The full link to share: the configured accept URL base followed by the token.
    pub accept_url: String,
}

/// What the holder of an invite link may see before accepting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitePreview {
    /// The organization's name.
    pub org_name: String,
    /// The role accepting hands out.
    pub role: RoleKey,
    /// The name of the person who issued it, when known.
    pub inviter_name: Option<String>,
    /// The last instant it may be accepted.
    pub expires_at: DateTime<Utc>,
    /// True when only one verified email address may accept it.
    pub email_bound: bool,
}

/// The outcome of accepting an invite: the organization joined and the new membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedInvite {
    /// The organization joined.
    pub org: Organization,
    /// The membership accepting created.
    pub membership: Membership,
}

/// An invitation as a client asks for it; the use case validates every field.
#[derive(Debug, Clone, Default)]
pub struct CreateInvite {
    /// The role key to hand out.
    pub role: String,
    /// A team to seat the newcomer in.
    pub team_id: Option<TeamId>,
    /// Bind the invite to this email address; `None` for a link anyone may use.
    pub email: Option<String>,
    /// How many people may accept it; 1 when `None`, and always 1 for an email-bound invite.
    pub max_uses: Option<i32>,
    /// When it stops being accepted; the service's default lifetime when `None`.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why a use case on invitations failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Invites never hand out `owner`: ownership is only ever transferred.
    #[error("no invite can make an owner; invite as admin, then transfer ownership")]
    OwnerRole,
    /// The role named is neither a system role nor one of the organization's custom roles.
    #[error("`{0}` is not a role of this organization")]
    UnknownRole(String),
    /// The invite expired before this acceptance.
    #[error("the invite has expired")]
    Expired,
    /// The invite was revoked.
    #[error("the invite was revoked")]
    Revoked,
    /// The invite was accepted as many times as it allows.
    #[error("the invite has been used as many times as it allows")]
    Exhausted,
    /// The role, or the inviter's right to hand it out, changed since the invite was issued.
    #[error("the invite is no longer valid: its role or its inviter's rights changed")]
    NoLongerValid,
    /// The invite is bound to another email, or the caller's email is not verified.
    #[error("this invite is for another email address; sign in with the invited, verified address")]
    EmailMismatch,
    /// The caller already belongs to the organization.
    #[error("you are already a member of this organization")]
    AlreadyMember,
    /// Only an email-bound invite can be sent again.
    #[error("only email invites are sent")]
    NotAnEmailInvite,
    /// The invite was sent too recently to send again.
    #[error("the invite email was sent moments ago; retry in {retry_after_secs} seconds")]
    ResendTooSoon {
        /// Seconds until it may be sent again.
        retry_after_secs: u32,
    },
    /// The storage failed.
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
    /// Stores a new invite with the hash its secret is looked up by.
    fn insert_invite(&mut self, invite: &Invite, lookup_hash: &[u8]) -> Result<(), StoreError>;

    /// The invite `id` of organization `org`, revoked or not.
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

    /// Who accepted each of `invites`, oldest first.
    fn list_redemptions(&mut self, org: OrgId, invites: &[InviteId]) -> Result<Vec<Redemption>, StoreError>;

    /// Records a use and counts it.
    fn redeem_invite(&mut self, org: OrgId, redemption: &Redemption) -> Result<(), StoreError>;

    /// Marks the invite revoked at `at`; it can no longer be accepted.
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
