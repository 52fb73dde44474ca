//! HTTP routes, one module per capability, registered with their OpenAPI documentation.

pub mod admin;
pub mod api_keys;
pub mod audit;
pub mod common;
pub mod dashboard;
pub mod domains;
pub mod events;
pub mod health;
pub mod invites;
pub mod join_requests;
pub mod llm;
pub mod members;
pub mod mfa;
pub mod notifications;
pub mod orgs;
pub mod permissions;
pub mod policies;
pub mod roles;
pub mod scim;
pub mod scim_v2;
pub mod spend;
pub mod sso;
pub mod teams;
pub mod webhooks;

use utoipa_actix_web::service_config::ServiceConfig;

/// Every `/v1` route.
pub fn v1(cfg: &mut ServiceConfig) {
    // The router tries routes in this order, one regex each: the reads other services make
    // on their own request path come first.
    permissions::routes(cfg);
    llm::routes(cfg);
    orgs::routes(cfg);
    members::routes(cfg);
    roles::routes(cfg);
    teams::routes(cfg);
    api_keys::routes(cfg);
    audit::routes(cfg);
    policies::routes(cfg);
    sso::routes(cfg);
    domains::routes(cfg);
    join_requests::routes(cfg);
    scim::routes(cfg);
    mfa::routes(cfg);
    notifications::routes(cfg);
    invites::routes(cfg);
    admin::routes(cfg);
    spend::routes(cfg);
    dashboard::routes(cfg);
    events::routes(cfg);
    webhooks::routes(cfg);
}
