//! HTTP routes, one module per capability, registered with their OpenAPI documentation.

pub mod api_keys;
pub mod audit;
pub mod common;
pub mod health;
pub mod invites;
pub mod members;
pub mod orgs;
pub mod permissions;
pub mod roles;
pub mod teams;

use utoipa_actix_web::service_config::ServiceConfig;

/// Every `/v1` route.
pub fn v1(cfg: &mut ServiceConfig) {
    permissions::routes(cfg);
    orgs::routes(cfg);
    members::routes(cfg);
    roles::routes(cfg);
    teams::routes(cfg);
    api_keys::routes(cfg);
    audit::routes(cfg);
    invites::routes(cfg);
}
