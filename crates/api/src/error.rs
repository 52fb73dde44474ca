//! The one place errors become HTTP responses: RFC 9457 `application/problem+json` with a
//! stable machine `code`. Server-side causes go to the log, never to the client.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use domain::apikey::ApiKeyError;
use domain::audit::AuditError;
use domain::invite::InviteError;
use domain::member::MemberError;
use domain::org::OrgError;
use domain::role::RoleError;
use domain::team::TeamError;
use domain::{AccessError, Invalid, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:orgd:problem:<code>`.
    #[serde(rename = "type")]
    #[schema(example = "urn:orgd:problem:not_found")]
    pub type_: String,
    /// Short human summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Human explanation of this occurrence.
    pub detail: String,
    /// Stable machine-readable code; branch on this, not on `title` or `detail`.
    #[schema(example = "not_found")]
    pub code: String,
    /// The permission the caller lacks (403 `forbidden` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// Permissions the caller tried to hand out without holding them (403
    /// `escalation_denied` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_permissions: Vec<String>,
    /// Every rejected field (422 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// One rejected field of a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// Path of the field, e.g. `address.country`.
    pub field: String,
    /// Stable machine-readable code, e.g. `too_long`.
    pub code: String,
    pub message: String,
}

/// An error on its way to becoming a problem response. Boxed: it travels through every
/// handler's `Result`, and the happy path should not pay for its size.
#[derive(Debug)]
pub struct ApiError(Box<Details>);

#[derive(Debug)]
struct Details {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    permission: Option<String>,
    missing_permissions: Vec<String>,
    errors: Vec<FieldProblem>,
    /// Server-side cause, logged for 5xx.
    cause: Option<String>,
    challenge: bool,
    retry_after: Option<u32>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.0.status.as_u16(), self.0.code, self.0.detail)
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self(Box::new(Details {
            status,
            code,
            title,
            detail: detail.into(),
            permission: None,
            missing_permissions: Vec::new(),
            errors: Vec::new(),
            cause: None,
            challenge: false,
            retry_after: None,
        }))
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn code(&self) -> &'static str {
        self.0.code
    }

    fn with(mut self, change: impl FnOnce(&mut Details)) -> Self {
        change(&mut self.0);
        self
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad request", detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found", format!("{what} not found"))
    }

    /// 401 with a `WWW-Authenticate: Bearer` challenge.
    pub fn unauthenticated(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, "Unauthenticated", detail).with(|d| d.challenge = true)
    }

    pub fn validation(fields: impl IntoIterator<Item = FieldProblem>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "Validation failed",
            "the request has invalid fields",
        )
        .with(|d| d.errors = fields.into_iter().collect())
    }

    /// 422 for a request that is well-formed but breaks a rule.
    pub fn rule(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, "Rule violated", detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, "Conflict", detail)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, "precondition_failed", "Precondition failed", detail)
    }

    pub fn unavailable(cause: impl Into<String>) -> Self {
        let detail = "the service is temporarily unavailable; retry shortly";
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "Service unavailable", detail).with(|d| {
            d.cause = Some(cause.into());
            d.retry_after = Some(1);
        })
    }

    pub fn internal(cause: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Internal error", "an unexpected error occurred")
            .with(|d| d.cause = Some(cause.into()))
    }

    fn problem(&self) -> Problem {
        let d = &self.0;
        Problem {
            type_: format!("urn:orgd:problem:{}", d.code),
            title: d.title.to_owned(),
            status: d.status.as_u16(),
            detail: d.detail.clone(),
            code: d.code.to_owned(),
            permission: d.permission.clone(),
            missing_permissions: d.missing_permissions.clone(),
            errors: d.errors.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        let d = &self.0;
        if d.status.is_server_error() {
            tracing::error!(code = d.code, cause = d.cause.as_deref().unwrap_or(""), "request failed");
        }
        let mut response = HttpResponse::build(d.status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if d.challenge {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(seconds) = d.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        response.json(self.problem())
    }
}

impl From<AccessError> for ApiError {
    fn from(err: AccessError) -> Self {
        match err {
            AccessError::NotFound(what) => ApiError::not_found(what),
            AccessError::Forbidden { permission } => {
                let detail = format!("this requires the `{permission}` permission");
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
                    .with(|d| d.permission = Some(permission.to_owned()))
            }
            AccessError::NotAllowed(why) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", why),
            AccessError::Escalation { missing } => {
                let detail = format!("you cannot grant permissions you do not hold: {}", missing.join(", "));
                ApiError::new(StatusCode::FORBIDDEN, "escalation_denied", "Forbidden", detail)
                    .with(|d| d.missing_permissions = missing.iter().map(|p| (*p).to_owned()).collect())
            }
            AccessError::UserRequired => {
                ApiError::new(StatusCode::FORBIDDEN, "user_required", "Forbidden", err.to_string())
            }
            AccessError::OwnerRequired => {
                ApiError::new(StatusCode::FORBIDDEN, "owner_required", "Forbidden", err.to_string())
            }
            AccessError::Unauthenticated("expired") => {
                ApiError::unauthenticated("token_expired", "the API key has expired")
            }
            AccessError::Unauthenticated(why) => {
                ApiError::unauthenticated("invalid_token", format!("the API key is {why}"))
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(cause) | StoreError::Contention(cause) => ApiError::unavailable(cause),
            StoreError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError::validation(invalid.0.into_iter().map(|e| FieldProblem {
            field: e.field,
            code: e.code.to_owned(),
            message: e.message,
        }))
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        fn collect(prefix: &str, errors: &validator::ValidationErrors, out: &mut Vec<FieldProblem>) {
            for (field, kind) in errors.errors() {
                let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
                match kind {
                    validator::ValidationErrorsKind::Field(list) => out.extend(list.iter().map(|e| {
                        FieldProblem {
                            field: path.clone(),
                            code: e.code.to_string(),
                            message: e
                                .message
                                .as_ref()
                                .map_or_else(|| format!("`{path}` is invalid ({})", e.code), ToString::to_string),
                        }
                    })),
                    validator::ValidationErrorsKind::Struct(inner) => collect(&path, inner, out),
                    validator::ValidationErrorsKind::List(items) => {
                        for (index, inner) in items {
                            collect(&format!("{path}[{index}]"), inner, out);
                        }
                    }
                }
            }
        }
        let mut fields = Vec::new();
        collect("", &errors, &mut fields);
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        ApiError::validation(fields)
    }
}

impl From<OrgError> for ApiError {
    fn from(err: OrgError) -> Self {
        match err {
            OrgError::Access(e) => e.into(),
            OrgError::Invalid(e) => e.into(),
            OrgError::Store(e) => e.into(),
            OrgError::NameTaken => ApiError::conflict("org_name_taken", "another organization already has this name"),
            OrgError::SlugTaken => ApiError::conflict("org_slug_taken", "another organization already has this slug"),
            OrgError::VersionMismatch { .. } => {
                ApiError::precondition_failed(format!("{err}; fetch it again and retry"))
            }
        }
    }
}

impl From<MemberError> for ApiError {
    fn from(err: MemberError) -> Self {
        match err {
            MemberError::Access(e) => e.into(),
            MemberError::Invalid(e) => e.into(),
            MemberError::Store(e) => e.into(),
            MemberError::LastOwner => ApiError::conflict("last_owner", err.to_string()),
            MemberError::UnknownRole(_) => ApiError::rule("unknown_role", err.to_string()),
        }
    }
}

impl From<RoleError> for ApiError {
    fn from(err: RoleError) -> Self {
        match err {
            RoleError::Access(e) => e.into(),
            RoleError::Invalid(e) => e.into(),
            RoleError::Store(e) => e.into(),
            RoleError::KeyTaken => ApiError::conflict("role_key_taken", err.to_string()),
            RoleError::InUse { .. } => ApiError::conflict("role_in_use", err.to_string()),
            RoleError::ReservedKey => ApiError::rule("reserved_role_key", err.to_string()),
            RoleError::TooManyRoles(_) => ApiError::rule("too_many_roles", err.to_string()),
            RoleError::UnknownRole(_) => ApiError::rule("unknown_role", err.to_string()),
        }
    }
}

impl From<ApiKeyError> for ApiError {
    fn from(err: ApiKeyError) -> Self {
        match err {
            ApiKeyError::Access(e) => e.into(),
            ApiKeyError::Invalid(e) => e.into(),
            ApiKeyError::Store(e) => e.into(),
        }
    }
}

impl From<TeamError> for ApiError {
    fn from(err: TeamError) -> Self {
        match err {
            TeamError::Access(e) => e.into(),
            TeamError::Invalid(e) => e.into(),
            TeamError::Store(e) => e.into(),
            TeamError::NameTaken => ApiError::conflict("team_name_taken", err.to_string()),
            TeamError::AlreadyInTeam => ApiError::conflict("already_in_team", err.to_string()),
        }
    }
}

impl From<AuditError> for ApiError {
    fn from(err: AuditError) -> Self {
        match err {
            AuditError::Access(e) => e.into(),
            AuditError::Invalid(e) => e.into(),
            AuditError::Store(e) => e.into(),
        }
    }
}

impl From<InviteError> for ApiError {
    fn from(err: InviteError) -> Self {
        let gone = |code| ApiError::new(StatusCode::GONE, code, "Gone", err.to_string());
        match &err {
            InviteError::Access(e) => e.clone().into(),
            InviteError::Invalid(e) => e.clone().into(),
            InviteError::Store(e) => e.clone().into(),
            InviteError::OwnerRole => ApiError::rule("owner_not_invitable", err.to_string()),
            InviteError::UnknownRole(_) => ApiError::rule("unknown_role", err.to_string()),
            InviteError::NotAnEmailInvite => ApiError::rule("not_an_email_invite", err.to_string()),
            InviteError::Expired => gone("invite_expired"),
            InviteError::Revoked => gone("invite_revoked"),
            InviteError::Exhausted => gone("invite_exhausted"),
            InviteError::NoLongerValid => gone("invite_invalid"),
            InviteError::EmailMismatch => {
                ApiError::new(StatusCode::FORBIDDEN, "invite_email_mismatch", "Forbidden", err.to_string())
            }
            InviteError::AlreadyMember => ApiError::conflict("already_member", err.to_string()),
            InviteError::ResendTooSoon { retry_after_secs } => {
                let wait = *retry_after_secs;
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "resend_too_soon", "Too many requests", err.to_string())
                    .with(|d| d.retry_after = Some(wait))
            }
        }
    }
}
