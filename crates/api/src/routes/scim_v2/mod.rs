//! `/scim/v2`: the SCIM 2.0 protocol (RFC 7643 / 7644) an organization's identity
//! provider provisions members and teams through, with the organization's SCIM token.
//!
//! These routes speak SCIM, not this API's own conventions: bodies and errors are
//! `application/scim+json` (requests are also accepted as `application/json`, as identity
//! providers send them), errors are SCIM Error messages with a `scimType`.

mod bodies;
mod discovery;
mod examples;
mod groups;
mod http;
mod search;
mod users;

use utoipa_actix_web::service_config::ServiceConfig;

pub use http::{scim_no_route, ScimApiError, MAX_BODY_BYTES};

/// The media type of every SCIM response.
pub const SCIM_JSON: &str = "application/scim+json";

/// The path prefix of the protocol.
pub const SCIM_ROOT: &str = "/scim/v2";

/// Every `/scim/v2` route.
pub fn routes(cfg: &mut ServiceConfig) {
    discovery::routes(cfg);
    users::routes(cfg);
    groups::routes(cfg);
    search::routes(cfg);
}
