//! The one place errors become HTTP responses: RFC 9457 `application/problem+json` with a
//! stable machine `code`. Server-side causes go to the log (the request's line, see
//! `telemetry`), never to the client.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use orgd_domain::apikey::ApiKeyError;
use orgd_domain::audit::AuditError;
use orgd_domain::dashboard::DashboardError;
use orgd_domain::events::EventError;
use orgd_domain::idempotency::{IdempotencyError, InvalidIdempotencyKey};
use orgd_domain::invite::InviteError;
use orgd_domain::join::JoinError;
use orgd_domain::llm::LlmError;
use orgd_domain::member::MemberError;
use orgd_domain::notification::NotificationError;
use orgd_domain::org::OrgError;
use orgd_domain::platform::PlatformError;
use orgd_domain::policy::{LockoutRefusal, MfaError, PolicyError, PolicyRefusal};
use orgd_domain::role::RoleError;
use orgd_domain::scim::ScimError;
use orgd_domain::spend::SpendError;
use orgd_domain::sso::SsoError;
use orgd_domain::team::TeamError;
use orgd_domain::verified_domain::DomainError;
use orgd_domain::webhooks::WebhookError;
use orgd_domain::{AccessError, Invalid, StoreError};
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
    /// The methods the path answers (405 only).
    allow: Option<String>,
    /// The organization's security policy refused the caller; `code` says which rule.
    refused_by_policy: bool,
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
            allow: None,
            refused_by_policy: false,
        }))
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn code(&self) -> &'static str {
        self.0.code
    }

    /// The problem's code when the organization's security policy refused the caller
    /// (`mfa_required`, `ip_not_allowed`, …).
    pub fn policy_refusal(&self) -> Option<&'static str> {
        self.0.refused_by_policy.then_some(self.0.code)
    }

    /// What went wrong, for the client.
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The server-side cause of a 5xx, for the request's log line (never sent to the client).
    pub fn cause(&self) -> Option<&str> {
        self.0.cause.as_deref()
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

    /// 405 for a method `path` does not answer, naming those it does.
    pub fn method_not_allowed(allowed: &[&str]) -> Self {
        let detail = format!("this path answers {}", allowed.join(", "));
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed", detail)
            .with(|d| d.allow = Some(allowed.join(", ")))
    }

    /// 429: a rate limit ([`crate::rate_limit`]) refused the request; the middleware adds
    /// `Retry-After` and `RateLimit`.
    pub fn rate_limited(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests", detail)
    }

    /// 408: the body did not arrive within the client timeout ([`crate::client_timeout`]).
    pub fn request_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "Request timeout",
            "the body did not arrive within the client timeout; send it faster",
        )
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, "Conflict", detail)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, "precondition_failed", "Precondition failed", detail)
    }

    /// 428: a write that must name the version it is based on did not.
    pub fn precondition_required(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_REQUIRED, "if_match_required", "Precondition required", detail)
    }

    /// The server itself cannot take the request now (its worker pool is gone or full).
    pub fn saturated(cause: impl Into<String>) -> Self {
        StoreError::Contention(cause.into()).into()
    }

    pub fn internal(cause: impl Into<String>) -> Self {
        StoreError::Internal(cause.into()).into()
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
        let mut response = HttpResponse::build(d.status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if d.challenge {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(methods) = d.allow.as_deref().and_then(|m| HeaderValue::from_str(m).ok()) {
            response.insert_header((header::ALLOW, methods));
        }
        if let Some(seconds) = d.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        response.json(self.problem())
    }
}

/// One problem an error can become: the status and stable code a client sees, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemDoc {
    pub status: StatusCode,
    pub code: &'static str,
    /// When the problem happens, as the OpenAPI document says it.
    pub when: &'static str,
}

/// An error type whose every problem is known, so that a route documents the problems its
/// use case can produce from the type rather than from a hand-kept list
/// ([`crate::openapi::Errors`]).
pub trait Documented {
    /// Every (status, code) the error's conversion into [`ApiError`] can produce.
    fn problems() -> Vec<ProblemDoc>;
}

/// Declares how an error type becomes problems as one table, from which both
/// `From<error> for ApiError` and its [`Documented`] list are generated: the mapping and the
/// documentation cannot disagree. A row is `pattern => STATUS "code" "Title", "when", detail`
/// and optionally `, |d| …` to add members or headers to the problem.
///
/// `use case` errors also hold the shared `Access`, `Invalid` and `Store` variants, which
/// map as those errors do.
macro_rules! problems {
    (use case $error:ident as $err:ident { $($rows:tt)* }) => {
        problems!(@emit $error, $err, [AccessError, Invalid, StoreError], {
            $error::Access(e) => ApiError::from(e),
            $error::Invalid(e) => ApiError::from(e),
            $error::Store(e) => ApiError::from(e),
        }, $($rows)*);
    };
    (shared $error:ident as $err:ident { $($rows:tt)* }) => {
        problems!(@emit $error, $err, [], {}, $($rows)*);
    };
    (@emit $error:ident, $err:ident, [$($shared:ty),*], { $($delegations:tt)* },
        $($pattern:pat => $status:ident $code:literal $title:literal, $when:literal, $detail:expr $(, $change:expr)?;)*
    ) => {
        impl From<$error> for ApiError {
            fn from($err: $error) -> Self {
                match $err {
                    $($delegations)*
                    $($pattern => ApiError::new(StatusCode::$status, $code, $title, $detail)$(.with($change))?,)*
                }
            }
        }

        impl Documented for $error {
            fn problems() -> Vec<ProblemDoc> {
                let own = vec![$(ProblemDoc { status: StatusCode::$status, code: $code, when: $when }),*];
                own.into_iter()$(.chain(<$shared as Documented>::problems()))*.collect()
            }
        }
    };
}

problems! {
    shared AccessError as err {
        AccessError::NotFound(what) => NOT_FOUND "not_found" "Not found",
            "no such resource for this caller, including any resource of another organization",
            format!("{what} not found");
        AccessError::Forbidden { permission } => FORBIDDEN "forbidden" "Forbidden",
            "the caller lacks the permission named in `permission`, or a rule not about permissions forbids it",
            format!("this requires the `{permission}` permission"),
            |d| d.permission = Some(permission.to_owned());
        AccessError::NotAllowed(why) => FORBIDDEN "forbidden" "Forbidden",
            "the caller lacks the permission named in `permission`, or a rule not about permissions forbids it",
            why;
        AccessError::Escalation { missing } => FORBIDDEN "escalation_denied" "Forbidden",
            "the change would grant the `missing_permissions` the caller lacks",
            format!("you cannot grant permissions you do not hold: {}", missing.join(", ")),
            |d| d.missing_permissions = missing.iter().map(|p| (*p).to_owned()).collect();
        AccessError::UserRequired => FORBIDDEN "user_required" "Forbidden",
            "an API key may not do this; only a person may",
            err.to_string();
        AccessError::OwnerRequired => FORBIDDEN "owner_required" "Forbidden",
            "only an owner, signed in as a person, may make, unmake, remove or transfer an owner",
            err.to_string();
        AccessError::Policy(refusal @ PolicyRefusal::IpNotAllowed { .. }) => FORBIDDEN "ip_not_allowed" "Refused by policy",
            "the organization's IP allowlist does not include the client's address",
            refusal.detail(),
            |d| d.refused_by_policy = true;
        AccessError::Policy(refusal @ PolicyRefusal::MfaRequired { .. }) => FORBIDDEN "mfa_required" "Refused by policy",
            "the organization enforces two-factor authentication (or a recent second factor) and this sign-in did not prove one",
            refusal.detail(),
            |d| d.refused_by_policy = true;
        AccessError::Policy(refusal @ PolicyRefusal::SignInMethodNotAllowed { .. }) => FORBIDDEN "sign_in_method_not_allowed" "Refused by policy",
            "the organization does not allow the method the caller signed in with",
            refusal.detail(),
            |d| d.refused_by_policy = true;
        AccessError::Policy(refusal @ PolicyRefusal::SessionTooOld { .. }) => FORBIDDEN "session_too_old" "Refused by policy",
            "the caller signed in longer ago than the organization's maximum session age",
            refusal.detail(),
            |d| d.refused_by_policy = true;
        AccessError::Policy(refusal @ PolicyRefusal::SsoRequired { .. }) => FORBIDDEN "sso_required" "Refused by policy",
            "the caller's verified email is in a verified domain of the organization, which enforces its SSO, and they signed in another way",
            refusal.detail(),
            |d| d.refused_by_policy = true;
        AccessError::MembershipSuspended => FORBIDDEN "membership_suspended" "Forbidden",
            "the caller's membership is suspended: the organization's identity provider deactivated it",
            err.to_string();
        AccessError::FeatureNotInPlan { feature, plan } => FORBIDDEN "feature_not_in_plan" "Forbidden",
            "the organization's plan does not include the feature whose settings were written",
            format!("the `{plan}` plan does not include `{feature}`; reading its settings stays possible");
        AccessError::Unauthenticated("expired") => UNAUTHORIZED "token_expired" "Unauthenticated",
            "the credential has expired",
            "the API key has expired",
            |d| d.challenge = true;
        AccessError::Unauthenticated(why) => UNAUTHORIZED "invalid_token" "Unauthenticated",
            "the credential is malformed, unknown or revoked",
            format!("the API key is {why}"),
            |d| d.challenge = true;
    }
}

/// What a client reads when the service cannot serve it for now.
const UNAVAILABLE_DETAIL: &str = "the service is temporarily unavailable; retry shortly";

problems! {
    shared StoreError as err {
        StoreError::Unavailable(cause) => SERVICE_UNAVAILABLE "database_unavailable" "Service unavailable",
            "the database cannot be reached for now (restarting, connections lost, every connection busy): retry after `Retry-After`",
            UNAVAILABLE_DETAIL,
            |d| { d.cause = Some(cause); d.retry_after = Some(1); };
        StoreError::Contention(cause) => SERVICE_UNAVAILABLE "service_unavailable" "Service unavailable",
            "the request lost a conflict with concurrent ones (a deadlock or serialization failure) or the server is saturated: retry after `Retry-After`",
            UNAVAILABLE_DETAIL,
            |d| { d.cause = Some(cause); d.retry_after = Some(1); };
        StoreError::Internal(cause) => INTERNAL_SERVER_ERROR "internal_error" "Internal error",
            "a fault on the server; details are in its log under the request id",
            "an unexpected error occurred",
            |d| d.cause = Some(cause);
    }
}

impl Documented for Invalid {
    fn problems() -> Vec<ProblemDoc> {
        vec![VALIDATION_FAILED]
    }
}

/// Every rejected field is listed in `errors`.
pub const VALIDATION_FAILED: ProblemDoc = ProblemDoc {
    status: StatusCode::UNPROCESSABLE_ENTITY,
    code: "validation_failed",
    when: "fields of the request are invalid; `errors` lists every one",
};

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

problems! {
    use case OrgError as err {
        OrgError::NameTaken => CONFLICT "org_name_taken" "Conflict",
            "another organization has this name",
            "another organization already has this name";
        OrgError::SlugTaken => CONFLICT "org_slug_taken" "Conflict",
            "another organization has this slug",
            "another organization already has this slug";
        OrgError::VersionMismatch { .. } => PRECONDITION_FAILED "precondition_failed" "Precondition failed",
            "the organization changed since the `If-Match` version",
            format!("{err}; fetch it again and retry");
    }
}

problems! {
    use case PolicyError as err {
        PolicyError::VersionMismatch { .. } => PRECONDITION_FAILED "precondition_failed" "Precondition failed",
            "the policy changed since the `If-Match` version",
            format!("{err}; fetch it again and retry");
        PolicyError::Lockout(LockoutRefusal::Caller(_)) => CONFLICT "would_lock_out_caller" "Conflict",
            "the change would refuse the caller's own next request; preview it with `dry_run=true`, apply it with `force=true`",
            err.to_string();
        PolicyError::Lockout(LockoutRefusal::EveryOwner) => CONFLICT "would_lock_out_every_owner" "Conflict",
            "the change would keep every owner out, so nobody could undo it",
            err.to_string();
    }
}

problems! {
    use case MfaError as err {}
}

problems! {
    use case LlmError as err {
        LlmError::VersionMismatch { .. } => PRECONDITION_FAILED "precondition_failed" "Precondition failed",
            "the LLM policy changed since the `If-Match` version",
            format!("{err}; fetch it again and retry");
    }
}

problems! {
    use case SpendError as err {
        SpendError::VersionMismatch { .. } => PRECONDITION_FAILED "precondition_failed" "Precondition failed",
            "the spend limits changed since the `If-Match` version",
            format!("{err}; fetch them again and retry");
        SpendError::IdempotencyKeyReused => UNPROCESSABLE_ENTITY "idempotency_key_reused" "Unprocessable entity",
            "the idempotency key was used before for an event with another amount, model, feature or time",
            format!("{err}; use a new key for a new event");
    }
}

impl From<IdempotencyError> for ApiError {
    fn from(err: IdempotencyError) -> Self {
        match err {
            IdempotencyError::InFlight => {
                ApiError::conflict("idempotency_key_in_flight", err.to_string()).with(|d| d.retry_after = Some(1))
            }
            IdempotencyError::Reused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Unprocessable entity",
                err.to_string(),
            ),
            IdempotencyError::Store(e) => e.into(),
        }
    }
}

impl From<InvalidIdempotencyKey> for ApiError {
    fn from(err: InvalidIdempotencyKey) -> Self {
        ApiError::bad_request("invalid_idempotency_key", err.to_string())
    }
}

impl From<DashboardError> for ApiError {
    fn from(err: DashboardError) -> Self {
        match err {
            DashboardError::Access(e) => e.into(),
            DashboardError::Store(e) => e.into(),
        }
    }
}

/// Reading the dashboard validates no input: it fails only as entering and storage do.
impl Documented for DashboardError {
    fn problems() -> Vec<ProblemDoc> {
        AccessError::problems().into_iter().chain(StoreError::problems()).collect()
    }
}

problems! {
    use case NotificationError as err {}
}

problems! {
    use case EventError as err {}
}

problems! {
    use case WebhookError as err {
        WebhookError::TooMany => CONFLICT "too_many_webhooks" "Conflict",
            "the organization holds as many webhooks as it may (20)",
            err.to_string();
        WebhookError::DeliveryInFlight => CONFLICT "delivery_in_flight" "Conflict",
            "the delivery is being attempted right now; re-send it once the attempt ends",
            err.to_string(),
            |d| d.retry_after = Some(10);
        WebhookError::VersionMismatch { .. } => PRECONDITION_FAILED "precondition_failed" "Precondition failed",
            "the webhook changed since the `If-Match` version",
            format!("{err}; fetch it again and retry");
    }
}

problems! {
    use case SsoError as err {
        SsoError::VersionMismatch { .. } => PRECONDITION_FAILED "precondition_failed" "Precondition failed",
            "the SSO configuration changed since the `If-Match` version",
            format!("{err}; fetch it again and retry");
        SsoError::Lockout(LockoutRefusal::Caller(_)) => CONFLICT "would_lock_out_caller" "Conflict",
            "enforcing SSO would refuse the caller's own next request; preview it with `dry_run=true`, apply it with `force=true`",
            err.to_string();
        SsoError::Lockout(LockoutRefusal::EveryOwner) => CONFLICT "would_lock_out_every_owner" "Conflict",
            "enforcing SSO would keep every owner out, so nobody could undo it",
            err.to_string();
    }
}

problems! {
    use case DomainError as err {
        DomainError::AlreadyClaimed(_) => CONFLICT "domain_already_claimed" "Conflict",
            "the organization already claimed this domain (a lapsed claim is renewed instead)",
            err.to_string();
        DomainError::VerifiedElsewhere(_) => CONFLICT "domain_verified_elsewhere" "Conflict",
            "another organization verified this domain; a domain is verified by at most one",
            err.to_string();
        DomainError::TooMany => CONFLICT "too_many_domains" "Conflict",
            "the organization holds as many domains as it may",
            err.to_string();
        DomainError::VersionMismatch { .. } => PRECONDITION_FAILED "precondition_failed" "Precondition failed",
            "the domain changed since the `If-Match` version",
            format!("{err}; fetch it again and retry");
        DomainError::NotVerified(_) => CONFLICT "domain_not_verified" "Conflict",
            "only a verified domain may be opened to its people (`suggest`, `auto`)",
            err.to_string();
        DomainError::ClaimExpired(_) => GONE "claim_expired" "Gone",
            "the claim lapsed unverified; claim the domain again for a new record",
            err.to_string();
        DomainError::VerificationFailed { .. } => CONFLICT "verification_failed" "Conflict",
            "no TXT record at the claim's name holds its value (yet): publish it and try again",
            err.to_string();
        DomainError::DnsUnavailable(_) => SERVICE_UNAVAILABLE "dns_unavailable" "Service unavailable",
            "the TXT record could not be looked up (resolver timeout or failure); retry after `Retry-After`",
            err.to_string(),
            |d| d.retry_after = Some(30);
        DomainError::UnknownRole(_) => UNPROCESSABLE_ENTITY "unknown_role" "Rule violated",
            "no role of the organization has this key",
            err.to_string();
        DomainError::Lockout(LockoutRefusal::Caller(_)) => CONFLICT "would_lock_out_caller" "Conflict",
            "with SSO enforced, verifying would refuse the caller's own next request; apply it with `force=true`",
            err.to_string();
        DomainError::Lockout(LockoutRefusal::EveryOwner) => CONFLICT "would_lock_out_every_owner" "Conflict",
            "with SSO enforced, verifying would keep every owner out, so nobody could undo it",
            err.to_string();
    }
}

problems! {
    use case JoinError as err {
        JoinError::EmailNotVerified => FORBIDDEN "email_not_verified" "Forbidden",
            "joining by domain needs an email address the identity provider verified",
            err.to_string();
        JoinError::AlreadyMember => CONFLICT "already_member" "Conflict",
            "the person is already a member of the organization",
            err.to_string();
        JoinError::AlreadyRequested => CONFLICT "join_request_pending" "Conflict",
            "the person already has a pending request to join",
            err.to_string();
        JoinError::AlreadyDecided(_) => CONFLICT "join_request_decided" "Conflict",
            "the join request was already approved or denied",
            err.to_string();
        JoinError::NoLongerEligible => CONFLICT "not_eligible" "Conflict",
            "the requester's verified email is no longer in a domain the organization holds verified",
            err.to_string();
        JoinError::UnknownRole(_) => UNPROCESSABLE_ENTITY "unknown_role" "Rule violated",
            "no role of the organization has this key",
            err.to_string();
    }
}

problems! {
    use case ScimError as err {
        ScimError::VersionMismatch { .. } => PRECONDITION_FAILED "precondition_failed" "Precondition failed",
            "the SCIM configuration changed since the `If-Match` version",
            format!("{err}; fetch it again and retry");
    }
}

problems! {
    use case MemberError as err {
        MemberError::VersionMismatch { .. } => PRECONDITION_FAILED "precondition_failed" "Precondition failed",
            "the member changed since the `If-Match` version",
            format!("{err}; fetch it again and retry");
        MemberError::LastOwner => CONFLICT "last_owner" "Conflict",
            "the change would leave the organization without an owner",
            err.to_string();
        MemberError::UnknownRole(_) => UNPROCESSABLE_ENTITY "unknown_role" "Rule violated",
            "no role of the organization has this key",
            err.to_string();
    }
}

problems! {
    use case RoleError as err {
        RoleError::VersionMismatch { .. } => PRECONDITION_FAILED "precondition_failed" "Precondition failed",
            "the role changed since the `If-Match` version",
            format!("{err}; fetch it again and retry");
        RoleError::KeyTaken => CONFLICT "role_key_taken" "Conflict",
            "the organization has a role with this key",
            err.to_string();
        RoleError::InUse { .. } => CONFLICT "role_in_use" "Conflict",
            "members hold the role and no `reassign_to` was given",
            err.to_string();
        RoleError::ReservedKey => UNPROCESSABLE_ENTITY "reserved_role_key" "Rule violated",
            "`owner` cannot be defined",
            err.to_string();
        RoleError::TooManyRoles(_) => UNPROCESSABLE_ENTITY "too_many_roles" "Rule violated",
            "the organization has as many custom roles as it may",
            err.to_string();
        RoleError::UnknownRole(_) => UNPROCESSABLE_ENTITY "unknown_role" "Rule violated",
            "no role of the organization has this key",
            err.to_string();
    }
}

problems! {
    use case ApiKeyError as err {}
}

problems! {
    use case PlatformError as err {
        PlatformError::NameTaken => CONFLICT "org_name_taken" "Conflict",
            "a live organization has the name (restoring: took it since this one was deleted)",
            err.to_string();
        PlatformError::SlugTaken => CONFLICT "org_slug_taken" "Conflict",
            "a live organization has the slug (restoring: took it since this one was deleted)",
            err.to_string();
        PlatformError::VersionMismatch { .. } => PRECONDITION_FAILED "precondition_failed" "Precondition failed",
            "the organization changed since the `If-Match` version",
            format!("{err}; fetch it again and retry");
        PlatformError::NotDeleted => CONFLICT "org_not_deleted" "Conflict",
            "only a deleted organization is restored",
            err.to_string();
        PlatformError::Deleted => CONFLICT "org_deleted" "Conflict",
            "the organization is deleted: restore it before changing it",
            err.to_string();
    }
}

problems! {
    use case TeamError as err {
        TeamError::VersionMismatch { .. } => PRECONDITION_FAILED "precondition_failed" "Precondition failed",
            "the team changed since the `If-Match` version",
            format!("{err}; fetch it again and retry");
        TeamError::NameTaken => CONFLICT "team_name_taken" "Conflict",
            "the organization has a team with this name",
            err.to_string();
        TeamError::AlreadyInTeam => CONFLICT "already_in_team" "Conflict",
            "the member is in the team already",
            err.to_string();
    }
}

problems! {
    use case AuditError as err {}
}

problems! {
    use case InviteError as err {
        InviteError::OwnerRole => UNPROCESSABLE_ENTITY "owner_not_invitable" "Rule violated",
            "no invite makes an owner",
            err.to_string();
        InviteError::UnknownRole(_) => UNPROCESSABLE_ENTITY "unknown_role" "Rule violated",
            "no role of the organization has this key",
            err.to_string();
        InviteError::NotAnEmailInvite => UNPROCESSABLE_ENTITY "not_an_email_invite" "Rule violated",
            "only email invites are sent",
            err.to_string();
        InviteError::Expired => GONE "invite_expired" "Gone",
            "the invite has expired",
            err.to_string();
        InviteError::Revoked => GONE "invite_revoked" "Gone",
            "the invite was revoked",
            err.to_string();
        InviteError::Exhausted => GONE "invite_exhausted" "Gone",
            "the invite has been used as often as it allows",
            err.to_string();
        InviteError::NoLongerValid => GONE "invite_invalid" "Gone",
            "the invite's role or its inviter's rights changed since it was made",
            err.to_string();
        InviteError::EmailMismatch => FORBIDDEN "invite_email_mismatch" "Forbidden",
            "the invite is for another email address: sign in with the invited, verified one",
            err.to_string();
        InviteError::AlreadyMember => CONFLICT "already_member" "Conflict",
            "the caller is a member already; the invite is not used up",
            err.to_string();
        InviteError::ResendTooSoon { retry_after_secs } => TOO_MANY_REQUESTS "resend_too_soon" "Too many requests",
            "the invite was emailed moments ago; retry after `Retry-After`",
            err.to_string(),
            |d| d.retry_after = Some(retry_after_secs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sample's problem is one its type documents.
    fn documented<E: Documented + std::fmt::Debug + Clone>(samples: &[E])
    where
        ApiError: From<E>,
    {
        let problems = E::problems();
        for sample in samples {
            let error = ApiError::from(sample.clone());
            assert!(
                problems.iter().any(|p| p.status == error.status() && p.code == error.code()),
                "{sample:?} becomes {} {}, which {} does not document",
                error.status(),
                error.code(),
                std::any::type_name::<E>()
            );
        }
    }

    fn access() -> Vec<AccessError> {
        vec![
            AccessError::NotFound("member"),
            AccessError::Forbidden { permission: "members:read" },
            AccessError::NotAllowed("only an owner may"),
            AccessError::Escalation { missing: vec!["org:delete"] },
            AccessError::UserRequired,
            AccessError::OwnerRequired,
            AccessError::Policy(PolicyRefusal::IpNotAllowed { ip: None }),
            AccessError::Policy(PolicyRefusal::MfaRequired { grace_ended_at: None, stale: false }),
            AccessError::Policy(PolicyRefusal::SignInMethodNotAllowed { method: None, allowed: Vec::new() }),
            AccessError::Policy(PolicyRefusal::SessionTooOld { max_age_secs: 60 }),
            AccessError::FeatureNotInPlan { feature: "sso", plan: "free" },
            AccessError::MembershipSuspended,
            AccessError::Unauthenticated("expired"),
            AccessError::Unauthenticated("revoked"),
        ]
    }

    fn store() -> Vec<StoreError> {
        vec![
            StoreError::Unavailable("down".into()),
            StoreError::Contention("deadlock".into()),
            StoreError::Internal("bug".into()),
        ]
    }

    /// The shared variants, as every use-case error holds them.
    fn shared<E: From<AccessError> + From<StoreError> + From<Invalid>>() -> Vec<E> {
        let mut all: Vec<E> = access().into_iter().map(E::from).collect();
        all.extend(store().into_iter().map(E::from));
        all.push(E::from(Invalid::field("name", "required", "a name is required")));
        all
    }

    fn with<E>(mut all: Vec<E>, own: impl IntoIterator<Item = E>) -> Vec<E> {
        all.extend(own);
        all
    }

    #[test]
    fn only_the_policy_gate_refusals_are_counted_as_such_under_their_own_code() {
        for error in access() {
            let expected = match &error {
                AccessError::Policy(refusal) => Some(refusal.code()),
                _ => None,
            };
            assert_eq!(ApiError::from(error.clone()).policy_refusal(), expected, "{error:?}");
        }
        let lockout = SsoError::Lockout(LockoutRefusal::Caller(PolicyRefusal::SessionTooOld { max_age_secs: 60 }));
        assert_eq!(ApiError::from(lockout).policy_refusal(), None, "a refused change is no refused caller");
    }

    #[test]
    fn every_variant_of_every_error_is_documented() {
        documented(&access());
        documented(&store());
        documented(&[Invalid::field("name", "required", "a name is required")]);
        documented(&with(
            shared(),
            [OrgError::NameTaken, OrgError::SlugTaken, OrgError::VersionMismatch { expected: 1, current: 2 }],
        ));
        documented(&with(
            shared(),
            [
                SsoError::VersionMismatch { expected: 1, current: 2 },
                SsoError::Lockout(LockoutRefusal::Caller(PolicyRefusal::SessionTooOld { max_age_secs: 60 })),
                SsoError::Lockout(LockoutRefusal::EveryOwner),
            ],
        ));
        documented(&with(
            shared(),
            [
                DomainError::AlreadyClaimed("acme.com".into()),
                DomainError::VerifiedElsewhere("acme.com".into()),
                DomainError::TooMany,
                DomainError::NotVerified("acme.com".into()),
                DomainError::ClaimExpired("acme.com".into()),
                DomainError::VerificationFailed { record_name: "n".into(), expected: "v".into(), found: vec![] },
                DomainError::DnsUnavailable(orgd_domain::verified_domain::DnsError("timeout".into())),
                DomainError::UnknownRole("ghost".into()),
                DomainError::Lockout(LockoutRefusal::Caller(PolicyRefusal::SessionTooOld { max_age_secs: 60 })),
                DomainError::Lockout(LockoutRefusal::EveryOwner),
            ],
        ));
        documented(&with(
            shared(),
            [
                JoinError::EmailNotVerified,
                JoinError::AlreadyMember,
                JoinError::AlreadyRequested,
                JoinError::AlreadyDecided("denied"),
                JoinError::NoLongerEligible,
                JoinError::UnknownRole("ghost".into()),
            ],
        ));
        documented(&with(shared(), [ScimError::VersionMismatch { expected: 1, current: 2 }]));
        documented(&with(
            shared(),
            [
                MemberError::LastOwner,
                MemberError::UnknownRole("ghost".into()),
                MemberError::VersionMismatch { expected: 1, current: 2 },
            ],
        ));
        documented(&with(
            shared(),
            [
                RoleError::KeyTaken,
                RoleError::VersionMismatch { expected: 1, current: 2 },
                RoleError::InUse { members: 3 },
                RoleError::ReservedKey,
                RoleError::TooManyRoles(100),
                RoleError::UnknownRole("ghost".into()),
            ],
        ));
        documented::<ApiKeyError>(&shared());
        documented(&with(
            shared(),
            [
                PlatformError::NameTaken,
                PlatformError::SlugTaken,
                PlatformError::VersionMismatch { expected: 1, current: 2 },
                PlatformError::NotDeleted,
                PlatformError::Deleted,
            ],
        ));
        documented(&with(
            shared(),
            [TeamError::NameTaken, TeamError::AlreadyInTeam, TeamError::VersionMismatch { expected: 1, current: 2 }],
        ));
        documented::<AuditError>(&shared());
        documented::<MfaError>(&shared());
        documented(&with(shared(), [LlmError::VersionMismatch { expected: 1, current: 2 }]));
        documented(&with(
            shared(),
            [SpendError::VersionMismatch { expected: 1, current: 2 }, SpendError::IdempotencyKeyReused],
        ));
        let mut dashboard: Vec<DashboardError> = access().into_iter().map(Into::into).collect();
        dashboard.extend(store().into_iter().map(DashboardError::from));
        documented(&dashboard);
        documented::<NotificationError>(&shared());
        documented(&with(
            shared(),
            [
                PolicyError::VersionMismatch { expected: 1, current: 2 },
                PolicyError::Lockout(LockoutRefusal::Caller(PolicyRefusal::SessionTooOld { max_age_secs: 60 })),
                PolicyError::Lockout(LockoutRefusal::EveryOwner),
            ],
        ));
        documented(&with(
            shared(),
            [
                InviteError::OwnerRole,
                InviteError::UnknownRole("ghost".into()),
                InviteError::NotAnEmailInvite,
                InviteError::Expired,
                InviteError::Revoked,
                InviteError::Exhausted,
                InviteError::NoLongerValid,
                InviteError::EmailMismatch,
                InviteError::AlreadyMember,
                InviteError::ResendTooSoon { retry_after_secs: 30 },
            ],
        ));
    }

    #[test]
    fn problems_keep_their_extra_members_and_headers() {
        let escalation = ApiError::from(AccessError::Escalation { missing: vec!["org:delete"] });
        assert_eq!(escalation.problem().missing_permissions, vec!["org:delete".to_owned()]);
        let forbidden = ApiError::from(AccessError::Forbidden { permission: "members:read" });
        assert_eq!(forbidden.problem().permission.as_deref(), Some("members:read"));
        let resend = ApiError::from(InviteError::ResendTooSoon { retry_after_secs: 30 }).error_response();
        assert_eq!(resend.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("30"));
        let expired = ApiError::from(AccessError::Unauthenticated("expired")).error_response();
        assert!(expired.headers().contains_key(header::WWW_AUTHENTICATE));
        let unavailable = ApiError::from(StoreError::Contention("deadlock".into()));
        assert_eq!(unavailable.0.cause.as_deref(), Some("deadlock"));
    }
}
