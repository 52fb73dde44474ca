//! The event feed: `/v1/orgs/{org}/events`.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::events::{Event, EventCursor, EventError};
use orgd_domain::org::OrgRef;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::audit::{FieldChange, Party};
use super::common::{encode_cursor, path_id, CursorKey, PageParams, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::Errors;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_events);
}

/// A place in an organization's event feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedSeq(pub i64);

impl CursorKey for FeedSeq {
    const KIND: u8 = 5;
    // 9 bytes: `B` and one of `Q`–`f` spell the kind byte 5.
    const PATTERN: &'static str = "^B[Q-Za-f][A-Za-z0-9_-]{10}$";

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
    }

    fn read(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(|b| FeedSeq(i64::from_be_bytes(b)))
    }
}

/// Something that changed in the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResponse {
    /// The change's id, also its audit record's id and its webhooks' `webhook-id`.
    #[schema(example = "evt_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    /// What happened, e.g. `organization.membership.created`, `team.updated`,
    /// `policy.security.updated`, `spend.threshold_crossed`.
    #[serde(rename = "type")]
    #[schema(example = "organization.membership.created")]
    pub event_type: String,
    #[schema(example = crate::openapi::example::at)]
    pub occurred_at: DateTime<Utc>,
    #[schema(value_type = EventData)]
    pub data: serde_json::Value,
}

/// What an event carries, so that a consumer never needs a second call to know who or what
/// changed: the ids involved and the fields changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventData {
    #[schema(example = crate::openapi::example::org)]
    pub organization_id: String,
    /// What changed: `type` (`member`, `team`, `role`, …) and `id`.
    pub object: Party,
    /// Who changed it: `type` (`user`, `api_key`, `scim`, `system` or `staff`) and `id`.
    pub actor: Party,
    /// Each changed field's `from` and `to`, never a secret.
    #[schema(value_type = BTreeMap<String, FieldChange>, example = crate::openapi::example::role_change)]
    pub changes: serde_json::Value,
    /// The audit log's name for the change.
    #[schema(example = "member.role_changed")]
    pub action: String,
}

impl From<Event> for EventResponse {
    fn from(e: Event) -> Self {
        Self { id: e.id.to_string(), event_type: e.event_type, occurred_at: e.occurred_at, data: e.data }
    }
}

/// A page of the feed, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventFeed {
    pub data: Vec<EventResponse>,
    /// Pass as `cursor` to read on from here; it stays the same while nothing new happened,
    /// so a reader polls with it. `null` only while the feed holds nothing for the reader.
    pub next_cursor: Option<String>,
}

/// The longest `types` filter.
const MAX_TYPES_CHARS: usize = 5100;

/// Which events.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TypesParam {
    /// Comma-separated event types, or prefixes of them ending in `.*` (e.g.
    /// `organization.membership.*,team.*`); all types when absent. What names no type
    /// matches nothing.
    #[param(max_length = 5100)]
    pub types: Option<String>,
}

/// The organization's events after `cursor`, oldest first, kept 30 days (`events:read`):
/// for reconciliation and for consumers that would rather pull than receive webhooks.
#[utoipa::path(
    tag = "events",
    params(("org" = String, Path, description = ORG_PARAM), TypesParam, PageParams<FeedSeq>),
    responses((status = 200, body = EventFeed), Errors<EventError>)
)]
#[get("/orgs/{org}/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    page: PageParams<FeedSeq>,
    types: web::Query<TypesParam>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let types = types.into_inner().types.unwrap_or_default();
    if types.chars().count() > MAX_TYPES_CHARS {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`types` is longer than {MAX_TYPES_CHARS} characters"),
        ));
    }
    let types: Vec<String> = types.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect();
    let after = page.from.map(|FeedSeq(seq)| EventCursor(seq));
    let limit = page.limit;
    let (events, next) = state.run(move |s| s.events.list(&caller.0, &org, after, &types, limit)).await?;
    Ok(HttpResponse::Ok().json(EventFeed {
        data: events.into_iter().map(EventResponse::from).collect(),
        next_cursor: next.map(|EventCursor(seq)| encode_cursor(&FeedSeq(seq))),
    }))
}
