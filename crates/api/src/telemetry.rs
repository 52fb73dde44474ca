//! Structured logs through `tracing`: one line per request, and a request id on every line
//! logged while serving it.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest};
use orgd_domain::Principal;
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer, Registry};

use crate::config::LogFormat;
use crate::error::ApiError;
use crate::known_routes::route_pattern;

/// Installs the global subscriber, writing to stdout. `RUST_LOG` filters (default `info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    // A second call (tests start several apps in one process) keeps the first subscriber.
    let _ = subscriber(format, filter, std::io::stdout, ansi).try_init();
}

fn subscriber<W>(format: LogFormat, filter: EnvFilter, writer: W, ansi: bool) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = match format {
        // The request span is on every line already; the list of spans would repeat it.
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer)
            .boxed(),
        LogFormat::Text => fmt::layer().with_target(false).with_ansi(ansi).with_writer(writer).boxed(),
    };
    Registry::default().with(filter).with(layer)
}

/// The root span of every request and its one log line when it ends.
///
/// The span holds the method, the route pattern and the request id, so every line logged
/// while serving the request carries them. Secrets stay out: the route is the pattern
/// (`/v1/invites/{token}`), never the path, and no header is recorded. When the request
/// ends, one line adds the status, the latency and the principal: at INFO, with the problem
/// `code` for a 4xx, and at ERROR with the cause for a 5xx.
pub struct RedactedRootSpan;

/// When the request arrived, for its latency.
struct Arrived(Instant);

/// Who made the request, as logged; recorded by authentication.
#[derive(Clone)]
struct LoggedPrincipal(String);

/// Names the request's principal in its log line: the token's subject for a user. An API
/// key is not identified until its use case looks it up, so it is logged as `api_key`.
pub fn record_principal(req: &HttpRequest, principal: &Principal) {
    let logged = match principal {
        Principal::User(identity) => format!("user:{}", identity.subject),
        Principal::ApiKey(_) => "api_key".to_owned(),
    };
    req.extensions_mut().insert(LoggedPrincipal(logged));
}

/// Longest unmatched path logged; anyone can send any path.
const MAX_LOGGED_PATH: usize = 100;

/// A path that matched no route, as logged. Anyone can send any path, spelled any way:
/// each segment is judged percent-decoded (so `/v1/%69nvites/%6Frgi_…` is recognised),
/// the segment after `/v1/invites/` and any segment holding a secret's prefix are replaced
/// by `{token}`, the query string is dropped and the length capped.
pub fn loggable_path(path: &str) -> String {
    const SECRET_PREFIXES: [&str; 3] = ["orgi_", "orgk_", "orgs_"];
    let segments: Vec<String> =
        path.split('/').map(|raw| percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()).collect();
    let invite_token = match segments.as_slice() {
        [_, v1, invites, ..] if v1.eq_ignore_ascii_case("v1") && invites.eq_ignore_ascii_case("invites") => Some(3),
        _ => None,
    };
    let logged: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(i, segment)| {
            let lowered = segment.to_ascii_lowercase();
            if Some(i) == invite_token || SECRET_PREFIXES.iter().any(|prefix| lowered.contains(prefix)) {
                "{token}"
            } else {
                segment.as_str()
            }
        })
        .collect();
    logged.join("/").chars().take(MAX_LOGGED_PATH).collect()
}

impl tracing_actix_web::RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        request.extensions_mut().insert(Arrived(Instant::now()));
        let request_id =
            request.extensions().get::<tracing_actix_web::RequestId>().map(ToString::to_string).unwrap_or_default();
        // A request routed to `/v1/invites/{token}` is logged as that pattern however spelled.
        let route = route_pattern(request).unwrap_or_else(|| loggable_path(request.match_info().as_str()));
        tracing::info_span!("request", method = %request.method(), route = %route, request_id = %request_id)
    }

    fn on_request_end<B: MessageBody>(span: tracing::Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        // tracing-actix-web calls this inside the span already; entering it here keeps the
        // line attached to its request whatever that crate does.
        let _entered = span.enter();
        match outcome {
            Ok(response) => {
                let extensions = response.request().extensions();
                let latency = extensions.get::<Arrived>().map(|a| a.0.elapsed());
                let principal = extensions.get::<LoggedPrincipal>().map(|p| p.0.as_str());
                log_request_end(response.status(), latency, principal, response.response().error());
            }
            Err(error) => log_request_end(error.as_response_error().status_code(), None, None, Some(error)),
        }
    }
}

fn log_request_end(
    status: StatusCode,
    latency: Option<std::time::Duration>,
    principal: Option<&str>,
    error: Option<&actix_web::Error>,
) {
    let status = status.as_u16();
    // Tenths of a millisecond: finer digits are noise at this scale.
    let latency_ms = latency.map(|d| (d.as_secs_f64() * 10_000.0).round() / 10.0);
    let principal = tracing::field::display(principal.unwrap_or("-"));
    let api_error = error.and_then(|e| e.as_error::<ApiError>());
    let code = api_error.map(|e| tracing::field::display(e.code()));
    if status >= 500 {
        // The client saw a generic problem; the cause is for the operator.
        let cause = match (api_error, error) {
            (Some(api_error), _) => api_error.cause().unwrap_or_default().to_owned(),
            (None, Some(error)) => error.to_string(),
            (None, None) => String::new(),
        };
        tracing::error!(status, latency_ms, principal, code, cause, "failed");
    } else {
        tracing::info!(status, latency_ms, principal, code, "finished");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use actix_web::test as http;
    use actix_web::{web, App, HttpRequest, HttpResponse};
    use orgd_domain::{ApiKeyCredential, Identity};
    use tracing_actix_web::TracingLogger;

    use super::*;

    #[test]
    fn unmatched_paths_never_log_invite_tokens() {
        assert_eq!(loggable_path("/v1/invites/orgi_secret"), "/v1/invites/{token}");
        assert_eq!(loggable_path("/v1/invites/orgi_secret/accept"), "/v1/invites/{token}/accept");
        assert_eq!(loggable_path("/v1/orgs/me/members"), "/v1/orgs/me/members");
        // However the path is spelled.
        assert_eq!(loggable_path("/v1/%69nvites/%6Frgi_secret"), "/v1/invites/{token}");
        assert_eq!(loggable_path("/V1/Invites/orgi_secret/nowhere"), "/V1/Invites/{token}/nowhere");
        assert_eq!(loggable_path("/v1/orgs/%6FRGK_secret/x"), "/v1/orgs/{token}/x");
        assert_eq!(loggable_path("/v2/anything/orgs_secret"), "/v2/anything/{token}");
        assert_eq!(loggable_path(&"/x".repeat(500)).len(), MAX_LOGGED_PATH);
    }

    /// Log output captured in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<String> {
            let bytes = self.0.lock().unwrap().clone();
            String::from_utf8(bytes).unwrap().lines().map(str::to_owned).collect()
        }
    }

    const INVITE: &str = "orgi_SecretInviteToken0123456789abcdef";
    const BEARER: &str = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.signature";

    async fn preview(_: web::Path<String>) -> Result<HttpResponse, ApiError> {
        Err(ApiError::not_found("invite"))
    }

    async fn accept(req: HttpRequest, _: web::Path<String>) -> HttpResponse {
        let identity = Identity {
            subject: "alice".into(),
            email: None,
            email_verified: false,
            name: None,
            auth_methods: Vec::new(),
            auth_time: None,
            sign_in_method: None,
            staff: None,
        };
        record_principal(&req, &Principal::User(identity));
        HttpResponse::Ok().finish()
    }

    async fn by_key(req: HttpRequest) -> HttpResponse {
        record_principal(
            &req,
            &Principal::ApiKey(ApiKeyCredential { hashes: orgd_domain::token::LookupHashes::current(vec![1, 2, 3]) }),
        );
        HttpResponse::NoContent().finish()
    }

    async fn broken() -> Result<HttpResponse, ApiError> {
        Err(ApiError::internal("pool: connection reset by peer"))
    }

    /// Serves the requests with logs captured, and returns the lines logged.
    async fn logged(format: LogFormat, requests: Vec<http::TestRequest>) -> Vec<String> {
        let captured = Captured::default();
        let writer = captured.clone();
        let _default =
            tracing::subscriber::set_default(subscriber(format, EnvFilter::new("info"), move || writer.clone(), false));
        let app = http::init_service(
            App::new()
                .route("/v1/invites/{token}", web::get().to(preview))
                .route("/v1/invites/{token}/accept", web::post().to(accept))
                .route("/v1/orgs/{org}/members", web::get().to(by_key))
                .route("/boom", web::get().to(broken))
                .wrap(TracingLogger::<RedactedRootSpan>::new()),
        )
        .await;
        for request in requests {
            http::call_service(&app, request.to_request()).await;
        }
        captured.lines()
    }

    fn bearer(request: http::TestRequest) -> http::TestRequest {
        request.insert_header(("authorization", format!("Bearer {BEARER}")))
    }

    #[actix_web::test]
    async fn each_request_logs_one_short_line_without_secrets() {
        let lines = logged(
            LogFormat::Text,
            vec![
                bearer(http::TestRequest::get().uri(&format!("/v1/invites/{INVITE}"))),
                bearer(http::TestRequest::post().uri(&format!("/v1/invites/{INVITE}/accept?token={INVITE}"))),
                bearer(http::TestRequest::get().uri("/v1/orgs/me/members?q=alice")),
                http::TestRequest::get().uri(&format!("/v1/invites/{INVITE}/nowhere")),
                bearer(http::TestRequest::post().uri(&format!("/v1/%69nvites/{INVITE}/accept"))),
            ],
        )
        .await;
        assert_eq!(lines.len(), 5, "{lines:#?}");
        for line in &lines {
            assert!(!line.contains(INVITE) && !line.contains("orgi_"), "invite token logged: {line}");
            assert!(!line.contains(BEARER) && !line.contains("eyJ"), "bearer token logged: {line}");
            assert!(line.contains(" INFO ") && line.contains("request_id=") && line.contains("latency_ms="), "{line}");
            assert!(line.len() < 300, "short: {line}");
        }
        assert!(lines[0].contains("method=GET route=/v1/invites/{token}"), "{}", lines[0]);
        assert!(lines[0].contains("finished status=404") && lines[0].contains("code=not_found"), "{}", lines[0]);
        assert!(lines[1].contains("route=/v1/invites/{token}/accept"), "{}", lines[1]);
        assert!(lines[1].contains("status=200") && lines[1].contains("principal=user:alice"), "{}", lines[1]);
        assert!(lines[2].contains("route=/v1/orgs/{org}/members") && !lines[2].contains("alice"), "{}", lines[2]);
        assert!(lines[2].contains("status=204") && lines[2].contains("principal=api_key"), "{}", lines[2]);
        assert!(lines[3].contains("route=/v1/invites/{token}/nowhere") && lines[3].contains("status=404"));
        assert!(
            lines[4].contains("route=/v1/invites/{token}/accept") && lines[4].contains("status=200"),
            "{}",
            lines[4]
        );
    }

    #[actix_web::test]
    async fn a_server_error_is_logged_once_with_its_cause() {
        let lines = logged(LogFormat::Json, vec![http::TestRequest::get().uri("/boom")]).await;
        assert_eq!(lines.len(), 1, "{lines:#?}");
        let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["status"], 500);
        assert_eq!(line["code"], "internal_error");
        assert_eq!(line["cause"], "pool: connection reset by peer");
        assert_eq!(line["span"]["route"], "/boom");
        assert!(line["span"]["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    }
}
