//! `/v1/orgs/{org}/audit-log`: reading, verifying and exporting the tamper-evident log.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::stream;
use orgd_domain::audit::{AuditError, AuditEvent, AuditQuery, VerifyRange};
use orgd_domain::org::OrgRef;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::Object;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{page, path_id, PageParams, Seq, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_audit_log).service(verify_audit_log).service(export_audit_log);
}

/// Who or what an audit record names.
#[derive(Debug, Serialize, ToSchema)]
pub struct Party {
    /// `user`, `api_key`, … for actors; `organization`, `member`, `role`, `team`, … for targets.
    #[serde(rename = "type")]
    #[schema(example = "user")]
    pub kind: String,
    #[schema(example = crate::openapi::example::user)]
    pub id: String,
}

/// What a change did to one field. Its values are the field's, of whatever JSON type the
/// field has; a field given its first value has no `from`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"from": "member", "to": "admin"}))]
pub struct FieldChange {
    /// The value before the change.
    #[schema(value_type = Option<Value>)]
    pub from: Option<Value>,
    /// The value after the change.
    #[schema(value_type = Option<Value>)]
    pub to: Option<Value>,
}

/// One audit record, with its link in the organization's hash chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventResponse {
    #[schema(example = "evt_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    /// Position in the organization's chain: 1, 2, 3, … without gaps.
    #[schema(example = 42)]
    pub seq: i64,
    #[schema(example = "member.role_changed")]
    pub action: String,
    pub actor: Party,
    pub target: Party,
    /// The fields the change touched, by name.
    #[schema(value_type = BTreeMap<String, FieldChange>, example = crate::openapi::example::role_change)]
    pub changes: Value,
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// RFC 3339 UTC with exactly six fractional digits: the form the hash covers.
    #[serde(serialize_with = "micros")]
    #[schema(value_type = String, format = DateTime, example = "2026-03-02T09:30:00.000000Z")]
    pub occurred_at: DateTime<Utc>,
    /// Hex SHA-256 of the previous record (the chain's anchor for the first).
    #[schema(example = "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7")]
    pub prev_hash: String,
    /// Hex SHA-256 of `prev_hash` followed by this record's canonical form.
    #[schema(example = crate::openapi::example::sha256)]
    pub hash: String,
}

impl From<AuditEvent> for AuditEventResponse {
    fn from(e: AuditEvent) -> Self {
        AuditEventResponse {
            id: e.id.to_string(),
            seq: e.seq,
            action: e.action,
            actor: Party { kind: e.actor_type, id: e.actor_id },
            target: Party { kind: e.target_type, id: e.target_id },
            changes: e.changes,
            request_id: e.request_id,
            client_ip: e.client_ip.map(|ip| ip.to_string()),
            user_agent: e.user_agent,
            occurred_at: e.occurred_at,
            prev_hash: hex::encode(e.prev_hash),
            hash: hex::encode(e.hash),
        }
    }
}

page! {
    /// A page of the audit log, newest first; `next_cursor` leads to older records.
    AuditEventPage of AuditEventResponse
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct AuditListParams {
    /// Actions starting with this, e.g. `member.` or `org.updated`.
    #[param(schema_with = filter_token)]
    #[validate(length(max = 200, code = "too_long"))]
    pub action: Option<String>,
    /// Only records by this actor id (`usr_…`, `key_…`).
    #[param(schema_with = filter_token)]
    #[validate(length(max = 200, code = "too_long"))]
    pub actor: Option<String>,
    /// Only records about this target id.
    #[param(schema_with = filter_token)]
    #[validate(length(max = 200, code = "too_long"))]
    pub target: Option<String>,
    /// From this time (inclusive, RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Until this time (exclusive, RFC 3339); after `since`.
    pub until: Option<DateTime<Utc>>,
}

/// A filter value (`audit::AuditQuery`): 1 to 100 letters, digits, `.`, `_`, `-` or `:`.
fn filter_token() -> Object {
    shape::trimmed("[A-Za-z0-9._:-]{1,100}", Some(200)).build()
}

fn micros<S: serde::Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// A CSV cell a spreadsheet will not run as a formula.
fn inert(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// Read the audit log, newest first.
#[utoipa::path(
    tag = "audit log",
    params(("org" = String, Path, description = ORG_PARAM), AuditListParams, PageParams<Seq>),
    responses((status = 200, body = AuditEventPage), Errors<AuditError>)
)]
#[get("/orgs/{org}/audit-log")]
pub async fn list_audit_log(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<AuditListParams>,
    page: PageParams<Seq>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    query.validate()?;
    let params = query.into_inner();
    let before = page.from.map(|seq| seq.0);
    let limit = i64::from(page.limit);
    let filter = AuditQuery {
        action: params.action,
        actor: params.actor,
        target: params.target,
        since: params.since,
        until: params.until,
    };
    let page = state.run(move |s| s.audit.list(&caller.0, &org, filter, before, limit)).await?;
    let data = page.events.into_iter().map(AuditEventResponse::from).collect();
    Ok(HttpResponse::Ok().json(AuditEventPage::new(data, page.next_before.map(Seq))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyParams {
    /// First record to check; the chain's start when absent. To continue a call that
    /// stopped at its limit, pass its `resume_from_seq`.
    #[param(minimum = 1)]
    pub from_seq: Option<i64>,
    /// Last record to check; the chain's head when absent.
    #[param(minimum = 1)]
    pub to_seq: Option<i64>,
    /// The most records to check in this call, 1 to 100000 (the default).
    #[param(minimum = 1, maximum = 100000)]
    pub limit: Option<i64>,
}

/// Where the chain breaks.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainBreakResponse {
    pub seq: i64,
    pub event_id: Option<String>,
    /// `hash_mismatch` (a record was altered), `prev_hash_mismatch` (records were
    /// re-linked), `gap` (a record is missing) or `truncated` (records were removed from
    /// the end).
    pub reason: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    /// No break was found in the range.
    pub ok: bool,
    #[schema(example = 42)]
    pub verified: u64,
    pub first_break: Option<ChainBreakResponse>,
    /// The chain's head at verification: keep it outside this service to detect a
    /// wholesale rewrite later.
    #[schema(example = 42)]
    pub head_seq: i64,
    #[schema(example = crate::openapi::example::sha256)]
    pub head_hash: String,
    /// The whole range was checked (or a break found). `false` when the call reached its
    /// limit: call again with `from_seq=resume_from_seq`.
    pub complete: bool,
    /// Where to continue: the last record this call checked, so the next call checks its
    /// link to the record after it.
    pub resume_from_seq: Option<i64>,
}

/// Recompute the hash chain and report the first record where it breaks.
///
/// One call checks at most `limit` records (100,000 by default, about a second of work);
/// when it stops before the end of the range, `complete` is `false` and `resume_from_seq`
/// says where the next call starts. A whole log is verified by calling again until
/// `complete` is `true`.
#[utoipa::path(
    tag = "audit log",
    params(("org" = String, Path, description = ORG_PARAM), VerifyParams),
    responses((status = 200, body = VerifyResponse), Errors<AuditError>)
)]
#[get("/orgs/{org}/audit-log/verify")]
pub async fn verify_audit_log(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<VerifyParams>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let range = VerifyRange { from_seq: query.from_seq, to_seq: query.to_seq, limit: query.limit };
    let report = state.run(move |s| s.audit.verify(&caller.0, &org, range)).await?;
    Ok(HttpResponse::Ok().json(VerifyResponse {
        ok: report.first_break.is_none(),
        verified: report.verified,
        first_break: report.first_break.map(|b| ChainBreakResponse {
            seq: b.seq,
            event_id: b.event_id,
            reason: b.kind.code(),
        }),
        head_seq: report.head_seq,
        head_hash: hex::encode(report.head_hash),
        complete: report.resume_from_seq.is_none(),
        resume_from_seq: report.resume_from_seq,
    }))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Ndjson,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `ndjson` (default) or `csv`.
    pub format: Option<ExportFormat>,
    /// From this time (inclusive, RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Until this time (exclusive, RFC 3339); after `since`.
    pub until: Option<DateTime<Utc>>,
}

const CSV_COLUMNS: [&str; 15] = [
    "seq",
    "id",
    "occurred_at",
    "action",
    "actor_type",
    "actor_id",
    "target_type",
    "target_id",
    "changes",
    "request_id",
    "client_ip",
    "user_agent",
    "org_id",
    "prev_hash",
    "hash",
];

fn encode(format: ExportFormat, events: &[AuditEvent], header: bool) -> Result<Bytes, ApiError> {
    let failed = |e: &dyn std::fmt::Display| ApiError::internal(format!("export encoding: {e}"));
    match format {
        ExportFormat::Ndjson => {
            let mut out = Vec::with_capacity(events.len() * 512);
            for event in events {
                let mut line = serde_json::to_value(AuditEventResponse::from(event.clone())).map_err(|e| failed(&e))?;
                line["org_id"] = Value::from(event.org_id.to_string());
                serde_json::to_writer(&mut out, &line).map_err(|e| failed(&e))?;
                out.push(b'\n');
            }
            Ok(Bytes::from(out))
        }
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::with_capacity(events.len() * 512));
            if header {
                writer.write_record(CSV_COLUMNS).map_err(|e| failed(&e))?;
            }
            for e in events {
                let text = |v: &Option<String>| v.clone().unwrap_or_default();
                let cells = [
                    e.seq.to_string(),
                    e.id.to_string(),
                    e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    e.action.clone(),
                    e.actor_type.clone(),
                    e.actor_id.clone(),
                    e.target_type.clone(),
                    e.target_id.clone(),
                    e.changes.to_string(),
                    text(&e.request_id),
                    e.client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
                    text(&e.user_agent),
                    e.org_id.to_string(),
                    hex::encode(e.prev_hash),
                    hex::encode(e.hash),
                ];
                writer.write_record(cells.map(inert)).map_err(|e| failed(&e))?;
            }
            writer.into_inner().map(Bytes::from).map_err(|e| failed(&e))
        }
    }
}

/// Export the log for a time range, oldest first, streamed: NDJSON (one record per line)
/// or CSV. Every record carries its chain hashes, so an export can be verified offline
/// (`docs/audit-log.md`).
#[utoipa::path(
    tag = "audit log",
    params(("org" = String, Path, description = ORG_PARAM), ExportParams),
    responses(
        (status = 200, description = "The records, streamed.", content((String = "application/x-ndjson"), (String = "text/csv"))),
        Errors<AuditError>,
    )
)]
#[get("/orgs/{org}/audit-log/export")]
pub async fn export_audit_log(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let params = query.into_inner();
    let format = params.format.unwrap_or_default();
    let query = AuditQuery { since: params.since, until: params.until, ..Default::default() };
    let caller = caller.0;
    // Planned, and the first batch read, before answering: refusals are proper problems.
    let (plan, first) = {
        let caller = caller.clone();
        state
            .run(move |s| {
                let plan = s.audit.export_plan(&caller, &org, query)?;
                let first = s.audit.export_batch(&caller, &plan, plan.start_after())?;
                Ok::<_, orgd_domain::audit::AuditError>((plan, first))
            })
            .await?
    };
    let body = encode(format, &first, true)?;
    let next_after = first.last().map(|e| e.seq);
    let rest = stream::unfold(next_after, move |after| {
        let (state, caller) = (state.clone(), caller.clone());
        async move {
            let after = after?;
            let batch = state.run(move |s| s.audit.export_batch(&caller, &plan, after)).await;
            match batch {
                Ok(events) if events.is_empty() => None,
                Ok(events) => {
                    let next = events.last().map(|e| e.seq);
                    Some((encode(format, &events, false).map_err(actix_web::Error::from), next))
                }
                Err(err) => Some((Err(actix_web::Error::from(err)), None)),
            }
        }
    });
    let content_type = match format {
        ExportFormat::Ndjson => "application/x-ndjson",
        ExportFormat::Csv => "text/csv; charset=utf-8",
    };
    let chunks = futures_util::StreamExt::chain(stream::once(async move { Ok::<_, actix_web::Error>(body) }), rest);
    Ok(HttpResponse::Ok().insert_header((header::CONTENT_TYPE, content_type)).streaming(chunks))
}
