//! Reading the dashboard.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::access::{enter_org, Lock};
use crate::authz::{Permission, RoleKey};
use crate::context::Caller;
use crate::error::{AccessError, StoreError};
use crate::ids::OrgId;
use crate::org::OrgRef;
use crate::spend::{current_status, SpendStatus};
use crate::store::Store;
use crate::time::Clock;

/// Members holding one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleFigures {
    /// The role.
    pub role: RoleKey,
    /// Every membership with the role, suspended ones included.
    pub members: i64,
    /// Those of them suspended by the identity provider.
    pub suspended: i64,
    /// Those of them with 2FA on.
    pub mfa_enrolled: i64,
}

/// The dashboard's members section: needs `members:read`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFigures {
    /// Every membership, suspended ones included.
    pub total: i64,
    /// Memberships suspended by the identity provider.
    pub suspended: i64,
    /// Roles in key order; roles nobody holds are left out.
    pub by_role: Vec<RoleFigures>,
}

/// The dashboard's 2FA section: needs `security:read`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaFigures {
    /// Every membership.
    pub members: i64,
    /// Members with 2FA on.
    pub enrolled: i64,
    /// `enrolled / members` in basis points (10,000 = everyone); 0 for no members.
    pub coverage_bp: i64,
    /// True when the organization requires 2FA.
    pub enforced: bool,
}

/// The dashboard's invitations section: needs `invites:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InviteFigures {
    /// Neither revoked, expired nor used up.
    pub pending: i64,
}

/// The dashboard's teams section: needs `teams:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamFigures {
    /// How many teams the organization has.
    pub total: i64,
}

/// The dashboard's API keys section: needs `api_keys:manage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiKeyFigures {
    /// Neither revoked nor expired.
    pub active: i64,
    /// Active keys that expire within the next 7 days.
    pub expiring_within_7_days: i64,
}

/// The dashboard's audit section: needs `audit:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditFigures {
    /// Audit records of the last 30 days.
    pub events_last_30_days: i64,
}

/// What the adapter counts in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardCounts {
    /// Members per role, with their suspended and 2FA-enrolled counts.
    pub by_role: Vec<RoleFigures>,
    /// Invitations neither revoked, expired nor used up.
    pub pending_invites: i64,
    /// Teams.
    pub teams: i64,
    /// API keys neither revoked nor expired.
    pub active_api_keys: i64,
    /// Active API keys that expire before the cut-off asked for.
    pub expiring_api_keys: i64,
    /// Audit records since the instant asked for.
    pub audit_events_since: i64,
}

/// The port the dashboard's figures are counted through.
pub trait DashboardRepository {
    /// The figures of the organization at `now`: keys expiring before `expiring_before`,
    /// audit events recorded at or after `audit_since`.
    fn dashboard_counts(
        &mut self,
        org: OrgId,
        now: DateTime<Utc>,
        expiring_before: DateTime<Utc>,
        audit_since: DateTime<Utc>,
    ) -> Result<DashboardCounts, StoreError>;
}

/// The dashboard; a section is `None` when the caller may not read its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    /// Members by role, if the caller holds `members:read`.
    pub members: Option<MemberFigures>,
    /// 2FA coverage, if the caller holds `security:read`.
    pub mfa: Option<MfaFigures>,
    /// Pending invitations, if the caller holds `invites:read`.
    pub invites: Option<InviteFigures>,
    /// Teams, if the caller holds `teams:read`.
    pub teams: Option<TeamFigures>,
    /// API keys, if the caller holds `api_keys:manage`.
    pub api_keys: Option<ApiKeyFigures>,
    /// Recent audit activity, if the caller holds `audit:read`.
    pub audit: Option<AuditFigures>,
    /// Spend this window, if the caller holds `billing:read`.
    pub spend: Option<SpendStatus>,
    /// When the figures were read.
    pub generated_at: DateTime<Utc>,
}

/// Why reading the dashboard failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DashboardError {
    /// The caller may not read the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads the organization's dashboard.
#[derive(Clone)]
pub struct DashboardService<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S: Store> DashboardService<S> {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The dashboard of `org` for a caller holding `org:read`, each section shown only with
    /// its own read permission.
    pub fn get(&self, caller: &Caller, org: &OrgRef) -> Result<Dashboard, DashboardError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<DashboardError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::OrgRead)?;
            let may = |p: Permission| scope.grant.authorize(p).is_ok();
            let counts = tx.dashboard_counts(scope.org.id, now, now + Duration::days(7), now - Duration::days(30))?;
            let total = counts.by_role.iter().map(|r| r.members).sum::<i64>();
            let enrolled = counts.by_role.iter().map(|r| r.mfa_enrolled).sum::<i64>();
            let spend = if may(Permission::BillingRead) { Some(current_status(tx, &scope.org, now)?) } else { None };
            Ok(Dashboard {
                members: may(Permission::MembersRead).then(|| MemberFigures {
                    total,
                    suspended: counts.by_role.iter().map(|r| r.suspended).sum(),
                    by_role: counts.by_role.clone(),
                }),
                mfa: may(Permission::SecurityRead).then(|| MfaFigures {
                    members: total,
                    enrolled,
                    coverage_bp: if total == 0 { 0 } else { enrolled * 10_000 / total },
                    enforced: scope.policies.mfa.policy.enforced,
                }),
                invites: may(Permission::InvitesRead).then_some(InviteFigures { pending: counts.pending_invites }),
                teams: may(Permission::TeamsRead).then_some(TeamFigures { total: counts.teams }),
                api_keys: may(Permission::ApiKeysManage).then_some(ApiKeyFigures {
                    active: counts.active_api_keys,
                    expiring_within_7_days: counts.expiring_api_keys,
                }),
                audit: may(Permission::AuditRead)
                    .then_some(AuditFigures { events_last_30_days: counts.audit_events_since }),
                spend,
                generated_at: now,
            })
        })
    }
}
