//! The audit trail: every mutation appends one record through the [`AuditSink`] port in the
//! same transaction as the change it describes. Records form a hash chain per
//! organization ([`chain`]), so any later change to the log can be detected.

pub mod chain;
mod log;
mod service;

pub use log::{AuditEvent, AuditFilter, AuditLog, AuditQuery, ChainHead};
pub use service::{
    AuditError, AuditPage, AuditService, ExportPlan, VerifyRange, VerifyReport, AUDIT_BATCH, MAX_VERIFY_PER_CALL,
};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::context::RequestMeta;
use crate::error::StoreError;
use crate::ids::{ApiKeyId, EventId, OrgId, UserId};

/// What happened, as a stable dotted name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// `org.created`: an organization was created; its creator became owner.
    OrgCreated,
    /// `org.updated`: the organization's profile changed.
    OrgUpdated,
    /// `org.deleted`: the organization was soft-deleted.
    OrgDeleted,
    /// `org.ownership_transferred`: the owner role moved to another member.
    OrgOwnershipTransferred,
    /// `member.left`: a member left on their own.
    MemberLeft,
    /// `member.role_changed`: a member was given another role.
    MemberRoleChanged,
    /// `member.removed`: a member was removed by someone else.
    MemberRemoved,
    /// `role.created`: a custom role was created.
    RoleCreated,
    /// `role.updated`: a custom role was renamed or its permissions changed.
    RoleUpdated,
    /// `role.deleted`: a custom role was deleted, its holders moved to another role.
    RoleDeleted,
    /// `api_key.created`: an organization API key was issued.
    ApiKeyCreated,
    /// `api_key.revoked`: an organization API key was revoked.
    ApiKeyRevoked,
    /// `team.created`: a team was created.
    TeamCreated,
    /// `team.updated`: a team was renamed or described anew.
    TeamUpdated,
    /// `team.deleted`: a team was deleted.
    TeamDeleted,
    /// `team.member_added`: a member joined a team.
    TeamMemberAdded,
    /// `team.member_removed`: a member left a team or was taken off it.
    TeamMemberRemoved,
    /// `team.manager_changed`: a team member became or stopped being one of its managers.
    TeamManagerChanged,
    /// `invite.created`: an invitation was issued.
    InviteCreated,
    /// `invite.resent`: an email invitation was sent again.
    InviteResent,
    /// `invite.revoked`: an invitation was revoked before it was used up.
    InviteRevoked,
    /// `invite.accepted`: someone joined through an invitation.
    InviteAccepted,
    /// `security.mfa_policy_updated`: 2FA enforcement changed.
    MfaPolicyUpdated,
    /// `security.sign_in_methods_updated`: the allowed sign-in methods changed.
    SignInMethodsUpdated,
    /// `security.policy_updated`: the IP allowlist or session policy changed.
    SecurityPolicyUpdated,
    /// `security.break_glass_used`: an owner came in past the policies with the break-glass path.
    BreakGlassUsed,
    /// `security.mfa_reminders_sent`: members without 2FA were reminded to turn it on.
    MfaRemindersSent,
    /// `sso.config_updated`: the SSO federation configuration changed.
    SsoConfigUpdated,
    /// `scim.config_updated`: the SCIM provisioning configuration changed.
    ScimConfigUpdated,
    /// `scim.token_rotated`: the SCIM bearer token was replaced.
    ScimTokenRotated,
    /// `domain.claimed`: the organization claimed an email domain.
    DomainClaimed,
    /// `domain.verified`: the organization proved it owns a domain.
    DomainVerified,
    /// `domain.verification_lost`: a re-check found a verified domain's TXT record gone.
    DomainVerificationLost,
    /// `domain.join_policy_updated`: who of a domain may join, and how, changed.
    DomainJoinPolicyUpdated,
    /// `domain.released`: the organization gave a domain up.
    DomainReleased,
    /// `join_request.created`: a person of a verified domain asked to join.
    JoinRequested,
    /// `join_request.approved`: a request to join was approved; the person became a member.
    JoinRequestApproved,
    /// `join_request.denied`: a request to join was denied.
    JoinRequestDenied,
    /// `member.joined_by_domain`: a person joined directly through a verified domain's policy.
    JoinedByDomain,
    /// `member.linked`: an existing member was linked to the identity provider's user.
    MemberLinked,
    /// `scim.user_created`: the identity provider provisioned a member.
    ScimUserCreated,
    /// `scim.user_updated`: the identity provider changed a member's attributes.
    ScimUserUpdated,
    /// `scim.user_deactivated`: the identity provider suspended a member.
    ScimUserDeactivated,
    /// `scim.user_reactivated`: the identity provider lifted a member's suspension.
    ScimUserReactivated,
    /// `scim.user_deleted`: the identity provider removed a member.
    ScimUserDeleted,
    /// `scim.group_roles_updated`: which identity-provider groups grant which roles changed.
    ScimGroupRolesUpdated,
    /// `llm.policy_updated`: the LLM admission policy changed.
    LlmPolicyUpdated,
    /// `spend.limits_updated`: the budgets or overage limits changed.
    SpendLimitsUpdated,
    /// `spend.posture_changed`: spend crossed into another posture (e.g. over budget).
    SpendPostureChanged,
    /// Platform staff read the organization's data (through its routes or `/v1/admin`).
    StaffAccessed,
    /// Platform staff undid the organization's soft delete.
    OrgRestored,
    /// Platform staff changed the organization's plan or entitlement overrides.
    OrgPlanChanged,
    /// `webhook.created`: a webhook endpoint was added.
    WebhookCreated,
    /// `webhook.updated`: a webhook's URL, events or state changed.
    WebhookUpdated,
    /// `webhook.deleted`: a webhook endpoint was deleted.
    WebhookDeleted,
    /// `webhook.secret_rotated`: a webhook's signing secret was replaced.
    WebhookSecretRotated,
    /// The service turned a webhook off: its endpoint is gone, or kept failing.
    WebhookDisabled,
}

impl AuditAction {
    /// The stable dotted name stored and served, e.g. `member.role_changed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::OrgCreated => "org.created",
            AuditAction::OrgUpdated => "org.updated",
            AuditAction::OrgDeleted => "org.deleted",
            AuditAction::OrgOwnershipTransferred => "org.ownership_transferred",
            AuditAction::MemberLeft => "member.left",
            AuditAction::MemberRoleChanged => "member.role_changed",
            AuditAction::MemberRemoved => "member.removed",
            AuditAction::RoleCreated => "role.created",
            AuditAction::RoleUpdated => "role.updated",
            AuditAction::RoleDeleted => "role.deleted",
            AuditAction::ApiKeyCreated => "api_key.created",
            AuditAction::ApiKeyRevoked => "api_key.revoked",
            AuditAction::TeamCreated => "team.created",
            AuditAction::TeamUpdated => "team.updated",
            AuditAction::TeamDeleted => "team.deleted",
            AuditAction::TeamMemberAdded => "team.member_added",
            AuditAction::TeamMemberRemoved => "team.member_removed",
            AuditAction::TeamManagerChanged => "team.manager_changed",
            AuditAction::InviteCreated => "invite.created",
            AuditAction::InviteResent => "invite.resent",
            AuditAction::InviteRevoked => "invite.revoked",
            AuditAction::InviteAccepted => "invite.accepted",
            AuditAction::MfaPolicyUpdated => "security.mfa_policy_updated",
            AuditAction::SignInMethodsUpdated => "security.sign_in_methods_updated",
            AuditAction::SecurityPolicyUpdated => "security.policy_updated",
            AuditAction::BreakGlassUsed => "security.break_glass_used",
            AuditAction::SsoConfigUpdated => "sso.config_updated",
            AuditAction::ScimConfigUpdated => "scim.config_updated",
            AuditAction::ScimTokenRotated => "scim.token_rotated",
            AuditAction::MfaRemindersSent => "security.mfa_reminders_sent",
            AuditAction::DomainClaimed => "domain.claimed",
            AuditAction::DomainVerified => "domain.verified",
            AuditAction::DomainVerificationLost => "domain.verification_lost",
            AuditAction::DomainJoinPolicyUpdated => "domain.join_policy_updated",
            AuditAction::DomainReleased => "domain.released",
            AuditAction::JoinRequested => "join_request.created",
            AuditAction::JoinRequestApproved => "join_request.approved",
            AuditAction::JoinRequestDenied => "join_request.denied",
            AuditAction::JoinedByDomain => "member.joined_by_domain",
            AuditAction::MemberLinked => "member.linked",
            AuditAction::ScimUserCreated => "scim.user_created",
            AuditAction::ScimUserUpdated => "scim.user_updated",
            AuditAction::ScimUserDeactivated => "scim.user_deactivated",
            AuditAction::ScimUserReactivated => "scim.user_reactivated",
            AuditAction::ScimUserDeleted => "scim.user_deleted",
            AuditAction::ScimGroupRolesUpdated => "scim.group_roles_updated",
            AuditAction::StaffAccessed => "staff.accessed",
            AuditAction::OrgRestored => "org.restored",
            AuditAction::OrgPlanChanged => "org.plan_changed",
            AuditAction::LlmPolicyUpdated => "llm.policy_updated",
            AuditAction::SpendLimitsUpdated => "spend.limits_updated",
            AuditAction::SpendPostureChanged => "spend.posture_changed",
            AuditAction::WebhookCreated => "webhook.created",
            AuditAction::WebhookUpdated => "webhook.updated",
            AuditAction::WebhookDeleted => "webhook.deleted",
            AuditAction::WebhookSecretRotated => "webhook.secret_rotated",
            AuditAction::WebhookDisabled => "webhook.disabled",
        }
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A person, through their own token.
    User(UserId),
    /// A program, through an organization API key.
    ApiKey(ApiKeyId),
    /// The service itself, on a schedule (re-verifying domains).
    System,
    /// The organization's identity provider, through its SCIM token.
    Scim,
    /// A person acting as platform staff (the operator's support or administration), not
    /// as a member.
    Staff(UserId),
}

impl Actor {
    /// The actor's type as stored and served: `user`, `api_key`, `system`, `scim` or `staff`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::ApiKey(_) => "api_key",
            Actor::System => "system",
            Actor::Scim => "scim",
            Actor::Staff(_) => "staff",
        }
    }

    /// The actor's public id; `orgd` for the service itself and `scim` for the identity provider.
    pub fn id(&self) -> String {
        match self {
            Actor::User(id) => id.to_string(),
            Actor::ApiKey(id) => id.to_string(),
            Actor::System => "orgd".to_owned(),
            Actor::Scim => "scim".to_owned(),
            Actor::Staff(id) => id.to_string(),
        }
    }
}

/// What it was done to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The target's type, e.g. `member`, `role`, `org`.
    pub kind: &'static str,
    /// The target's public id.
    pub id: String,
}

impl Target {
    /// A target of `kind` with the public id `id`.
    pub fn new(kind: &'static str, id: impl ToString) -> Self {
        Self { kind, id: id.to_string() }
    }
}

/// A compact before/after of the fields a mutation changed. Secrets never go in here.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes(Map<String, Value>);

impl Changes {
    /// No changes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `field` when its value changed.
    pub fn diff<T: Into<Value> + PartialEq + Clone>(&mut self, field: &str, before: &T, after: &T) {
        if before != after {
            self.0.insert(
                field.to_owned(),
                serde_json::json!({ "from": before.clone().into(), "to": after.clone().into() }),
            );
        }
    }

    /// Records the value a field was created with.
    pub fn set(&mut self, field: &str, value: impl Into<Value>) {
        self.0.insert(field.to_owned(), serde_json::json!({ "to": value.into() }));
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The changes as a JSON object, field by field.
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// The record's id, which is also the id of the event derived from it.
    pub id: EventId,
    /// The organization whose log the record belongs to.
    pub org_id: OrgId,
    /// Who made the change.
    pub actor: Actor,
    /// What happened.
    pub action: AuditAction,
    /// What it was done to.
    pub target: Target,
    /// What changed, before and after; never secrets.
    pub changes: Changes,
    /// The request that made the change: id, client IP, user agent.
    pub meta: RequestMeta,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
}

impl AuditRecord {
    /// A record with a fresh id and no changes; add them with [`AuditRecord::with_changes`].
    pub fn new(
        org_id: OrgId,
        actor: &Actor,
        action: AuditAction,
        target: Target,
        meta: &RequestMeta,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: EventId::generate(),
            org_id,
            actor: actor.clone(),
            action,
            target,
            changes: Changes::new(),
            meta: meta.clone(),
            occurred_at: at,
        }
    }

    /// The record with `changes` attached.
    #[must_use]
    pub fn with_changes(mut self, changes: Changes) -> Self {
        self.changes = changes;
        self
    }

    /// The record as the `seq`-th link of its organization's chain, hashed onto `prev_hash`.
    pub fn seal(&self, seq: i64, prev_hash: [u8; 32]) -> AuditEvent {
        let mut event = AuditEvent { seq, prev_hash, ..self.unsealed() };
        event.hash = chain::chain_hash(&prev_hash, &chain::canonical(&event));
        event
    }

    /// The record's fields as they are stored, before it has a place in the chain: `seq`
    /// 0 and both hashes zero, for a store that numbers and hashes the record itself (see
    /// [`chain::canonical_around_seq`]).
    pub fn unsealed(&self) -> AuditEvent {
        AuditEvent {
            seq: 0,
            id: self.id,
            org_id: self.org_id,
            actor_type: self.actor.kind().to_owned(),
            actor_id: self.actor.id(),
            action: self.action.as_str().to_owned(),
            target_type: self.target.kind.to_owned(),
            target_id: self.target.id.clone(),
            changes: self.changes.clone().into_value(),
            request_id: Some(self.meta.request_id.clone()).filter(|id| !id.is_empty()),
            client_ip: self.meta.client_ip,
            user_agent: self.meta.user_agent.clone(),
            occurred_at: self.occurred_at,
            prev_hash: chain::ZERO_HASH,
            hash: chain::ZERO_HASH,
        }
    }
}

/// The port audit records are appended through.
pub trait AuditSink {
    /// Appends `record` inside the caller's transaction, so it is kept exactly when the change is.
    fn append_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_keep_only_what_differs() {
        let mut changes = Changes::new();
        changes.diff("name", &"Acme".to_owned(), &"Acme Inc".to_owned());
        changes.diff("slug", &"acme".to_owned(), &"acme".to_owned());
        let value = changes.into_value();
        assert_eq!(value["name"]["from"], "Acme");
        assert_eq!(value["name"]["to"], "Acme Inc");
        assert!(value.get("slug").is_none());
    }
}
