//! The metrics listener: `GET /metrics` on `ORGD_METRICS_BIND` and nothing else, behind
//! `ORGD_METRICS_TOKEN` when it is set.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Metrics;
use crate::config::MetricsConfig;
use crate::error::ApiError;

/// What a scrape is answered from.
struct Scrape {
    metrics: Arc<Metrics>,
    /// SHA-256 of the token scrapes must present: compared as digests, a presented token
    /// tells nothing of the expected one, not even its length.
    token: Option<[u8; 32]>,
}

impl Scrape {
    fn admits(&self, req: &HttpRequest) -> bool {
        let Some(expected) = &self.token else { return true };
        crate::auth::bearer_token(req)
            .is_ok_and(|presented| bool::from(Sha256::digest(presented.as_bytes()).ct_eq(expected.as_slice())))
    }
}

async fn answer(req: HttpRequest, scrape: web::Data<Scrape>) -> Result<HttpResponse, ApiError> {
    if !scrape.admits(&req) {
        return Err(ApiError::unauthenticated(
            "unauthenticated",
            "send `Authorization: Bearer <token>` with the token ORGD_METRICS_TOKEN holds",
        ));
    }
    let metrics = Arc::clone(&scrape.metrics);
    let text = web::block(move || metrics.render())
        .await
        .map_err(|e| ApiError::saturated(e.to_string()))?
        .map_err(|e| ApiError::internal(format!("metrics could not be rendered: {e}")))?;
    Ok(HttpResponse::Ok().insert_header((header::CONTENT_TYPE, prometheus::TEXT_FORMAT)).body(text))
}

/// A bound metrics listener; serving starts once its server is awaited.
pub struct MetricsListener {
    pub server: Server,
    pub addr: SocketAddr,
}

/// Binds the metrics listener.
pub fn bind(config: &MetricsConfig, metrics: Arc<Metrics>) -> std::io::Result<MetricsListener> {
    let listener = TcpListener::bind(config.bind)?;
    let addr = listener.local_addr()?;
    let token = config.token.as_ref().map(|token| Sha256::digest(token.expose_secret().as_bytes()).into());
    let scrape = web::Data::new(Scrape { metrics, token });
    let server = HttpServer::new(move || App::new().app_data(scrape.clone()).route("/metrics", web::get().to(answer)))
        .workers(1)
        // The public server hears the signals, and stops this one when it has drained.
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
    Ok(MetricsListener { server, addr })
}
