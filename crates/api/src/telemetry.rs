//! Structured logs through `tracing`; every request's lines carry its request id.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Installs the global subscriber. `RUST_LOG` filters (default `info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    // A second call (tests start several apps in one process) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => registry.with(fmt::layer().json().flatten_event(true).with_current_span(true)).try_init(),
        LogFormat::Text => registry.with(fmt::layer().with_target(false)).try_init(),
    };
}

/// The root span of every request, like tracing-actix-web's default but with secrets kept
/// out of the logs: an invite's token travels in its URL, so that segment is replaced.
pub struct RedactedRootSpan;

/// The request's path as logged: `/v1/invites/{token}` segments are redacted and the
/// query string is dropped.
pub fn loggable_path(path: &str) -> String {
    match path.strip_prefix("/v1/invites/") {
        Some(rest) => match rest.split_once('/') {
            Some((_, tail)) => format!("/v1/invites/{{token}}/{tail}"),
            None => "/v1/invites/{token}".to_owned(),
        },
        None => path.to_owned(),
    }
}

impl tracing_actix_web::RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        let request_id =
            request.extensions().get::<tracing_actix_web::RequestId>().map(ToString::to_string).unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "default".to_owned());
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %loggable_path(request.path()),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn invite_tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/v1/invites/orgi_secret"), "/v1/invites/{token}");
        assert_eq!(loggable_path("/v1/invites/orgi_secret/accept"), "/v1/invites/{token}/accept");
        assert_eq!(loggable_path("/v1/orgs/me/members"), "/v1/orgs/me/members");
    }
}
