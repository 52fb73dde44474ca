use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::audit::{AuditAction, AuditRecord};
use crate::error::StoreError;
use crate::ids::{EventId, OrgId};

/// How long the feed keeps an event.
pub const EVENT_RETENTION_DAYS: i64 = 30;

/// The public name of what an audited action did, as consumers subscribe to it; `None` for
/// actions that change nothing a consumer keeps (staff reading, reminders sent).
pub const fn event_type(action: AuditAction) -> Option<&'static str> {
    use AuditAction as A;
    Some(match action {
        A::OrgCreated => "organization.created",
        A::OrgUpdated => "organization.updated",
        A::OrgDeleted => "organization.deleted",
        A::OrgRestored => "organization.restored",
        A::OrgOwnershipTransferred => "organization.ownership_transferred",
        A::OrgPlanChanged => "organization.plan_changed",
        A::InviteAccepted | A::JoinedByDomain | A::ScimUserCreated => "organization.membership.created",
        A::MemberRoleChanged | A::ScimUserUpdated | A::MemberLinked => "organization.membership.updated",
        A::ScimUserDeactivated => "organization.membership.suspended",
        A::ScimUserReactivated => "organization.membership.reactivated",
        A::MemberLeft | A::MemberRemoved | A::ScimUserDeleted => "organization.membership.deleted",
        A::RoleCreated => "role.created",
        A::RoleUpdated => "role.updated",
        A::RoleDeleted => "role.deleted",
        A::ApiKeyCreated => "api_key.created",
        A::ApiKeyRevoked => "api_key.revoked",
        A::TeamCreated => "team.created",
        A::TeamUpdated => "team.updated",
        A::TeamDeleted => "team.deleted",
        A::TeamMemberAdded => "team.membership.created",
        A::TeamManagerChanged => "team.membership.updated",
        A::TeamMemberRemoved => "team.membership.deleted",
        A::InviteCreated => "invitation.created",
        A::InviteResent => "invitation.resent",
        A::InviteRevoked => "invitation.revoked",
        A::MfaPolicyUpdated => "policy.mfa.updated",
        A::SignInMethodsUpdated => "policy.sign_in_methods.updated",
        A::SecurityPolicyUpdated => "policy.security.updated",
        A::SsoConfigUpdated => "policy.sso.updated",
        A::ScimConfigUpdated => "policy.scim.updated",
        A::ScimTokenRotated => "policy.scim.token_rotated",
        A::ScimGroupRolesUpdated => "policy.scim.group_roles_updated",
        A::LlmPolicyUpdated => "policy.llm.updated",
        A::BreakGlassUsed => "security.break_glass_used",
        A::DomainClaimed => "domain.claimed",
        A::DomainVerified => "domain.verified",
        A::DomainVerificationLost => "domain.verification_lost",
        A::DomainJoinPolicyUpdated => "domain.updated",
        A::DomainReleased => "domain.released",
        A::JoinRequested => "join_request.created",
        A::JoinRequestApproved => "join_request.approved",
        A::JoinRequestDenied => "join_request.denied",
        A::SpendLimitsUpdated => "spend.limits_updated",
        A::SpendPostureChanged => "spend.threshold_crossed",
        A::WebhookCreated => "webhook.created",
        A::WebhookUpdated => "webhook.updated",
        A::WebhookDeleted => "webhook.deleted",
        A::WebhookSecretRotated => "webhook.secret_rotated",
        A::WebhookDisabled => "webhook.disabled",
        A::StaffAccessed | A::MfaRemindersSent => return None,
    })
}

/// An event about to be written, from the audit record of its change.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The audit record's id: one change, one id, in the log and in the feed.
    pub id: EventId,
    /// The organization the change happened in.
    pub org_id: OrgId,
    /// The event's type, e.g. `member.role_changed`.
    pub event_type: &'static str,
    /// The event's body: organization, object, actor, changes and action.
    pub data: Value,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
}

impl NewEvent {
    /// The event of an audited change, carrying the ids involved and the fields changed (the
    /// audit record's changes, which never hold a secret), so that a consumer never needs a
    /// second call to know who or what changed.
    pub fn of(record: &AuditRecord) -> Option<Self> {
        let event_type = event_type(record.action)?;
        let data = json!({
            "organization_id": record.org_id.to_string(),
            "object": { "type": record.target.kind, "id": record.target.id },
            "actor": { "type": record.actor.kind(), "id": record.actor.id() },
            "changes": record.changes.clone().into_value(),
            "action": record.action.as_str(),
        });
        Some(Self { id: record.id, org_id: record.org_id, event_type, data, occurred_at: record.occurred_at })
    }
}

/// An event as the feed shows it: its place (`seq`, increasing in commit order within an
/// organization) and what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event's place in its organization's feed.
    pub seq: i64,
    /// The event's id, also its audit record's.
    pub id: EventId,
    /// The organization.
    pub org_id: OrgId,
    /// The event's type, e.g. `member.role_changed`.
    pub event_type: String,
    /// The event's body: organization, object, actor, changes and action.
    pub data: Value,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
}

/// Where a reader of the feed stands: after this event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCursor(pub i64);

/// Which events a reader wants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventQuery {
    /// Read after this event; from the start when `None`.
    pub after: Option<EventCursor>,
    /// Only these types (exact names, or a prefix ending in `.*`, e.g. `team.*`); all when
    /// empty.
    pub types: Vec<String>,
    /// The most events to return, 1 to [`MAX_PAGE`](super::MAX_PAGE).
    pub limit: u32,
}

impl EventQuery {
    /// Whether `event_type` is wanted.
    pub fn wants(&self, event_type: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| type_matches(t, event_type))
    }
}

/// Whether a subscription pattern (an exact type, or a prefix ending in `.*`) takes a type.
pub fn type_matches(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(prefix) => event_type.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.')),
        None => pattern == event_type,
    }
}

/// The port events are stored through. They are written by the audit sink, with the record
/// they come from.
pub trait EventRepository {
    /// The organization's events after the cursor, oldest first, of the wanted types, at
    /// most `query.limit`, none older than `since`.
    fn list_events(&mut self, org: OrgId, query: &EventQuery, since: DateTime<Utc>) -> Result<Vec<Event>, StoreError>;

    /// Forgets at most `limit` events older than `before`; answers how many.
    fn delete_events(&mut self, before: DateTime<Utc>, limit: u32) -> Result<usize, StoreError>;
}
