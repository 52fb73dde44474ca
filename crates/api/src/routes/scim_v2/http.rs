//! What every SCIM route shares: the token, the body, the query, and SCIM responses.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt;
use orgd_domain::scim::{ListQuery, ListResponse, ScimContext, ScimFault, ScimResource};
use orgd_domain::token::ScimToken;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::{SCIM_JSON, SCIM_ROOT};
use crate::auth::request_meta;
use crate::error::ApiError;
use crate::state::{AppState, Services};

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The largest request body, in bytes: a group's whole member list fits.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// A refused SCIM request, answered as a SCIM Error message.
#[derive(Debug)]
pub struct ScimApiError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
    /// Server-side cause of a 5xx, for the log only.
    cause: Option<String>,
    /// The methods the path answers, for the `Allow` of a 405.
    allow: Vec<&'static str>,
}

impl ScimApiError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self { status, scim_type, detail: detail.into(), cause: None, allow: Vec::new() }
    }
}

impl std::fmt::Display for ScimApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl From<ScimFault> for ScimApiError {
    fn from(fault: ScimFault) -> Self {
        let status = StatusCode::from_u16(fault.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match &fault {
            ScimFault::Store(e) => Self {
                status,
                scim_type: None,
                detail: if status == StatusCode::SERVICE_UNAVAILABLE {
                    "the database is unreachable or saturated; retry later".into()
                } else {
                    "a fault on the server; details are in its log under the request id".into()
                },
                cause: Some(e.to_string()),
                allow: Vec::new(),
            },
            _ => Self::new(status, fault.scim_type(), fault.to_string()),
        }
    }
}

impl From<ApiError> for ScimApiError {
    fn from(err: ApiError) -> Self {
        Self {
            status: err.status(),
            scim_type: None,
            detail: err.detail().to_owned(),
            cause: err.cause().map(str::to_owned),
            allow: Vec::new(),
        }
    }
}

impl ResponseError for ScimApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.cause {
            tracing::error!(status = self.status.as_u16(), cause = %cause, "SCIM request failed");
        }
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        let mut response = HttpResponse::build(self.status);
        response.content_type(SCIM_JSON);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"scim\""));
        }
        if self.status == StatusCode::METHOD_NOT_ALLOWED && !self.allow.is_empty() {
            response.insert_header((header::ALLOW, self.allow.join(", ")));
        }
        response.body(body.to_string())
    }
}

/// The SCIM Error message, as documented.
#[derive(Debug, serde::Serialize, ToSchema)]
#[schema(example = json!({"schemas": [ERROR_SCHEMA], "status": "409", "scimType": "uniqueness", "detail": "another member of this organization has userName `ada@example.com`"}))]
pub struct ScimErrorBody {
    pub schemas: Vec<String>,
    /// The HTTP status, as a string.
    pub status: String,
    /// RFC 7644 table 9: `uniqueness`, `invalidFilter`, `invalidPath`, `invalidValue`,
    /// `invalidSyntax`, `mutability`, `noTarget`, `tooMany`.
    #[serde(rename = "scimType")]
    pub scim_type: Option<String>,
    pub detail: String,
}

/// Unmatched `/scim/v2` paths and methods, answered in SCIM.
pub fn scim_no_route(allowed: Option<Vec<&'static str>>, method: &str) -> ScimApiError {
    match allowed {
        Some(allowed) if !allowed.contains(&method) => ScimApiError {
            allow: allowed.clone(),
            ..ScimApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                format!("this endpoint answers {} only", allowed.join(", ")),
            )
        },
        _ => ScimApiError::new(StatusCode::NOT_FOUND, None, "no such SCIM endpoint or resource"),
    }
}

/// The caller of a SCIM route: the presented token (checked by the use case, inside its
/// transaction) and where the request came from.
pub struct ScimCaller(pub ScimContext);

impl FromRequest for ScimCaller {
    type Error = ScimApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(scim_caller(req))
    }
}

fn scim_caller(req: &HttpRequest) -> Result<ScimCaller, ScimApiError> {
    let unauthorized = |detail: &str| ScimApiError::new(StatusCode::UNAUTHORIZED, None, detail);
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ScimApiError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "application state missing"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("send the organization's SCIM token: `Authorization: Bearer orgs_…`"))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(unauthorized("send the organization's SCIM token: `Authorization: Bearer orgs_…`")),
    };
    let token = ScimToken::parse(token).map_err(|_| unauthorized("this is not a well-formed SCIM token (`orgs_…`)"))?;
    let info = req.connection_info();
    let base_url = format!("{}://{}{SCIM_ROOT}", info.scheme(), info.host());
    Ok(ScimCaller(ScimContext {
        token_hashes: token.lookup_hashes(state.hasher()),
        meta: request_meta(req, state.trust_forwarded_for()),
        base_url,
    }))
}

/// A JSON request body, whatever its declared media type; a body that is not JSON is a
/// SCIM `invalidSyntax`.
pub struct ScimBody(pub Value);

impl FromRequest for ScimBody {
    type Error = ScimApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(_: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mut payload = payload.take();
        Box::pin(async move {
            let mut bytes = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| ScimApiError::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), e.to_string()))?;
                if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(ScimApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        None,
                        format!("the body is larger than {} MiB", MAX_BODY_BYTES >> 20),
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            serde_json::from_slice(&bytes).map(ScimBody).map_err(|e| {
                ScimApiError::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), format!("the body is not JSON: {e}"))
            })
        })
    }
}

/// The longest filter, in characters.
pub const MAX_FILTER_CHARS: usize = 4096;

/// Query parameters of a listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A SCIM filter (RFC 7644 §3.4.2.2), e.g. `userName eq "ada@example.com"`, of at most
    /// 4096 characters; one that does not parse is `invalidFilter`.
    #[param(max_length = 4096)]
    pub filter: Option<String>,
    /// 1-based index of the first result; below 1 reads as 1.
    #[serde(rename = "startIndex")]
    #[param(rename = "startIndex", value_type = Option<i64>, format = Int64)]
    pub start_index: Option<String>,
    /// Results per page: 100 by default, at most 1000; a negative value reads as 0.
    #[param(value_type = Option<i64>, format = Int64)]
    pub count: Option<String>,
    /// Only these attributes (comma-separated attribute paths, e.g. `userName,name.givenName`),
    /// with those always returned; a path that does not parse is `invalidPath`.
    pub attributes: Option<String>,
    /// All attributes but these (comma-separated attribute paths).
    #[serde(rename = "excludedAttributes")]
    #[param(rename = "excludedAttributes")]
    pub excluded_attributes: Option<String>,
}

/// Refuses a filter longer than [`MAX_FILTER_CHARS`].
pub fn check_filter(filter: Option<&str>) -> Result<(), ScimApiError> {
    match filter {
        Some(f) if f.chars().count() > MAX_FILTER_CHARS => Err(ScimApiError::new(
            StatusCode::BAD_REQUEST,
            Some("invalidFilter"),
            format!("a filter has at most {MAX_FILTER_CHARS} characters"),
        )),
        _ => Ok(()),
    }
}

/// Attribute selection of a single resource.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttributeParams {
    /// Only these attributes (comma-separated attribute paths, e.g. `userName,name.givenName`),
    /// with those always returned; a path that does not parse is `invalidPath`.
    pub attributes: Option<String>,
    /// All attributes but these (comma-separated attribute paths).
    #[serde(rename = "excludedAttributes")]
    #[param(rename = "excludedAttributes")]
    pub excluded_attributes: Option<String>,
}

fn integer(name: &str, raw: Option<&str>) -> Result<Option<i64>, ScimApiError> {
    raw.map(|v| {
        v.trim().parse::<i64>().map_err(|_| {
            ScimApiError::new(StatusCode::BAD_REQUEST, Some("invalidValue"), format!("`{name}` is an integer"))
        })
    })
    .transpose()
}

impl ListParams {
    pub fn into_query(self) -> Result<ListQuery, ScimApiError> {
        check_filter(self.filter.as_deref())?;
        Ok(ListQuery {
            start_index: integer("startIndex", self.start_index.as_deref())?,
            count: integer("count", self.count.as_deref())?,
            filter: self.filter,
            attributes: self.attributes,
            excluded_attributes: self.excluded_attributes,
        })
    }
}

/// A query string that does not parse (a repeated or malformed parameter).
pub fn query_error(err: impl std::fmt::Display) -> ScimApiError {
    ScimApiError::new(StatusCode::BAD_REQUEST, Some("invalidValue"), format!("the query string is malformed: {err}"))
}

/// Runs a SCIM use case off the async executor.
pub async fn run<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Services) -> Result<T, ScimFault> + Send + 'static,
) -> Result<T, ScimApiError> {
    Ok(state.blocking(work).await??)
}

fn scim_json(status: StatusCode) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder.content_type(SCIM_JSON);
    builder
}

/// A resource, with its version as `ETag` (and its address as `Location` when created).
pub fn resource_response(status: StatusCode, resource: ScimResource, body: Value) -> HttpResponse {
    let mut builder = scim_json(status);
    builder.insert_header((header::ETAG, resource.version));
    if status == StatusCode::CREATED {
        builder.insert_header((header::LOCATION, resource.location));
    }
    builder.body(body.to_string())
}

pub fn list_response(page: ListResponse) -> HttpResponse {
    scim_json(StatusCode::OK).body(page.to_json().to_string())
}

pub fn static_response(body: Value) -> HttpResponse {
    scim_json(StatusCode::OK).body(body.to_string())
}

/// The `If-Match` of a write, if any.
pub fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers().get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned)
}
