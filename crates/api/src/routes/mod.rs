//! HTTP routes, one module per capability, registered with their OpenAPI documentation.

pub mod common;
pub mod health;
pub mod members;
pub mod orgs;

use utoipa_actix_web::service_config::ServiceConfig;

/// Every `/v1` route.
pub fn v1(cfg: &mut ServiceConfig) {
    orgs::routes(cfg);
    members::routes(cfg);
}
