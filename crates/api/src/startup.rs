//! Building and running the server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpServer};
use infra::dns::{DnsLimits, HickoryTxtResolver};
use infra::mail::{OutboxWorker, SmtpMailer};
use infra::sealing::{AeadSecretBox, KEY_LEN};
use infra::secrets::SecretHasher;
use infra::{PgStore, SetupError};
use orgd_domain::events::EventService;
use orgd_domain::idempotency::IdempotencyService;
use orgd_domain::verified_domain::{DomainRecheck, TxtResolver};
use orgd_domain::webhooks::Dispatcher;
use secrecy::{ExposeSecret, SecretSlice};
use tracing_actix_web::TracingLogger;
use utoipa::openapi::OpenApi;
use utoipa::OpenApi as _;
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::JwtVerifier;
use crate::config::{Config, ConfigError};
use crate::error::{ApiError, FieldProblem};
use crate::known_routes::KnownRoutes;
use crate::metrics::listener::MetricsListener;
use crate::metrics::{self, Metrics};
use crate::openapi::{finish, ApiDoc};
use crate::rate_limit::{self, RateLimiters};
use crate::routes;
use crate::state::{Adapters, AppState, Services};
use crate::telemetry::RedactedRootSpan;
use crate::workers::{self, Periodic};

/// How often expired idempotency records and events are looked for.
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// Largest accepted JSON body.
pub(crate) const JSON_LIMIT_BYTES: usize = 64 * 1024;

/// Why the server could not start; each is one line with the fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("ORGD_BIND: cannot listen on {addr}: {source}; free the port or choose another with ORGD_BIND")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot start the email delivery thread: {0}")]
    Worker(std::io::Error),
    #[error("cannot start the use-case threads: {0}")]
    Threads(std::io::Error),
    #[error(
        "ORGD_METRICS_BIND: cannot listen on {addr}: {source}; free the port or choose another with ORGD_METRICS_BIND"
    )]
    MetricsBind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot set up the metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Registers every documented route; shared by the server and by [`openapi`] so the
/// document cannot drift from what is served.
macro_rules! register_routes {
    ($app:expr) => {
        $app.into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .service(routes::health::healthz)
            .service(routes::health::readyz)
            .service(scope::scope("/v1").configure(routes::v1))
            .service(scope::scope(routes::scim_v2::SCIM_ROOT).configure(routes::scim_v2::routes))
            .split_for_parts()
    };
}

#[cfg(test)]
pub(crate) use register_routes;

/// The OpenAPI document the server serves at `/openapi.json`.
pub fn openapi() -> OpenApi {
    let (_, api) = register_routes!(App::new());
    finish(api)
}

fn json_error(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api_error = match &err {
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            "send the body as Content-Type: application/json",
        ),
        JsonPayloadError::Payload(payload) if crate::client_timeout::timed_out(payload) => ApiError::request_timeout(),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Payload too large",
            format!("the body exceeds {JSON_LIMIT_BYTES} bytes"),
        ),
        // Well-formed JSON with a missing or unexpected field is an invalid field, reported like
        // every other one; JSON that cannot be parsed stays a 400.
        JsonPayloadError::Deserialize(serde_error) if serde_error.is_data() => match named_field_problem(serde_error) {
            Some(problem) => ApiError::validation([problem]),
            // serde's own words would repeat the offending value, which may be a secret.
            None => ApiError::bad_request(
                "malformed_request",
                format!(
                    "a value in the body has the wrong JSON type or is not one of those allowed (line {}, column {})",
                    serde_error.line(),
                    serde_error.column()
                ),
            ),
        },
        _ => ApiError::bad_request("malformed_request", format!("the body cannot be read: {err}")),
    };
    api_error.into()
}

/// The field a deserialization error names, as a field problem. serde reports the field
/// only in its message (`missing field `name``, `unknown field `x`, expected one of …`),
/// and only for these kinds; a value of the wrong type is reported without its field.
fn named_field_problem(err: &serde_json::Error) -> Option<FieldProblem> {
    let message = err.to_string();
    // serde_json appends the position; the field name says more to the client.
    let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(text, _)| text);
    let kinds = [
        ("missing field `", "required", "is required"),
        ("unknown field `", "unknown_field", "is not a field of this request"),
        ("duplicate field `", "duplicate_field", "is given more than once"),
    ];
    kinds.iter().find_map(|(prefix, code, problem)| {
        let (field, rest) = message.strip_prefix(prefix)?.split_once('`')?;
        let hint = rest.strip_prefix(", ").map(|expected| format!("; {expected}")).unwrap_or_default();
        Some(FieldProblem {
            field: field.to_owned(),
            code: (*code).to_owned(),
            message: format!("`{field}` {problem}{hint}"),
        })
    })
}

fn query_error(err: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_query", format!("the query string cannot be read: {err}")).into()
}

fn path_error(_: PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::not_found("resource").into()
}

/// Echoes the request id every log line of the request carries, so a client can quote it.
async fn expose_request_id(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    let request_id = req.extensions().get::<tracing_actix_web::RequestId>().map(ToString::to_string);
    let mut response = next.call(req).await?;
    if let Some(value) = request_id.and_then(|id| actix_web::http::header::HeaderValue::from_str(&id).ok()) {
        response.headers_mut().insert(actix_web::http::header::HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}

/// A request no route took: 405 with `Allow` when the path exists with other methods,
/// 404 otherwise.
async fn no_route(
    req: HttpRequest,
    routes: web::Data<KnownRoutes>,
) -> Result<actix_web::HttpResponse, actix_web::Error> {
    if req.path() == routes::scim_v2::SCIM_ROOT || req.path().starts_with(&format!("{}/", routes::scim_v2::SCIM_ROOT)) {
        return Err(routes::scim_v2::scim_no_route(routes.allowed(req.path()), req.method().as_str()).into());
    }
    match routes.allowed(req.path()) {
        Some(allowed) if !allowed.contains(&req.method().as_str()) => {
            Err(ApiError::method_not_allowed(&allowed).into())
        }
        _ => Err(ApiError::not_found("route").into()),
    }
}

/// Encrypts and decrypts stored secrets under the configured keys.
pub fn secret_box(config: &Config) -> Result<AeadSecretBox, ConfigError> {
    fn key<'k>(var: &'static str, key: &'k SecretSlice<u8>) -> Result<&'k [u8; KEY_LEN], ConfigError> {
        <&[u8; KEY_LEN]>::try_from(key.expose_secret()).map_err(|_| ConfigError {
            var,
            problem: format!("the key is not {KEY_LEN} bytes"),
            fix: "use `openssl rand -hex 32`".to_owned(),
        })
    }
    let current = key("ORGD_ENCRYPTION_KEY", &config.encryption.current)?;
    let previous = config.encryption.previous.as_ref().map(|p| key("ORGD_ENCRYPTION_KEY_PREVIOUS", p)).transpose()?;
    Ok(AeadSecretBox::new(current, previous))
}

/// Moves every stored secret to the current encryption key (`orgd reseal`); answers how
/// many it re-encrypted.
pub fn reseal(config: &Config) -> Result<usize, String> {
    let store = PgStore::new(config.database_url(), 2, config.pool_timeout);
    let secrets = Arc::new(secret_box(config).map_err(|e| e.to_string())?);
    let webhooks = orgd_domain::webhooks::reseal_webhook_secrets(&store, secrets.as_ref(), 100);
    let sso = orgd_domain::sso::SsoService::new(store, Arc::new(orgd_domain::time::SystemClock), secrets);
    let client_secrets = sso.reseal_client_secrets(100);
    Ok(client_secrets.map_err(|e| e.to_string())? + webhooks.map_err(|e| e.to_string())?)
}

/// The service's store: its pool (telling `metrics` of its waits), and the entry cache
/// with its change listener.
fn database_store(config: &Config, metrics: Option<&Metrics>) -> PgStore {
    let settings = &config.database;
    let pool = infra::PoolSettings {
        size: config.pool_size,
        acquire_timeout: config.pool_timeout,
        statement_cache: settings.statement_cache,
    };
    let store = match metrics {
        Some(metrics) => PgStore::observed(config.database_url(), pool, metrics.pool_observer()),
        None => PgStore::with_settings(config.database_url(), pool),
    };
    if settings.entry_cache_size == 0 {
        return store;
    }
    store.with_entry_cache(
        infra::entry_cache::EntryCacheSettings { capacity: settings.entry_cache_size },
        config.session_database_url(),
    )
}

pub struct Application {
    server: Server,
    addr: SocketAddr,
    /// Serves `/metrics` apart from the API, when `ORGD_METRICS_BIND` is set.
    metrics: Option<MetricsListener>,
    /// Stops when the application is dropped.
    _outbox: Option<OutboxWorker>,
    /// Re-verifies domains daily, sweeps expired idempotency records and events, sends
    /// webhook deliveries; they stop when the application is dropped.
    _workers: [Periodic; 3],
}

impl Application {
    /// Verifies the configuration, creates and migrates the database, and binds.
    pub fn build(config: &Config) -> Result<Self, StartError> {
        let verifier = JwtVerifier::from_config(&config.jwt)?;
        // The migrations hold a session-level advisory lock, which a transaction-mode pooler
        // could release on another server connection than the one that took it.
        let applied = infra::setup::prepare_database(config.session_database_url())?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
        let metrics = config.metrics.as_ref().map(|_| Metrics::new()).transpose()?.map(Arc::new);
        let store = database_store(config, metrics.as_deref());
        if let Some(metrics) = &metrics {
            metrics.read_from(store.clone())?;
        }
        let current = config.hmac_key.expose_secret().as_bytes();
        let hasher = match &config.hmac_key_previous {
            Some(previous) => SecretHasher::rotating(current, previous.expose_secret().as_bytes()),
            None => SecretHasher::new(current),
        };
        let secrets = Arc::new(secret_box(config)?);
        let resolver: Arc<dyn TxtResolver> =
            Arc::new(HickoryTxtResolver::new(&config.domains.resolver, DnsLimits::default()).map_err(|e| {
                ConfigError {
                    var: "ORGD_DNS_RESOLVER",
                    problem: e.to_string(),
                    fix: "use `system` on a host with /etc/resolv.conf, or a resolver's address, e.g. 127.0.0.1:53"
                        .to_owned(),
                }
            })?);
        let recheck = workers::recheck_domains(
            DomainRecheck::new(store.clone(), Arc::new(orgd_domain::time::SystemClock), Arc::clone(&resolver)),
            config.domains.recheck_interval,
        )
        .map_err(StartError::Worker)?;
        let clock = Arc::new(orgd_domain::time::SystemClock);
        let sweep = workers::sweep_expired(
            IdempotencyService::new(store.clone(), clock.clone(), secrets.clone()),
            EventService::new(store.clone(), clock.clone()),
            SWEEP_INTERVAL,
        )
        .map_err(StartError::Worker)?;
        let guard = infra::webhook::NetworkGuard { allow_internal: config.webhooks.allow_private };
        let mut dispatcher = Dispatcher::new(
            store.clone(),
            clock.clone(),
            secrets.clone(),
            Arc::new(infra::webhook::HttpTransport::new(guard)),
        );
        dispatcher.backoff_scale = config.webhooks.backoff_scale;
        let dispatch =
            workers::dispatch_webhooks(dispatcher, config.webhooks.poll_interval).map_err(StartError::Worker)?;
        let services = Services::new(
            store,
            hasher.clone(),
            config.invites.clone(),
            config.default_plan,
            &config.public_url,
            Adapters { secrets, resolver, guard: Arc::new(guard) },
        );
        let outbox = Self::start_outbox(config)?;
        let state = web::Data::new(
            AppState::new(
                services,
                verifier,
                hasher,
                config.trust_forwarded_for,
                (config.pool_size, config.pool_timeout),
            )
            .map_err(StartError::Threads)?,
        );
        let body_deadline = web::Data::new(crate::client_timeout::BodyDeadline(config.client_timeout));
        let limiters = web::Data::new(RateLimiters::new(config.rate_limits, config.trust_forwarded_for));
        let listener =
            TcpListener::bind(config.bind).map_err(|source| StartError::Bind { addr: config.bind, source })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind { addr: config.bind, source })?;
        let metrics_listener = config
            .metrics
            .as_ref()
            .zip(metrics.as_ref())
            .map(|(settings, metrics)| {
                metrics::listener::bind(settings, Arc::clone(metrics))
                    .map_err(|source| StartError::MetricsBind { addr: settings.bind, source })
            })
            .transpose()?;
        let metrics = metrics.map(web::Data::from);
        let server = HttpServer::new(move || {
            let (app, api) = register_routes!(App::new());
            let api = finish(api);
            let app = match &metrics {
                Some(metrics) => app.app_data(metrics.clone()),
                None => app,
            };
            app.app_data(state.clone())
                .app_data(body_deadline.clone())
                .app_data(limiters.clone())
                .app_data(web::Data::new(KnownRoutes::from_openapi(&api)))
                .app_data(web::JsonConfig::default().limit(JSON_LIMIT_BYTES).error_handler(json_error))
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .app_data(web::PathConfig::default().error_handler(path_error))
                .service(web::redirect("/docs", "/docs/").permanent())
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api))
                .default_service(web::to(no_route))
                .wrap(actix_web::middleware::from_fn(crate::idempotency::replay_or_keep))
                .wrap(actix_web::middleware::from_fn(crate::client_timeout::bound_body))
                .wrap(actix_web::middleware::from_fn(rate_limit::limit))
                .wrap(actix_web::middleware::from_fn(expose_request_id))
                .wrap(actix_web::middleware::from_fn(metrics::record))
                .wrap(TracingLogger::<RedactedRootSpan>::new())
        })
        .workers(config.workers)
        .client_request_timeout(config.client_timeout)
        .client_disconnect_timeout(std::time::Duration::from_secs(1))
        .shutdown_timeout(10)
        .listen(listener)
        .map_err(|source| StartError::Bind { addr: config.bind, source })?
        .run();
        Ok(Self { server, addr, metrics: metrics_listener, _outbox: outbox, _workers: [recheck, sweep, dispatch] })
    }

    /// Delivers queued email when SMTP is configured; otherwise it waits in the outbox.
    fn start_outbox(config: &Config) -> Result<Option<OutboxWorker>, StartError> {
        let Some(url) = &config.mail.smtp_url else {
            tracing::info!("ORGD_SMTP_URL is not set: emails stay queued in the outbox");
            return Ok(None);
        };
        let mailer = SmtpMailer::new(url.expose_secret(), &config.mail.from).map_err(|problem| ConfigError {
            var: "ORGD_SMTP_URL",
            problem,
            fix: "use e.g. smtp://127.0.0.1:2525".to_owned(),
        })?;
        let worker = OutboxWorker::spawn(
            config.session_database_url().to_owned(),
            Box::new(mailer),
            config.mail.delivery.clone(),
        )
        .map_err(StartError::Worker)?;
        Ok(Some(worker))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|metrics| metrics.addr)
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests; the metrics listener
    /// stops after the API.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        tracing::info!(addr = %self.addr, "orgd listening");
        let Some(metrics) = self.metrics else { return self.server.await };
        tracing::info!(addr = %metrics.addr, "metrics at /metrics");
        let stop_metrics = metrics.server.handle();
        let api = async {
            let served = self.server.await;
            stop_metrics.stop(true).await;
            served
        };
        let (served, metrics_served) = futures_util::future::join(api, metrics.server).await;
        if let Err(error) = metrics_served {
            tracing::warn!(%error, "the metrics listener failed");
        }
        served
    }
}
