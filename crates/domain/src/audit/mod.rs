//! The audit trail: every mutation appends one record through the [`AuditSink`] port in the
//! same transaction as the change it describes. Records form a hash chain per
//! organization ([`chain`]), so any later change to the log can be detected.

pub mod chain;
mod log;
mod service;

pub use log::{AuditEvent, AuditFilter, AuditLog, AuditQuery, ChainHead};
pub use service::{AuditError, AuditPage, AuditService, ExportPlan, VerifyRange, VerifyReport, AUDIT_BATCH};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::context::RequestMeta;
use crate::error::StoreError;
use crate::ids::{ApiKeyId, EventId, OrgId, UserId};

/// What happened, as a stable dotted name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    OrgCreated,
    OrgUpdated,
    OrgDeleted,
    OrgOwnershipTransferred,
    MemberLeft,
    MemberRoleChanged,
    MemberRemoved,
    RoleCreated,
    RoleUpdated,
    RoleDeleted,
    ApiKeyCreated,
    ApiKeyRevoked,
    TeamCreated,
    TeamUpdated,
    TeamDeleted,
    TeamMemberAdded,
    TeamMemberRemoved,
    TeamManagerChanged,
    InviteCreated,
    InviteResent,
    InviteRevoked,
    InviteAccepted,
    MfaPolicyUpdated,
    SignInMethodsUpdated,
    SecurityPolicyUpdated,
    BreakGlassUsed,
    MfaRemindersSent,
    SsoConfigUpdated,
    ScimConfigUpdated,
    ScimTokenRotated,
    DomainClaimed,
    DomainVerified,
    DomainVerificationLost,
    DomainJoinPolicyUpdated,
    DomainReleased,
    JoinRequested,
    JoinRequestApproved,
    JoinRequestDenied,
    JoinedByDomain,
    MemberLinked,
    ScimUserCreated,
    ScimUserUpdated,
    ScimUserDeactivated,
    ScimUserReactivated,
    ScimUserDeleted,
    ScimGroupRolesUpdated,
    LlmPolicyUpdated,
    SpendLimitsUpdated,
    SpendPostureChanged,
    /// Platform staff read the organization's data (through its routes or `/v1/admin`).
    StaffAccessed,
    /// Platform staff undid the organization's soft delete.
    OrgRestored,
    /// Platform staff changed the organization's plan or entitlement overrides.
    OrgPlanChanged,
    WebhookCreated,
    WebhookUpdated,
    WebhookDeleted,
    WebhookSecretRotated,
    /// The service turned a webhook off: its endpoint is gone, or kept failing.
    WebhookDisabled,
}

impl AuditAction {
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
    User(UserId),
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
    pub const fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::ApiKey(_) => "api_key",
            Actor::System => "system",
            Actor::Scim => "scim",
            Actor::Staff(_) => "staff",
        }
    }

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
    pub kind: &'static str,
    pub id: String,
}

impl Target {
    pub fn new(kind: &'static str, id: impl ToString) -> Self {
        Self { kind, id: id.to_string() }
    }
}

/// A compact before/after of the fields a mutation changed. Secrets never go in here.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes(Map<String, Value>);

impl Changes {
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

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: EventId,
    pub org_id: OrgId,
    pub actor: Actor,
    pub action: AuditAction,
    pub target: Target,
    pub changes: Changes,
    pub meta: RequestMeta,
    pub occurred_at: DateTime<Utc>,
}

impl AuditRecord {
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

    #[must_use]
    pub fn with_changes(mut self, changes: Changes) -> Self {
        self.changes = changes;
        self
    }

    /// The record as the `seq`-th link of its organization's chain, hashed onto `prev_hash`.
    pub fn seal(&self, seq: i64, prev_hash: [u8; 32]) -> AuditEvent {
        let mut event = AuditEvent {
            seq,
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
            prev_hash,
            hash: chain::ZERO_HASH,
        };
        event.hash = chain::chain_hash(&prev_hash, &chain::canonical(&event));
        event
    }
}

/// The port audit records are appended through.
pub trait AuditSink {
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
