//! The HTTP layer of the organization service: routes, authentication, problem+json
//! errors, the OpenAPI document, configuration and the server.

pub mod auth;
pub mod client_timeout;
pub mod config;
pub mod error;
pub mod idempotency;
pub mod known_routes;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod use_case_threads;
pub mod workers;
