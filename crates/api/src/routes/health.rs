//! Liveness and readiness probes.

use actix_web::{get, web, HttpResponse};
use orgd_domain::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::openapi::Errors;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The service can serve requests: its database answers.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, body = Health), Errors<StoreError>)
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.ping().await?;
    Ok(HttpResponse::Ok().json(Health { status: "ready" }))
}
