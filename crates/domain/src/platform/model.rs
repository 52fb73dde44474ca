use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::{Invalid, ValueError};
use crate::ids::{EventId, OrgId, UserId};
use crate::org::Organization;
use crate::policy::{Entitlements, Feature, Plan};

/// An organization as platform staff see it: deleted ones too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminOrg {
    /// The organization.
    pub org: Organization,
    /// When it was soft-deleted; `None` while live.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A search of every organization, as the client sent it.
#[derive(Debug, Clone, Default)]
pub struct OrgSearchInput {
    /// Part of a name, slug or domain (case-insensitive), or an organization id.
    pub q: Option<String>,
    /// Also find soft-deleted organizations.
    pub include_deleted: bool,
    /// Only organizations on this plan (its name).
    pub plan: Option<String>,
}

/// A validated search; every field narrows it. Organizations come in id (creation) order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgSearch {
    /// Lower-cased text found in the name, slug or domain.
    pub text: Option<String>,
    /// Exactly this organization.
    pub id: Option<OrgId>,
    /// Also find soft-deleted organizations.
    pub include_deleted: bool,
    /// Only organizations on this plan.
    pub plan: Option<Plan>,
    /// Only organizations this person is not a member of.
    pub without_member: Option<UserId>,
}

/// The longest search text.
pub const MAX_QUERY_CHARS: usize = 100;

impl OrgSearchInput {
    /// Validates the search: an organization id in `q` finds that one organization, any other
    /// text is searched for without case.
    pub fn parse(self) -> Result<OrgSearch, Invalid> {
        let mut invalid = Invalid::default();
        let mut search = OrgSearch { include_deleted: self.include_deleted, ..Default::default() };
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            if q.chars().count() > MAX_QUERY_CHARS || crate::error::has_forbidden_controls(q) {
                let message = format!("at most {MAX_QUERY_CHARS} characters, no control characters");
                invalid.0.push(crate::FieldError::new("q", "invalid_query", message));
            } else if let Ok(id) = q.parse::<OrgId>() {
                search.id = Some(id);
            } else {
                search.text = Some(q.to_lowercase());
            }
        }
        search.plan = self.plan.as_deref().and_then(|p| invalid.check("plan", Plan::parse(p)));
        invalid.into_result()?;
        Ok(search)
    }
}

impl OrgSearch {
    /// Whether `org` is one this search finds (its `without_member` part aside); the
    /// in-memory store and tests use it, the database says the same in SQL.
    pub fn matches(&self, org: &AdminOrg) -> bool {
        let o = &org.org;
        let haystack = format!(
            "{} {} {}",
            o.name.as_str().to_lowercase(),
            o.slug.as_str(),
            o.domain.as_ref().map_or("", |d| d.as_str())
        );
        (self.include_deleted || org.deleted_at.is_none())
            && self.id.is_none_or(|id| id == o.id)
            && self.plan.is_none_or(|p| p == o.entitlements.plan)
            && self.text.as_ref().is_none_or(|t| haystack.contains(t.as_str()))
    }
}

/// A new plan and entitlement overrides, as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct SetEntitlements {
    /// The plan's name.
    pub plan: String,
    /// feature name → granted (`true`) or withheld (`false`) whatever the plan says.
    pub overrides: BTreeMap<String, bool>,
}

impl SetEntitlements {
    /// Validates the plan and every override's feature name.
    pub fn parse(self) -> Result<Entitlements, Invalid> {
        let mut invalid = Invalid::default();
        let plan = invalid.check("plan", Plan::parse(&self.plan));
        let mut overrides = BTreeMap::new();
        for (name, on) in &self.overrides {
            let feature: Result<Feature, ValueError> = Feature::parse(name);
            if let Some(feature) = invalid.check(&format!("overrides.{name}"), feature) {
                overrides.insert(feature, *on);
            }
        }
        invalid.into_result()?;
        Ok(Entitlements { plan: plan.unwrap_or_default(), overrides })
    }
}

/// One record of the platform audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformAuditEvent {
    /// Position in the log: newer records have larger numbers.
    pub seq: i64,
    /// The record's id.
    pub id: EventId,
    /// Who made the change: `user`, `api_key`, `system`, `scim` or `staff`.
    pub actor_type: String,
    /// The actor's public id.
    pub actor_id: String,
    /// What happened, as a dotted name (see [`AuditAction`](crate::audit::AuditAction)).
    pub action: String,
    /// The organization the record belongs to.
    pub org_id: Option<OrgId>,
    /// The target's type, e.g. `org`.
    pub target_type: String,
    /// The target's public id.
    pub target_id: String,
    /// What changed, field by field.
    pub changes: Value,
    /// The id of the request that made the change.
    pub request_id: Option<String>,
    /// The client's IP address, when known.
    pub client_ip: Option<IpAddr>,
    /// The client's user agent, when sent.
    pub user_agent: Option<String>,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
}

/// A page of the platform audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformAuditPage {
    /// The records, newest first.
    pub events: Vec<PlatformAuditEvent>,
    /// Pass as `before_seq` for the next (older) page.
    pub next_before: Option<i64>,
}
