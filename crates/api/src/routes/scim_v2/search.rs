//! `POST /.search` (RFC 7644 §3.4.3): a listing whose parameters travel in the body, over
//! every resource type at the root, or over one type at `/Users/.search`, `/Groups/.search`.

use actix_web::{post, web, HttpResponse};
use orgd_domain::scim::ListQuery;
use serde::Deserialize;
use serde_json::Value;
use utoipa_actix_web::service_config::ServiceConfig;

use super::bodies::SearchRequest;
use super::examples;
use super::http::{check_filter, list_response, run, ScimApiError, ScimBody, ScimCaller, ScimErrorBody};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(search_all).service(search_users).service(search_groups);
}

/// A SearchRequest message; `attributes` and `excludedAttributes` are lists.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SearchBody {
    filter: Option<String>,
    /// Integers; JSON may also write them with a fraction of zero (`10.0`).
    start_index: Option<serde_json::Number>,
    count: Option<serde_json::Number>,
    attributes: Option<Vec<String>>,
    excluded_attributes: Option<Vec<String>>,
}

/// An integer of 64 bits, also written with a fraction of zero (`10.0`). JSON read as a
/// float is exact up to 2^53 only: past that, it is refused rather than rounded into range.
fn integer(name: &str, number: Option<serde_json::Number>) -> Result<Option<i64>, ScimApiError> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    let Some(number) = number else { return Ok(None) };
    if let Some(n) = number.as_i64() {
        return Ok(Some(n));
    }
    match number.as_f64() {
        #[allow(clippy::cast_possible_truncation)]
        Some(f) if number.is_f64() && f.fract() == 0.0 && f.abs() <= EXACT => Ok(Some(f as i64)),
        _ => Err(ScimApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            format!("`{name}` is an integer of 64 bits"),
        )),
    }
}

fn query(body: Value) -> Result<ListQuery, ScimApiError> {
    let invalid =
        |detail: String| ScimApiError::new(actix_web::http::StatusCode::BAD_REQUEST, Some("invalidSyntax"), detail);
    // serde would also read a struct from a JSON array.
    if !body.is_object() {
        return Err(invalid("a SearchRequest is a JSON object".into()));
    }
    let request: SearchBody = serde_json::from_value(body).map_err(|e| invalid(format!("not a SearchRequest: {e}")))?;
    check_filter(request.filter.as_deref())?;
    Ok(ListQuery {
        filter: request.filter,
        start_index: integer("startIndex", request.start_index)?,
        count: integer("count", request.count)?,
        attributes: request.attributes.map(|a| a.join(",")),
        excluded_attributes: request.excluded_attributes.map(|a| a.join(",")),
    })
}

/// Search Users and Groups at once.
#[utoipa::path(
    tag = "scim-protocol",
    request_body(content = SearchRequest, content_type = "application/scim+json", description = "A SearchRequest message: `filter`, `startIndex`, `count`, `attributes`, `excludedAttributes`.", example = examples::search_request),
    responses(
        (status = 200, description = "A ListResponse of Users, then Groups.", content_type = "application/scim+json", body = Object, example = json!(examples::search_results())),
        (status = 400, description = "`invalidSyntax`, `invalidFilter`, `invalidPath` or `invalidValue`.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 413, description = "The body is larger than 4 MiB.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[post("/.search")]
pub async fn search_all(
    state: web::Data<AppState>,
    caller: ScimCaller,
    body: ScimBody,
) -> Result<HttpResponse, ScimApiError> {
    let query = query(body.0)?;
    Ok(list_response(run(&state, move |s| s.directory.search_all(&caller.0, &query)).await?))
}

/// Search Users.
#[utoipa::path(
    tag = "scim-protocol",
    request_body(content = SearchRequest, content_type = "application/scim+json", description = "A SearchRequest message.", example = examples::search_request),
    responses(
        (status = 200, description = "A ListResponse of Users.", content_type = "application/scim+json", body = Object, example = json!(examples::user_list())),
        (status = 400, description = "`invalidSyntax`, `invalidFilter`, `invalidPath` or `invalidValue`.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 413, description = "The body is larger than 4 MiB.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[post("/Users/.search")]
pub async fn search_users(
    state: web::Data<AppState>,
    caller: ScimCaller,
    body: ScimBody,
) -> Result<HttpResponse, ScimApiError> {
    let query = query(body.0)?;
    Ok(list_response(run(&state, move |s| s.directory.list_users(&caller.0, &query)).await?))
}

/// Search Groups.
#[utoipa::path(
    tag = "scim-protocol",
    request_body(content = SearchRequest, content_type = "application/scim+json", description = "A SearchRequest message.", example = examples::search_request),
    responses(
        (status = 200, description = "A ListResponse of Groups.", content_type = "application/scim+json", body = Object, example = json!(examples::group_list())),
        (status = 400, description = "`invalidSyntax`, `invalidFilter`, `invalidPath` or `invalidValue`.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 413, description = "The body is larger than 4 MiB.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[post("/Groups/.search")]
pub async fn search_groups(
    state: web::Data<AppState>,
    caller: ScimCaller,
    body: ScimBody,
) -> Result<HttpResponse, ScimApiError> {
    let query = query(body.0)?;
    Ok(list_response(run(&state, move |s| s.directory.list_groups(&caller.0, &query)).await?))
}
