use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::audit::{AuditRecord, AuditSink};
use domain::StoreError;
use ipnetwork::IpNetwork;
use serde_json::Value;
use uuid::Uuid;

use super::errors::store_error;
use super::schema::audit_events;
use super::store::PgTx;

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewAuditRow<'a> {
    id: Uuid,
    org_id: Uuid,
    actor_type: &'a str,
    actor_id: String,
    action: &'a str,
    target_type: &'a str,
    target_id: &'a str,
    changes: Value,
    request_id: Option<&'a str>,
    client_ip: Option<IpNetwork>,
    user_agent: Option<&'a str>,
    occurred_at: DateTime<Utc>,
}

impl AuditSink for PgTx<'_> {
    fn append_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError> {
        let row = NewAuditRow {
            id: record.id.as_uuid(),
            org_id: record.org_id.as_uuid(),
            actor_type: record.actor.kind(),
            actor_id: record.actor.id(),
            action: record.action.as_str(),
            target_type: record.target.kind,
            target_id: &record.target.id,
            changes: record.changes.clone().into_value(),
            request_id: Some(record.meta.request_id.as_str()).filter(|id| !id.is_empty()),
            client_ip: record.meta.client_ip.map(IpNetwork::from),
            user_agent: record.meta.user_agent.as_deref(),
            occurred_at: record.occurred_at,
        };
        diesel::insert_into(audit_events::table).values(row).execute(self.conn).map(|_| ()).map_err(store_error)
    }
}
