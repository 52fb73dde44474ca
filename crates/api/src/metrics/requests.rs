//! Each request, counted and timed once it is answered, by method, route pattern and
//! status; and the refusals of the rate limits and of the security policy among them.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;

use super::Metrics;
use crate::error::ApiError;
use crate::known_routes::route_pattern;
use crate::rate_limit::Refused;

/// The route of a request no route took: its path is the client's to choose, and would
/// make a series of every path tried.
const UNMATCHED: &str = "unmatched";

/// The method as a label; a client can send any token as a method, so others are `other`.
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The middleware; it does nothing on a server without metrics.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(metrics) = req.app_data::<web::Data<Metrics>>().cloned() else {
        return next.call(req).await;
    };
    let arrived = Instant::now();
    let method = method_label(req.method());
    let route = route_pattern(&req);
    let answered = next.call(req).await;
    let (status, error) = match &answered {
        Ok(response) => (response.status(), response.response().error()),
        Err(error) => (error.as_response_error().status_code(), Some(error)),
    };
    let labels = [method, route.as_deref().unwrap_or(UNMATCHED), status.as_str()];
    metrics.requests.with_label_values(&labels).inc();
    metrics.durations.with_label_values(&labels).observe(arrived.elapsed().as_secs_f64());
    if let Some(code) = error.and_then(|e| e.as_error::<ApiError>()).and_then(ApiError::policy_refusal) {
        metrics.policy_refusals.with_label_values(&[code]).inc();
    }
    if let Ok(response) = &answered {
        if let Some(refused) = response.response().extensions().get::<Refused>() {
            metrics.rate_limit_rejections.with_label_values(&[refused.scope]).inc();
        }
    }
    answered
}
