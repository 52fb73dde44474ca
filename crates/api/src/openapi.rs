//! The OpenAPI 3.1 document, generated from the same registration as the routes.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

use crate::error::{FieldProblem, Problem, PROBLEM_JSON};

pub const BEARER: &str = "bearer";

/// `/v1` paths anyone may call without credentials.
pub const PUBLIC_PATHS: &[&str] = &["/v1/permissions", "/v1/invites/{token}"];

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "orgd",
        description = "Organization management: organizations, members, roles and permissions, \
                       with a tamper-evident audit trail.\n\nEvery error is an RFC 9457 \
                       `application/problem+json` document whose `code` is stable.",
        license(name = "Apache-2.0")
    ),
    components(schemas(Problem, FieldProblem)),
    tags(
        (name = "organizations", description = "Organizations: the tenant boundary."),
        (name = "members", description = "Members of an organization."),
        (name = "roles", description = "System and custom roles."),
        (name = "teams", description = "Teams of members, with team managers."),
        (name = "permissions", description = "The permission catalogue and callers' permission maps."),
        (name = "api keys", description = "Organization API keys: credentials for programs."),
        (name = "invites", description = "Invitations: link and email-bound, and accepting them."),
        (name = "audit log", description = "The append-only, hash-chained record of every change."),
        (name = "operations", description = "Probes for orchestrators."),
    )
)]
pub struct ApiDoc;

/// Errors every authenticated route can answer, by status.
const COMMON: &[(&str, &str, &str)] = &[
    ("400", "BadRequest", "`malformed_request`, `invalid_query` or `invalid_cursor`: the request cannot be read."),
    ("401", "Unauthenticated", "`unauthenticated`, `invalid_token` or `token_expired`: send a valid bearer token (a user JWT or an `orgk_` API key)."),
    ("500", "InternalError", "`internal_error`: a fault on the server; details are in its log under the request id."),
    (
        "503",
        "Unavailable",
        "`service_unavailable`: the database is unreachable or saturated; retry after `Retry-After`.",
    ),
];

/// Errors of routes inside one organization.
const IN_ORG: &[(&str, &str, &str)] = &[
    ("403", "Forbidden", "`forbidden`: the caller lacks the permission named in `permission`; `escalation_denied`: the change would grant the `missing_permissions` the caller lacks; `user_required`: an API key may not do this."),
    (
        "404",
        "NotFound",
        "`not_found`: no such resource for this caller, including any resource of another organization.",
    ),
];

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.patch, &mut item.delete].into_iter().flatten()
}

/// Adds what the route macros cannot say: the bearer scheme on every `/v1` operation, and
/// the problem responses every such operation can give.
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
    for (_, name, description) in COMMON.iter().chain(IN_ORG) {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
        let response = ResponseBuilder::new().description(*description).content(PROBLEM_JSON, content).build();
        components.responses.insert((*name).to_owned(), RefOr::T(response));
    }
    for (path, item) in api
        .paths
        .paths
        .iter_mut()
        .filter(|(path, _)| path.starts_with("/v1/") && !PUBLIC_PATHS.contains(&path.as_str()))
    {
        let in_org = path.contains("{org}");
        for operation in operations(item) {
            operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
            let extra: &[_] = if in_org { IN_ORG } else { &[] };
            for (status, name, _) in COMMON.iter().chain(extra) {
                operation
                    .responses
                    .responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
            }
        }
    }
    api
}
