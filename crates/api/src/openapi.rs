//! The OpenAPI 3.1 document, generated from the same registration as the routes.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use actix_web::http::StatusCode;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::IntoResponses;

use crate::error::{Documented, FieldProblem, Problem, ProblemDoc, PROBLEM_JSON, VALIDATION_FAILED};
use crate::routes::audit::ExportFormat;

pub const BEARER: &str = "bearer";
/// The security scheme of `/scim/v2`.
pub const SCIM_TOKEN: &str = "scim_token";
const SCIM_JSON: &str = crate::routes::scim_v2::SCIM_JSON;

/// `/v1` paths anyone may call without credentials.
pub const PUBLIC_PATHS: &[&str] = &["/v1/permissions", "/v1/invites/{token}"];

/// The extension of a problem response listing the codes it can carry, for programs.
pub const PROBLEM_CODES: &str = "x-problem-codes";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "orgd",
        description = "Organization management: organizations, members, roles and permissions, \
                       with a tamper-evident audit trail.\n\nEvery error is an RFC 9457 \
                       `application/problem+json` document whose `code` is stable; each \
                       operation lists, per status, the codes it can answer with (also in \
                       `x-problem-codes`).",
        license(name = "Apache-2.0")
    ),
    // Schemas named only by parameters: utoipa collects those of bodies and responses itself.
    components(schemas(Problem, FieldProblem, ExportFormat)),
    tags(
        (name = "organizations", description = "Organizations: the tenant boundary."),
        (name = "members", description = "Members of an organization."),
        (name = "roles", description = "System and custom roles."),
        (name = "teams", description = "Teams of members, with team managers."),
        (name = "permissions", description = "The permission catalogue and callers' permission maps."),
        (name = "api keys", description = "Organization API keys: credentials for programs."),
        (name = "invites", description = "Invitations: link and email-bound, and accepting them."),
        (name = "domains", description = "The organization's email domains: claimed, verified through DNS, and whether people of a domain are offered the organization (`suggest`) or join it (`auto`)."),
        (name = "join-requests", description = "People of a verified domain asking to join, the organizations suggested to them, and the answers."),
        (name = "audit log", description = "The append-only, hash-chained record of every change."),
        (name = "security", description = "Security policies enforced on every way into the organization: 2FA, sign-in methods, IP allowlist and session age."),
        (name = "notifications", description = "In-app notices for the signed-in person, such as 2FA reminders."),
        (name = "sso", description = "SSO federation: the organization's SAML or OIDC connection to its identity provider. Secrets are write-only."),
        (name = "scim", description = "SCIM provisioning settings and the bearer token of the organization's identity provider."),
        (name = "scim-protocol", description = "SCIM 2.0 (RFC 7643 / 7644) for the organization's identity provider, with its SCIM token: members as Users, teams as Groups. Bodies and errors are `application/scim+json`."),
        (name = "governance", description = "AI and spend governance: the LLM admission policy gateways check, metered usage, budgets and the spend posture."),
        (name = "platform staff", description = "`/v1/admin`: every organization, for the platform's own staff (a trusted staff claim of `staff_read` or `staff_admin`); anyone else gets 404. Every look into an organization and every change is recorded in its audit log (actor `staff`) and in the platform audit log."),
        (name = "events", description = "What changed in an organization: the event feed, kept 30 days."),
        (name = "webhooks", description = "Endpoints the organization's events are pushed to, signed as the Standard Webhooks specification says, with their deliveries."),
        (name = "operations", description = "Probes for orchestrators."),
    )
)]
pub struct ApiDoc;

/// The problem responses of a route whose use case fails with `E`, derived from `E`'s
/// mapping table: `responses((status = 200, body = …), Errors<OrgError>)`.
pub struct Errors<E>(PhantomData<E>);

impl<E: Documented> IntoResponses for Errors<E> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = BTreeMap::new();
        add_problems(&mut responses, E::problems());
        responses
    }
}

const fn problem(status: StatusCode, code: &'static str, when: &'static str) -> ProblemDoc {
    ProblemDoc { status, code, when }
}

/// What the bearer-token check of every authenticated route can answer.
const AUTHENTICATION: &[ProblemDoc] = &[
    problem(StatusCode::UNAUTHORIZED, "unauthenticated", "no `Authorization: Bearer` credential was sent"),
    problem(StatusCode::UNAUTHORIZED, "invalid_token", "the credential is malformed, unknown or revoked"),
    problem(StatusCode::UNAUTHORIZED, "token_expired", "the credential has expired"),
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "a fault on the server; details are in its log under the request id",
    ),
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "the database cannot be reached for now (restarting, connections lost, every connection busy): retry after `Retry-After`",
    ),
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
        "the request lost a conflict with concurrent ones (a deadlock or serialization failure) or the server is saturated: retry after `Retry-After`",
    ),
];

/// What the rate limits ([`crate::rate_limit`]) answer on every `/v1` route.
const RATE_LIMITED: ProblemDoc = problem(
    StatusCode::TOO_MANY_REQUESTS,
    "rate_limited",
    "too many requests from this client address or with this credential; retry after `Retry-After` (`RateLimit` says what is left)",
);

/// What a write that requires `If-Match` answers without it.
const IF_MATCH_MISSING: ProblemDoc = problem(
    StatusCode::PRECONDITION_REQUIRED,
    "if_match_required",
    "the write sent no `If-Match`: send the `ETag` read, or `*` to replace whatever is there",
);

/// What reading a JSON body can answer.
const JSON_BODY: &[ProblemDoc] = &[
    problem(StatusCode::BAD_REQUEST, "malformed_request", "the body is not JSON"),
    problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is larger than 64 KiB"),
    problem(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the body did not arrive within the client timeout (`ORGD_CLIENT_TIMEOUT_SECS`)",
    ),
    problem(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "the body is not sent as `Content-Type: application/json`",
    ),
    VALIDATION_FAILED,
];

/// What reading a query string can answer.
const QUERY: &[ProblemDoc] =
    &[problem(StatusCode::BAD_REQUEST, "invalid_query", "a query parameter is not of its type")];

/// What reading a list's page parameters can answer, besides [`QUERY`].
const PAGE: &[ProblemDoc] = &[
    problem(StatusCode::BAD_REQUEST, "invalid_cursor", "the cursor is not one this list returned"),
    VALIDATION_FAILED,
];

/// Merges problems into an operation's responses: one response per status, listing every
/// code it can carry.
fn add_problems(responses: &mut BTreeMap<String, RefOr<Response>>, problems: impl IntoIterator<Item = ProblemDoc>) {
    for problem in problems {
        let status = problem.status.as_u16().to_string();
        let entry = responses.entry(status).or_insert_with(|| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
            let codes = Extensions::builder().add(PROBLEM_CODES, serde_json::json!([])).build();
            RefOr::T(
                ResponseBuilder::new()
                    .description(problem.status.canonical_reason().unwrap_or("Problem"))
                    .content(PROBLEM_JSON, content)
                    .extensions(Some(codes))
                    .build(),
            )
        });
        // A response a route spelled out by hand is left as it is.
        let RefOr::T(response) = entry else { continue };
        let Some(codes) = response.extensions.as_mut().and_then(|e| e.get_mut(PROBLEM_CODES)) else { continue };
        let Some(codes) = codes.as_array_mut() else { continue };
        if codes.iter().any(|c| c == problem.code) {
            continue;
        }
        codes.push(problem.code.into());
        response.description.push_str(&format!("\n- `{}`: {}.", problem.code, problem.when));
    }
}

/// The SCIM errors any `/scim/v2` operation can answer, besides its own.
fn add_scim_errors(responses: &mut BTreeMap<String, RefOr<Response>>) {
    let errors: [(StatusCode, &str); 4] = [
        (StatusCode::UNAUTHORIZED, "The SCIM token is missing, unknown, rotated or disabled."),
        (StatusCode::INTERNAL_SERVER_ERROR, "A fault on the server; details are in its log under the request id."),
        (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests with this SCIM token or from this address; retry after `Retry-After`.",
        ),
        (StatusCode::SERVICE_UNAVAILABLE, "The database is unreachable or saturated; retry later."),
    ];
    add_scim_errors_of(responses, errors);
}

/// Adds a SCIM error response for `status`, or, when the operation answers it already, adds
/// `when` to its description.
fn add_scim_error_noting(responses: &mut BTreeMap<String, RefOr<Response>>, status: StatusCode, when: &str) {
    match responses.get_mut(&status.as_u16().to_string()) {
        Some(RefOr::T(response)) => response.description.push_str(&format!("\n- {when}")),
        Some(RefOr::Ref(_)) => {}
        None => add_scim_errors_of(responses, [(status, when)]),
    }
}

/// Adds SCIM error responses for the statuses an operation does not answer already.
fn add_scim_errors_of<'d>(
    responses: &mut BTreeMap<String, RefOr<Response>>,
    errors: impl IntoIterator<Item = (StatusCode, &'d str)>,
) {
    for (status, description) in errors {
        responses.entry(status.as_u16().to_string()).or_insert_with(|| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ScimErrorBody"))).build();
            RefOr::T(ResponseBuilder::new().description(description).content(SCIM_JSON, content).build())
        });
    }
}

/// What a POST sent with an `Idempotency-Key` can answer ([`crate::idempotency`]).
const IDEMPOTENCY: &[ProblemDoc] = &[
    problem(
        StatusCode::BAD_REQUEST,
        "invalid_idempotency_key",
        "the `Idempotency-Key` is not 1 to 255 visible ASCII characters (optionally in double quotes)",
    ),
    problem(
        StatusCode::CONFLICT,
        "idempotency_key_in_flight",
        "a request with this `Idempotency-Key` is still being processed: retry after `Retry-After`",
    ),
    problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "this `Idempotency-Key` was used in the last 24 hours for a request with another method, path, query or body",
    ),
    problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is larger than 64 KiB"),
    problem(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the body did not arrive within the client timeout (`ORGD_CLIENT_TIMEOUT_SECS`)",
    ),
];

/// Documents `Idempotency-Key` on a POST: the header, its refusals, and the header marking
/// a replayed response.
fn add_idempotency(operation: &mut Operation, scim: bool) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{HeaderBuilder, ObjectBuilder, Required, Type};
    let key = "[!#-\\[\\]-~]{1,255}";
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(257))
        .pattern(Some(format!("^(?:{key}|\"{key}\")$")));
    let parameter = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes a retry safe (draft-ietf-httpapi-idempotency-key): the first successful response is kept for 24 hours, \
             in the same transaction as the request's effect, and every retry with the same key and the same request gets \
             it back byte for byte with `Idempotent-Replayed: true`. Failed responses are not kept: their retry runs again. \
             Keys are per caller.",
        ))
        .schema(Some(schema));
    operation.parameters.get_or_insert_with(Vec::new).push(parameter.build());
    let replayed = HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["true"])))
        .description(Some(
            "`true` when this is the response kept for an earlier request with the same `Idempotency-Key`.",
        ))
        .build();
    let responses = &mut operation.responses.responses;
    for (status, response) in responses.iter_mut() {
        if let (true, RefOr::T(response)) = (status.starts_with('2'), response) {
            response.headers.insert("Idempotent-Replayed".into(), replayed.clone());
        }
    }
    if scim {
        for problem in IDEMPOTENCY {
            let when = match problem.code {
                "payload_too_large" => "the body is larger than 4 MiB",
                _ => problem.when,
            };
            add_scim_error_noting(responses, problem.status, &format!("`{}`: {when}.", problem.code));
        }
    } else {
        add_problems(responses, IDEMPOTENCY.iter().copied());
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

/// Adds what follows from the shape of each operation rather than from its use case: the
/// bearer scheme and authentication problems on every `/v1` operation that needs a
/// caller, and the problems of reading its query string and JSON body.
pub fn finish(mut api: OpenApi) -> OpenApi {
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT or orgk_ API key")
                .description(Some("An access token (JWT) from the platform's identity provider, or an organization API key (`orgk_…`)."))
                .build(),
        ),
    );
    components.add_security_scheme(
        SCIM_TOKEN,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("orgs_ SCIM token")
                .description(Some(
                    "The organization's SCIM token (`orgs_…`), issued by `PUT /v1/orgs/{org}/scim`; it reaches `/scim/v2` only.",
                ))
                .build(),
        ),
    );
    for (path, item) in api.paths.paths.iter_mut() {
        let authenticated = path.starts_with("/v1/") && !PUBLIC_PATHS.contains(&path.as_str());
        // The SCIM protocol reads its own query strings and bodies and answers SCIM errors,
        // which its operations document themselves.
        let scim = path.starts_with(crate::routes::scim_v2::SCIM_ROOT);
        if let (true, Some(post)) =
            (authenticated || scim, item.post.as_mut().filter(|_| crate::idempotency::takes_key(path)))
        {
            add_idempotency(post, scim);
        }
        for operation in operations(item) {
            let responses = &mut operation.responses.responses;
            if path.starts_with("/v1/") {
                add_problems(responses, [RATE_LIMITED]);
            }
            let requires_if_match = operation.parameters.iter().flatten().any(|p| {
                p.parameter_in == utoipa::openapi::path::ParameterIn::Header
                    && p.name.eq_ignore_ascii_case("if-match")
                    && p.required == utoipa::openapi::Required::True
            });
            if requires_if_match {
                add_problems(responses, [IF_MATCH_MISSING]);
            }
            if authenticated {
                operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
                add_problems(responses, AUTHENTICATION.iter().copied());
            }
            let query: Vec<&str> = operation
                .parameters
                .iter()
                .flatten()
                .filter(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query)
                .map(|p| p.name.as_str())
                .collect();
            if scim {
                operation.security = Some(vec![SecurityRequirement::new(SCIM_TOKEN, Vec::<String>::new())]);
                add_scim_errors(responses);
                continue;
            }
            if !query.is_empty() {
                add_problems(responses, QUERY.iter().copied());
            }
            if query.contains(&"cursor") {
                add_problems(responses, PAGE.iter().copied());
            }
            if operation.request_body.is_some() {
                add_problems(responses, JSON_BODY.iter().copied());
            }
        }
    }
    api
}

/// Schemas of values the domain parses, stating the rules its parsers apply, for request
/// fields (`#[schema(schema_with = …)]`): a request the document allows is one the service
/// accepts.
pub mod shape {
    use std::borrow::Cow;

    use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaType, Type};
    use utoipa::openapi::RefOr;
    use utoipa::{PartialSchema, ToSchema};

    /// Unicode `Cc`, what `char::is_control` refuses.
    const CONTROLS: &str = r"\x00-\x1f\x7f-\x9f";
    /// Control characters but line breaks and tabs, which free text may hold.
    const CONTROLS_BUT_BREAKS: &str = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f";
    /// Unicode `White_Space`, what `str::trim` removes; spelled out, as `\s` means
    /// something else to each regex dialect.
    pub const SPACES: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

    pub fn string(min: usize, max: usize, pattern: &str) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(min))
            .max_length(Some(max))
            .pattern(Some(pattern))
    }

    /// The same schema, `null` allowed too.
    pub fn nullable(schema: ObjectBuilder) -> Object {
        let mut object = schema.build();
        if let SchemaType::Type(kind) = object.schema_type {
            object.schema_type = SchemaType::from_iter([kind, Type::Null]);
        }
        object
    }

    /// A value its parser trims before judging `core`. `raw_max` is the bound a request
    /// type checks before trimming, if any.
    pub fn trimmed(core: &str, raw_max: Option<usize>) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^[{SPACES}]*{core}[{SPACES}]*$")))
            .max_length(raw_max)
    }

    /// 1 to `max` characters none of which is `refused`, the first and last no space.
    fn text(max: usize, refused: &str) -> String {
        let edge = format!("[^{SPACES}{refused}]");
        format!("{edge}(?:[^{refused}]{{0,{}}}{edge})?", max.saturating_sub(2))
    }

    /// A display name: 1 to `max` characters once trimmed, no control characters.
    pub fn name(max: usize, raw_max: Option<usize>) -> ObjectBuilder {
        trimmed(&text(max, CONTROLS), raw_max)
    }

    /// One line of text, blank meaning none: at most `max` characters once trimmed, no
    /// control characters.
    pub fn optional_line(max: usize, raw_max: Option<usize>) -> ObjectBuilder {
        trimmed(&format!("(?:{})?", text(max, CONTROLS)), raw_max)
    }

    /// Free text that may span lines, blank meaning none: at most `max` characters once
    /// trimmed, no control characters but line breaks and tabs.
    pub fn description(max: usize, raw_max: Option<usize>) -> ObjectBuilder {
        trimmed(&format!("(?:{})?", text(max, CONTROLS_BUT_BREAKS)), raw_max)
    }

    /// Objects whose boolean `field`, when present, is `value`: a branch of an `anyOf`
    /// stating a rule between fields ("`a` only with `b: true`").
    pub fn field_is(field: &str, value: bool) -> ObjectBuilder {
        ObjectBuilder::new().property(field, ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([value])))
    }

    /// Free text that may span lines: 1 to `max` characters once trimmed, no control
    /// characters but line breaks and tabs.
    pub fn text_block(max: usize, raw_max: Option<usize>) -> ObjectBuilder {
        trimmed(&text(max, CONTROLS_BUT_BREAKS), raw_max)
    }

    /// A token, such as an OAuth client id: 1 to `max` characters once trimmed, none a space
    /// or a control character. (A bound its parser counts in UTF-8 bytes, no schema states.)
    pub fn token(max: usize) -> ObjectBuilder {
        trimmed(&format!("[^{SPACES}{CONTROLS}]{{1,{max}}}"), None)
    }

    /// A secret, taken as sent (untrimmed): 1 to `max` characters, none a control
    /// character. (A bound its parser counts in UTF-8 bytes, no schema states.)
    pub fn secret(max: usize) -> ObjectBuilder {
        string(1, max, &format!("^[^{CONTROLS}]*$"))
    }

    /// A DNS label; none is `xn--…`, which would have to hold valid punycode.
    const LABEL: &str = "(?![Xx][Nn]--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    /// The last label of a host name, which a URL parser does not read as a number.
    const LAST_LABEL: &str = "(?![Xx][Nn]--)[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    /// A port number, 0 to 65535.
    const PORT: &str = "(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
    /// Characters of a URL path that no URL parser changes the meaning of.
    const PATH_CHARS: &str = "A-Za-z0-9._~!$&'()*+,;=:@%/-";

    /// A domain name of at most `max_len` characters once trimmed (one trailing dot
    /// allowed): two labels or more, the last starting with a letter.
    pub fn domain_name(max_len: usize, raw_max: usize) -> ObjectBuilder {
        let core = format!("(?![!-~]{{{}}})(?:{LABEL}\\.)+{LAST_LABEL}\\.?", max_len + 1);
        trimmed(&core, Some(raw_max))
    }

    /// An absolute `https` URL of at most `max_len` characters once trimmed, without a
    /// fragment (and, unless `with_query`, a query), whose host is a DNS name ending in a
    /// label that starts with a letter: a URL parser reads a host ending in a number as an
    /// IPv4 address.
    pub fn https_url(max_len: usize, with_query: bool) -> ObjectBuilder {
        let query = if with_query { format!("(?:\\?[?{PATH_CHARS}]*)?") } else { String::new() };
        let core = format!(
            "(?![!-~]{{{}}})https://(?:{LABEL}\\.)*{LAST_LABEL}(?::{PORT})?(?:/[{PATH_CHARS}]*)?{query}",
            max_len + 1
        );
        trimmed(&core, None)
    }

    /// An IPv4 or IPv6 address, optionally with a prefix length: a network in CIDR
    /// notation. IPv4 octets have no leading zeros, and `::` stands for one group or more
    /// (RFC 3986's `IPv6address`).
    pub fn ip_network() -> ObjectBuilder {
        let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
        let v4 = format!("{octet}(?:\\.{octet}){{3}}");
        let h = "[0-9A-Fa-f]{1,4}";
        let last = format!("(?:{h}:{h}|{v4})");
        let v6 = [
            format!("(?:{h}:){{6}}{last}"),
            format!("::(?:{h}:){{5}}{last}"),
            format!("(?:{h})?::(?:{h}:){{4}}{last}"),
            format!("(?:(?:{h}:){{0,1}}{h})?::(?:{h}:){{3}}{last}"),
            format!("(?:(?:{h}:){{0,2}}{h})?::(?:{h}:){{2}}{last}"),
            format!("(?:(?:{h}:){{0,3}}{h})?::{h}:{last}"),
            format!("(?:(?:{h}:){{0,4}}{h})?::{last}"),
            format!("(?:(?:{h}:){{0,5}}{h})?::{h}"),
            format!("(?:(?:{h}:){{0,6}}{h})?::"),
        ]
        .join("|");
        let v4_prefix = "(?:3[0-2]|[12]?[0-9])";
        let v6_prefix = "(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])";
        trimmed(&format!("(?:{v4}(?:/{v4_prefix})?|(?:{v6})(?:/{v6_prefix})?)"), None)
    }

    /// One PEM `CERTIFICATE` block of base64 lines: its shape, not that it holds an X.509
    /// certificate.
    pub fn pem_certificate() -> ObjectBuilder {
        trimmed(
            "-----BEGIN CERTIFICATE-----\\r?\\n(?:[A-Za-z0-9+/=]{1,76}\\r?\\n){1,200}-----END CERTIFICATE-----",
            None,
        )
    }

    /// The role key pattern; `not_owner` also refuses `owner`, which no request may hand out.
    pub fn role_key_pattern(not_owner: bool) -> &'static str {
        if not_owner {
            "^(?!owner$)[a-z][a-z0-9_-]*$"
        } else {
            "^[a-z][a-z0-9_-]*$"
        }
    }

    pub fn role_key(not_owner: bool) -> ObjectBuilder {
        string(1, orgd_domain::authz::RoleKey::MAX_LEN, role_key_pattern(not_owner))
    }

    /// A name of the permission catalogue.
    pub struct Permission;

    impl PartialSchema for Permission {
        fn schema() -> RefOr<Schema> {
            let names = orgd_domain::authz::Permission::ALL.iter().map(|p| p.as_str());
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("A permission of the catalogue (`GET /v1/permissions`)."))
                .enum_values(Some(names))
                .into()
        }
    }

    impl ToSchema for Permission {
        fn name() -> Cow<'static, str> {
            Cow::Borrowed("Permission")
        }
    }

    /// An IANA time zone name.
    pub struct TimeZone;

    impl PartialSchema for TimeZone {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("An IANA time zone name."))
                .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
                .examples(["Europe/Paris"])
                .into()
        }
    }

    impl ToSchema for TimeZone {
        fn name() -> Cow<'static, str> {
            Cow::Borrowed("TimeZone")
        }
    }
}

/// Example values shared by many fields (`#[schema(example = example::at)]`), so that one
/// story reads through the document: the same moment, the same people.
pub mod example {
    /// A moment in RFC 3339, as every timestamp is written.
    pub fn at() -> &'static str {
        "2026-03-02T09:30:00Z"
    }

    /// A later moment: an expiry, an end of window.
    pub fn later() -> &'static str {
        "2026-03-09T09:30:00Z"
    }

    /// A user id, as tokens name people.
    pub fn user() -> &'static str {
        "usr_0192f0c1a4e37b6c9d5e8f10a2b3c4d5"
    }

    /// A member id.
    pub fn member() -> &'static str {
        "mem_0192f0c1a4e37b6c9d5e8f10a2b3c4d5"
    }

    /// An organization id.
    pub fn org() -> &'static str {
        "org_0192f0c1a4e37b6c9d5e8f10a2b3c4d5"
    }

    /// A hex SHA-256, as the audit chain links records.
    pub fn sha256() -> &'static str {
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    }

    /// The changes of an audit record or event: a member made an admin.
    pub fn role_change() -> serde_json::Value {
        serde_json::json!({ "role": { "from": "member", "to": "admin" } })
    }

    /// A version of a resource or policy, also its `ETag`.
    pub fn version() -> i64 {
        3
    }
}
