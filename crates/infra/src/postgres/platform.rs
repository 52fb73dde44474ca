//! The platform staff's port: every organization, deleted ones too, and the platform
//! audit log.

use chrono::{DateTime, Utc};
use diesel::dsl::{exists, not, sql};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use ipnetwork::IpNetwork;
use orgd_domain::audit::{AuditFilter, AuditRecord};
use orgd_domain::ids::{EventId, OrgId};
use orgd_domain::org::{OrgName, OrgWriteError, Organization};
use orgd_domain::pagination::{Page, PageRequest};
use orgd_domain::platform::{AdminOrg, OrgSearch, PlatformAuditEvent, PlatformRepository};
use orgd_domain::StoreError;
use serde_json::Value;
use uuid::Uuid;

use super::audit::prefix_pattern;
use super::errors::{store_error, violated_unique};
use super::orgs::OrgRow;
use super::prepared::prepared;
use super::schema::{memberships, organizations, platform_audit_events};
use super::store::PgTx;

#[derive(Insertable)]
#[diesel(table_name = platform_audit_events, check_for_backend(diesel::pg::Pg))]
struct NewPlatformAuditRow {
    id: Uuid,
    actor_type: String,
    actor_id: String,
    action: String,
    org_id: Option<Uuid>,
    target_type: String,
    target_id: String,
    changes: Value,
    request_id: Option<String>,
    client_ip: Option<IpNetwork>,
    user_agent: Option<String>,
    occurred_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = platform_audit_events, check_for_backend(diesel::pg::Pg))]
struct PlatformAuditRow {
    seq: i64,
    id: Uuid,
    actor_type: String,
    actor_id: String,
    action: String,
    org_id: Option<Uuid>,
    target_type: String,
    target_id: String,
    changes: Value,
    request_id: Option<String>,
    client_ip: Option<IpNetwork>,
    user_agent: Option<String>,
    occurred_at: DateTime<Utc>,
}

impl From<PlatformAuditRow> for PlatformAuditEvent {
    fn from(row: PlatformAuditRow) -> Self {
        PlatformAuditEvent {
            seq: row.seq,
            id: EventId::from_uuid(row.id),
            actor_type: row.actor_type,
            actor_id: row.actor_id,
            action: row.action,
            org_id: row.org_id.map(OrgId::from_uuid),
            target_type: row.target_type,
            target_id: row.target_id,
            changes: row.changes,
            request_id: row.request_id,
            client_ip: row.client_ip.map(|net| net.ip()),
            user_agent: row.user_agent,
            occurred_at: row.occurred_at,
        }
    }
}

/// `text` as a LIKE pattern matching it anywhere, its own wildcards taken literally.
fn contains_pattern(text: &str) -> String {
    format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

fn admin_org((row, deleted_at): (OrgRow, Option<DateTime<Utc>>)) -> Result<AdminOrg, StoreError> {
    Ok(AdminOrg { org: Organization::try_from(row)?, deleted_at })
}

impl PlatformRepository for PgTx<'_> {
    fn search_orgs(&mut self, search: &OrgSearch, page: PageRequest) -> Result<Page<AdminOrg>, StoreError> {
        let mut query = organizations::table.into_boxed();
        if !search.include_deleted {
            query = query.filter(organizations::deleted_at.is_null());
        }
        if let Some(id) = search.id {
            query = query.filter(organizations::id.eq(id.as_uuid()));
        }
        if let Some(plan) = search.plan {
            query = query.filter(organizations::plan.eq(plan.as_str()));
        }
        if let Some(text) = &search.text {
            // The expression of the trigram index `organizations_admin_search_trgm`.
            query = query.filter(
                sql::<Bool>("lower(name || ' ' || slug || ' ' || coalesce(domain, '')) LIKE ")
                    .bind::<Text, _>(contains_pattern(text)),
            );
        }
        if let Some(user) = search.without_member {
            query = query.filter(not(exists(
                memberships::table
                    .filter(memberships::org_id.eq(organizations::id))
                    .filter(memberships::user_id.eq(user.as_uuid())),
            )));
        }
        if let Some(after) = page.after {
            query = query.filter(organizations::id.gt(after));
        }
        let rows: Vec<(OrgRow, Option<DateTime<Utc>>)> = query
            .order(organizations::id.asc())
            .limit(page.fetch_limit())
            .select((OrgRow::as_select(), organizations::deleted_at))
            .load(self.conn)
            .map_err(store_error)?;
        let rows = rows.into_iter().map(admin_org).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(rows, page, |o| o.org.id.as_uuid()))
    }

    fn find_any_org(&mut self, id: OrgId, lock: bool) -> Result<Option<AdminOrg>, StoreError> {
        let query = organizations::table
            .filter(organizations::id.eq(id.as_uuid()))
            .select((OrgRow::as_select(), organizations::deleted_at));
        // `FOR NO KEY UPDATE`, as `lock_org` takes it (see there why not `FOR UPDATE`).
        let row: Option<(OrgRow, Option<DateTime<Utc>>)> = if lock {
            query.for_no_key_update().first(self.conn).optional()
        } else {
            query.first(self.conn).optional()
        }
        .map_err(store_error)?;
        row.map(admin_org).transpose()
    }

    fn org_name_taken(&mut self, name: &OrgName) -> Result<bool, StoreError> {
        diesel::select(exists(
            organizations::table
                .filter(organizations::deleted_at.is_null())
                .filter(sql::<Bool>("lower(name) = lower(").bind::<Text, _>(name.as_str()).sql(")")),
        ))
        .get_result(self.conn)
        .map_err(store_error)
    }

    fn restore_org(&mut self, id: OrgId, at: DateTime<Utc>) -> Result<(), OrgWriteError> {
        prepared(
            diesel::update(
                organizations::table
                    .filter(organizations::id.eq(id.as_uuid()))
                    .filter(organizations::deleted_at.is_not_null()),
            )
            .set((
                organizations::deleted_at.eq(None::<DateTime<Utc>>),
                organizations::updated_at.eq(at),
                organizations::version.eq(organizations::version + 1),
            )),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(|err| match violated_unique(&err) {
            Some("organizations_name_live_key") => OrgWriteError::NameTaken,
            Some("organizations_slug_live_key") => OrgWriteError::SlugTaken,
            _ => OrgWriteError::Store(store_error(err)),
        })
    }

    fn append_platform_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError> {
        let row = NewPlatformAuditRow {
            id: record.id.as_uuid(),
            actor_type: record.actor.kind().to_owned(),
            actor_id: record.actor.id(),
            action: record.action.as_str().to_owned(),
            org_id: Some(record.org_id.as_uuid()),
            target_type: record.target.kind.to_owned(),
            target_id: record.target.id.clone(),
            changes: record.changes.clone().into_value(),
            request_id: Some(record.meta.request_id.clone()).filter(|id| !id.is_empty()),
            client_ip: record.meta.client_ip.map(IpNetwork::from),
            user_agent: record.meta.user_agent.clone(),
            occurred_at: record.occurred_at,
        };
        prepared(diesel::insert_into(platform_audit_events::table).values(row))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn list_platform_audit(
        &mut self,
        org: Option<OrgId>,
        filter: &AuditFilter,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PlatformAuditEvent>, StoreError> {
        let mut query = platform_audit_events::table.into_boxed();
        if let Some(org) = org {
            query = query.filter(platform_audit_events::org_id.eq(org.as_uuid()));
        }
        if let Some(prefix) = &filter.action_prefix {
            query = query.filter(platform_audit_events::action.like(prefix_pattern(prefix)));
        }
        if let Some(actor) = &filter.actor_id {
            query = query.filter(platform_audit_events::actor_id.eq(actor));
        }
        if let Some(target) = &filter.target_id {
            query = query.filter(platform_audit_events::target_id.eq(target));
        }
        if let Some(since) = filter.since {
            query = query.filter(platform_audit_events::occurred_at.ge(since));
        }
        if let Some(until) = filter.until {
            query = query.filter(platform_audit_events::occurred_at.lt(until));
        }
        if let Some(before) = before_seq {
            query = query.filter(platform_audit_events::seq.lt(before));
        }
        let rows: Vec<PlatformAuditRow> = query
            .order(platform_audit_events::seq.desc())
            .limit(limit)
            .select(PlatformAuditRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        Ok(rows.into_iter().map(PlatformAuditEvent::from).collect())
    }
}
