//! Configuration, read once from environment variables at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use infra::dns::DnsResolverSetting;
use orgd_domain::policy::Plan;
use secrecy::{ExposeSecret, SecretSlice, SecretString};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/orgd";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_STAFF_CLAIM: &str = "orgd_staff";
/// Tokens past their `exp` by more than this are refused; within it they are accepted, to
/// allow for clock skew between the identity provider and this server. So a token minted
/// with a 1 s lifetime works for about 30 s.
pub const TOKEN_LEEWAY_SECS: u64 = 30;
/// Shorter keys can be brute-forced offline (an HS256 key from a single token).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// The keys the Makefile sets for `make run`. They are public, so a production server
/// refuses them.
pub const DEV_JWT_SECRET: &str = "dev-only-secret-do-not-deploy-0123456789abcdef";
pub const DEV_HMAC_KEY: &str = "dev-only-hmac-key-do-not-deploy-0123456789abcdef";
pub const DEV_ENCRYPTION_KEY: &str = "00000000000000000000000000000000000000000000000000000000000000de";

/// A setting that is missing or unusable, worded as one line naming the variable and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}; {fix}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
    pub fix: String,
}

impl ConfigError {
    fn new(var: &'static str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { var, problem: problem.into(), fix: fix.into() }
    }
}

/// Every unusable setting at once, one line each, so a first start is fixed in one pass
/// rather than one variable per attempt.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        Self(vec![error])
    }
}

/// Collects problems while the rest of the settings are still read.
#[derive(Default)]
struct Problems(Vec<ConfigError>);

impl Problems {
    fn check<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    fn push(&mut self, error: ConfigError) {
        self.0.push(error);
    }
}

/// What `ORGD_ENV` says this server is. Production refuses settings that are only safe on
/// a developer's machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deployment {
    Development,
    Production,
}

fn deployment_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Deployment, ConfigError> {
    match var("ORGD_ENV", env).as_deref() {
        None | Some("development") => Ok(Deployment::Development),
        Some("production") => Ok(Deployment::Production),
        // A typo such as `prod` must not quietly turn the production checks off.
        Some(other) => Err(ConfigError::new(
            "ORGD_ENV",
            format!("`{other}` is not an environment"),
            "use production or development",
        )),
    }
}

/// The Makefile's keys, and any edit of them that kept their warning.
fn is_development_key(key: &str) -> bool {
    key == DEV_JWT_SECRET || key == DEV_HMAC_KEY || key.contains("do-not-deploy")
}

/// A key of at least [`MIN_JWT_SECRET_BYTES`], and not a public development one in production.
fn check_key(name: &'static str, key: &str, deployment: Deployment, keep_stable: &str) -> Result<(), ConfigError> {
    if key.len() < MIN_JWT_SECRET_BYTES {
        return Err(ConfigError::new(
            name,
            format!("the key has {} bytes, fewer than {MIN_JWT_SECRET_BYTES}", key.len()),
            format!(
                "use a random key of at least {MIN_JWT_SECRET_BYTES} bytes, e.g. `openssl rand -hex 32`{keep_stable}"
            ),
        ));
    }
    if deployment == Deployment::Production && is_development_key(key) {
        return Err(ConfigError::new(
            name,
            "it is the public development key from the Makefile, and ORGD_ENV is production",
            format!("generate a key of your own, e.g. `openssl rand -hex 32`{keep_stable}"),
        ));
    }
    Ok(())
}

const HMAC_KEY_STABLE: &str =
    "; keep it: stored API keys, invite links and SCIM tokens are hashed under it (rotate it with ORGD_HMAC_KEY_PREVIOUS)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// How bearer JWTs are verified.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    pub hs256_secret: Option<SecretString>,
    pub jwks_file: Option<PathBuf>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// The claim that marks platform staff when `true`.
    pub staff_claim: String,
    /// The claim naming how the person signed in (`google`, `sso`, …), when the identity
    /// provider sets one; `amr` is used otherwise.
    pub sign_in_method_claim: Option<String>,
}

/// Outbound email.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// Where to deliver; without it, emails stay queued in the outbox (and are logged).
    pub smtp_url: Option<SecretString>,
    pub from: String,
    pub delivery: infra::mail::DeliverySettings,
}

pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";
pub const DEFAULT_MAIL_FROM: &str = "orgd <no-reply@localhost>";

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: SecretString,
    /// Key of the HMAC that stored secrets (API keys, invite links, SCIM tokens) are
    /// hashed with.
    pub hmac_key: SecretString,
    /// During a rotation, the key `hmac_key` replaced: secrets still stored under it are
    /// found, and moved to `hmac_key` when first used.
    pub hmac_key_previous: Option<SecretString>,
    pub bind: SocketAddr,
    pub jwt: JwtConfig,
    pub pool_size: u32,
    pub pool_timeout: Duration,
    /// Prepared statements, the change listener and the entry cache.
    pub database: DatabaseSettings,
    /// How long a client has to send a request's head, and then its body: a slow client is
    /// answered 408 and let go rather than kept.
    pub client_timeout: Duration,
    pub workers: usize,
    pub log_format: LogFormat,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Where people reach the product; invite links are `{public_url}/invites/{token}`.
    pub public_url: String,
    pub invites: orgd_domain::invite::InviteSettings,
    pub mail: MailConfig,
    /// The plan new organizations start on; platform staff change it per organization.
    pub default_plan: Plan,
    pub encryption: EncryptionKeys,
    pub domains: DomainConfig,
    pub webhooks: WebhookConfig,
    pub rate_limits: crate::rate_limit::RateLimits,
    /// Where `/metrics` is served for Prometheus, apart from the public listener; `None`
    /// serves no metrics.
    pub metrics: Option<MetricsConfig>,
}

/// The metrics listener: `ORGD_METRICS_BIND`, and `ORGD_METRICS_TOKEN` when scrapes must
/// present it as a bearer token.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub bind: SocketAddr,
    pub token: Option<SecretString>,
}

/// A metrics token shorter than this could be guessed.
pub const MIN_METRICS_TOKEN_BYTES: usize = 16;

/// How webhook deliveries are sent.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Whether connections keep named prepared statements (`ORGD_DB_STATEMENT_CACHE`); off
    /// behind a pooler in transaction mode.
    pub statement_cache: bool,
    /// A direct connection (`ORGD_DB_LISTEN_URL`) for what needs a session of its own — the
    /// change listener, the migrations' advisory lock at start, the email worker — when
    /// `DATABASE_URL` goes through a pooler in transaction mode, which keeps none.
    pub listen_url: Option<SecretString>,
    /// Entries of each kind the entry cache keeps (`ORGD_ENTRY_CACHE_SIZE`); 0 turns it off.
    pub entry_cache_size: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct WebhookConfig {
    /// `ORGD_WEBHOOK_ALLOW_PRIVATE`: let webhooks reach internal addresses (loopback,
    /// private networks) and plain http; for development and tests only.
    pub allow_private: bool,
    /// How often the dispatcher looks for due deliveries when idle.
    pub poll_interval: Duration,
    /// Multiplies every retry wait: 1, but in tests.
    pub backoff_scale: f64,
}

/// How domain ownership is checked.
#[derive(Debug, Clone)]
pub struct DomainConfig {
    /// `ORGD_DNS_RESOLVER`: `system` (default) or one resolver's `ip[:port]`.
    pub resolver: DnsResolverSetting,
    /// `ORGD_DOMAIN_RECHECK_INTERVAL_SECS`: how often the worker looks for verified domains
    /// due for their daily re-check.
    pub recheck_interval: Duration,
}

/// The keys secrets that must be read back (OIDC client secrets) are encrypted under, each
/// exactly [`ENCRYPTION_KEY_BYTES`] long.
#[derive(Debug, Clone)]
pub struct EncryptionKeys {
    /// Seals every new secret, and opens what it sealed.
    pub current: SecretSlice<u8>,
    /// Only opens what it sealed before a rotation; `orgd reseal` moves those secrets to
    /// the current key, after which it can be unset.
    pub previous: Option<SecretSlice<u8>>,
}

pub const ENCRYPTION_KEY_BYTES: usize = 32;

/// Reads a variable; unset and empty are the same.
fn var(name: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn parse_number<T>(name: &'static str, raw: Option<String>, default: T, range: (T, T)) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = raw else { return Ok(default) };
    match raw.parse::<T>() {
        Ok(v) if v >= range.0 && v <= range.1 => Ok(v),
        _ => Err(ConfigError::new(
            name,
            format!("`{raw}` is not a number from {} to {}", range.0, range.1),
            format!("unset it for {default}"),
        )),
    }
}

/// `ORGD_RATE_LIMIT_*`: requests a minute, a quarter of them at once; 0 turns a limit off.
fn rate_limits_from_env(
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> crate::rate_limit::RateLimits {
    use crate::rate_limit::{Rate, RateLimits};
    let mut read = |name: &'static str, default: u32| {
        problems.check(parse_number(name, var(name, env), default, (0, 100_000_000))).and_then(Rate::per_minute)
    };
    RateLimits {
        per_ip: read("ORGD_RATE_LIMIT_PER_IP", RateLimits::DEFAULT_PER_IP),
        per_credential: read("ORGD_RATE_LIMIT_PER_CREDENTIAL", RateLimits::DEFAULT_PER_CREDENTIAL),
        invites: read("ORGD_RATE_LIMIT_INVITES", RateLimits::DEFAULT_INVITES),
        scim: read("ORGD_RATE_LIMIT_SCIM", RateLimits::DEFAULT_SCIM),
    }
}

fn parse_bool(name: &'static str, raw: Option<String>) -> Result<bool, ConfigError> {
    match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => Err(ConfigError::new(name, format!("`{other}` is not a boolean"), "use true or false")),
    }
}

impl JwtConfig {
    fn from_env(env: &dyn Fn(&str) -> Option<String>, deployment: Deployment, problems: &mut Problems) -> Option<Self> {
        let before = problems.0.len();
        let hs256_secret = var("ORGD_JWT_SECRET", env);
        if let Some(secret) = &hs256_secret {
            problems.check(check_key("ORGD_JWT_SECRET", secret, deployment, ""));
        }
        let jwks_file = var("ORGD_JWKS_FILE", env).map(PathBuf::from);
        if let Some(path) = &jwks_file {
            if !path.is_file() {
                problems.push(ConfigError::new(
                    "ORGD_JWKS_FILE",
                    format!("`{}` is not a readable file", path.display()),
                    "point it at a JWKS JSON file",
                ));
            }
        }
        if hs256_secret.is_none() && jwks_file.is_none() {
            problems.push(ConfigError::new(
                "ORGD_JWT_SECRET",
                "no way to verify tokens is configured",
                "set ORGD_JWT_SECRET (HS256 key, at least 32 bytes; `make run` sets a development one) \
                 and/or ORGD_JWKS_FILE (RS256/ES256 public keys of your identity provider)",
            ));
        }
        let issuer = var("ORGD_JWT_ISSUER", env);
        let audience = var("ORGD_JWT_AUDIENCE", env);
        if jwks_file.is_some() {
            problems.0.extend(missing_issuer_or_audience(issuer.is_some(), audience.is_some()));
        }
        (problems.0.len() == before).then(|| Self {
            hs256_secret: hs256_secret.map(SecretString::from),
            jwks_file,
            issuer,
            audience,
            staff_claim: var("ORGD_STAFF_CLAIM", env).unwrap_or_else(|| DEFAULT_STAFF_CLAIM.to_owned()),
            sign_in_method_claim: var("ORGD_SIGN_IN_METHOD_CLAIM", env),
        })
    }

    /// What `orgd token` needs to sign tokens the server accepts: the HS256 key, and the
    /// issuer, audience and staff claim the server expects. Public keys are not needed (and
    /// cannot sign).
    pub fn signing_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secret = var("ORGD_JWT_SECRET", env).ok_or_else(|| {
            ConfigError::new(
                "ORGD_JWT_SECRET",
                "not set, and `orgd token` signs with the server's HS256 key (a JWKS file holds public keys, \
                 which cannot sign)",
                "run `make -s token SUB=alice EMAIL=alice@example.com`, which uses the development key `make run` \
                 serves with (both are set in the Makefile), or set ORGD_JWT_SECRET to your server's key",
            )
        })?;
        check_key("ORGD_JWT_SECRET", &secret, Deployment::Development, "")?;
        Ok(Self {
            hs256_secret: Some(SecretString::from(secret)),
            jwks_file: None,
            issuer: var("ORGD_JWT_ISSUER", env),
            audience: var("ORGD_JWT_AUDIENCE", env),
            staff_claim: var("ORGD_STAFF_CLAIM", env).unwrap_or_else(|| DEFAULT_STAFF_CLAIM.to_owned()),
            sign_in_method_claim: var("ORGD_SIGN_IN_METHOD_CLAIM", env),
        })
    }

    /// Whether the staff claim of a verified token can be believed: only when tokens are
    /// bound to this service by issuer and audience, as another application's token could
    /// otherwise make its bearer platform staff here.
    pub fn trusts_staff_claim(&self) -> bool {
        self.issuer.is_some() && self.audience.is_some()
    }
}

/// Public keys verify whatever the identity provider signed, for every application it
/// serves; only the issuer and audience tell a token meant for orgd from one meant for
/// another application.
pub(crate) fn missing_issuer_or_audience(issuer: bool, audience: bool) -> Vec<ConfigError> {
    let mut missing = Vec::new();
    if !issuer {
        missing.push(ConfigError::new(
            "ORGD_JWT_ISSUER",
            "not set, but ORGD_JWKS_FILE is: tokens from any issuer using those keys would be accepted",
            "set it to your identity provider's issuer (`iss`), e.g. https://idp.example.com/",
        ));
    }
    if !audience {
        missing.push(ConfigError::new(
            "ORGD_JWT_AUDIENCE",
            "not set, but ORGD_JWKS_FILE is: tokens your identity provider issued for any other application \
             would be accepted",
            "set it to the audience (`aud`) your identity provider puts in tokens meant for orgd",
        ));
    }
    missing
}

impl Config {
    pub fn from_process_env() -> Result<Self, ConfigErrors> {
        Self::from_env(&|name| std::env::var(name).ok())
    }

    /// Reads every setting and reports every problem found, not just the first.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let mut problems = Problems::default();
        let deployment = problems.check(deployment_from_env(env));
        // With ORGD_ENV unreadable, the production checks still run, so their problems are
        // reported in the same pass.
        let deployment = deployment.unwrap_or(Deployment::Production);
        let database_url = problems.check(database_url_from_env(env));
        let bind = problems.check(bind_from_env(env));
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let workers = problems.check(parse_number("ORGD_WORKERS", var("ORGD_WORKERS", env), cores, (1, 256)));
        let pool_size = problems.check(parse_number("ORGD_DB_POOL_SIZE", var("ORGD_DB_POOL_SIZE", env), 16, (1, 1000)));
        let pool_timeout_secs = problems.check(parse_number(
            "ORGD_DB_POOL_TIMEOUT_SECS",
            var("ORGD_DB_POOL_TIMEOUT_SECS", env),
            5,
            (1, 300),
        ));
        let client_timeout_secs = problems.check(parse_number(
            "ORGD_CLIENT_TIMEOUT_SECS",
            var("ORGD_CLIENT_TIMEOUT_SECS", env),
            10,
            (1, 300),
        ));
        let log_format = problems.check(log_format_from_env(env));
        let hmac_key = problems.check(hmac_key_from_env(env, deployment));
        let public_url = problems.check(public_url_from_env(env));
        let mail = problems.check(mail_from_env(env));
        let trust_forwarded_for =
            problems.check(parse_bool("ORGD_TRUST_FORWARDED_FOR", var("ORGD_TRUST_FORWARDED_FOR", env)));
        let jwt = JwtConfig::from_env(env, deployment, &mut problems);
        let default_plan = problems.check(default_plan_from_env(env));
        let encryption = encryption_keys_from_env(env, deployment, &mut problems);
        let domains = problems.check(domains_from_env(env));
        let allow_private_webhooks =
            problems.check(parse_bool("ORGD_WEBHOOK_ALLOW_PRIVATE", var("ORGD_WEBHOOK_ALLOW_PRIVATE", env)));
        let rate_limits = rate_limits_from_env(env, &mut problems);
        let database = database_settings_from_env(env, &mut problems);
        let metrics = metrics_from_env(env, bind, &mut problems);
        let (
            Some(database_url),
            Some(bind),
            Some(workers),
            Some(pool_size),
            Some(pool_timeout_secs),
            Some(client_timeout_secs),
            Some(log_format),
            Some(hmac_key),
            Some(public_url),
            Some(mail),
            Some(trust_forwarded_for),
            Some(jwt),
            Some(default_plan),
            Some(encryption),
            Some(domains),
            Some(allow_private_webhooks),
            Some(database),
            Some(metrics),
            true,
        ) = (
            database_url,
            bind,
            workers,
            pool_size,
            pool_timeout_secs,
            client_timeout_secs,
            log_format,
            hmac_key,
            public_url,
            mail,
            trust_forwarded_for,
            jwt,
            default_plan,
            encryption,
            domains,
            allow_private_webhooks,
            database,
            metrics,
            problems.0.is_empty(),
        )
        else {
            return Err(ConfigErrors(problems.0));
        };
        Ok(Self {
            database_url,
            hmac_key: SecretString::from(hmac_key.0),
            hmac_key_previous: hmac_key.1.map(SecretString::from),
            invites: orgd_domain::invite::InviteSettings {
                accept_url_base: format!("{public_url}/invites/"),
                ..orgd_domain::invite::InviteSettings::default()
            },
            public_url,
            mail,
            bind,
            jwt,
            pool_size,
            pool_timeout: Duration::from_secs(pool_timeout_secs),
            database,
            client_timeout: Duration::from_secs(client_timeout_secs),
            workers,
            log_format,
            trust_forwarded_for,
            default_plan,
            encryption,
            domains,
            webhooks: WebhookConfig {
                allow_private: allow_private_webhooks,
                poll_interval: Duration::from_secs(1),
                backoff_scale: 1.0,
            },
            rate_limits,
            metrics,
        })
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }

    /// Where a connection that must keep its session goes: `ORGD_DB_LISTEN_URL`, else
    /// `DATABASE_URL`.
    pub fn session_database_url(&self) -> &str {
        self.database.listen_url.as_ref().map_or(self.database_url(), |url| url.expose_secret())
    }
}

fn database_settings_from_env(
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> Option<DatabaseSettings> {
    let statement_cache = match var("ORGD_DB_STATEMENT_CACHE", env) {
        None => Some(true),
        set => problems.check(parse_bool("ORGD_DB_STATEMENT_CACHE", set)),
    };
    let listen_url = match var("ORGD_DB_LISTEN_URL", env) {
        None => Some(None),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Some(Some(SecretString::from(url)))
        }
        Some(_) => problems.check(Err(ConfigError::new(
            "ORGD_DB_LISTEN_URL",
            "not a postgres:// URL",
            "set it to a direct connection to the database DATABASE_URL names",
        ))),
    };
    let entry_cache_size = problems.check(parse_number(
        "ORGD_ENTRY_CACHE_SIZE",
        var("ORGD_ENTRY_CACHE_SIZE", env),
        10_000,
        (0, 10_000_000),
    ));
    Some(DatabaseSettings {
        statement_cache: statement_cache?,
        listen_url: listen_url?,
        entry_cache_size: entry_cache_size?,
    })
}

/// `ORGD_METRICS_BIND` and `ORGD_METRICS_TOKEN`; `Some(None)` when metrics are off, `None`
/// when a problem was recorded.
fn metrics_from_env(
    env: &dyn Fn(&str) -> Option<String>,
    public_bind: Option<SocketAddr>,
    problems: &mut Problems,
) -> Option<Option<MetricsConfig>> {
    let token = var("ORGD_METRICS_TOKEN", env);
    if token.as_ref().is_some_and(|token| token.len() < MIN_METRICS_TOKEN_BYTES) {
        problems.push(ConfigError::new(
            "ORGD_METRICS_TOKEN",
            format!("the token is shorter than {MIN_METRICS_TOKEN_BYTES} bytes"),
            "use a random one, e.g. `openssl rand -hex 32`",
        ));
        return None;
    }
    let Some(raw) = var("ORGD_METRICS_BIND", env) else {
        if token.is_some() {
            problems.push(ConfigError::new(
                "ORGD_METRICS_TOKEN",
                "set, but ORGD_METRICS_BIND is not, so no metrics are served",
                "set ORGD_METRICS_BIND too, e.g. 127.0.0.1:9464, or unset ORGD_METRICS_TOKEN",
            ));
            return None;
        }
        return Some(None);
    };
    let bind = match raw.parse::<SocketAddr>() {
        Ok(bind) => bind,
        Err(_) => {
            problems.push(ConfigError::new(
                "ORGD_METRICS_BIND",
                format!("`{raw}` is not a socket address"),
                "use host:port, e.g. 127.0.0.1:9464",
            ));
            return None;
        }
    };
    if public_bind.is_some_and(|public| public.port() == bind.port() && bind.port() != 0) {
        problems.push(ConfigError::new(
            "ORGD_METRICS_BIND",
            format!("port {} is the public listener's (ORGD_BIND)", bind.port()),
            "give metrics a port of their own, e.g. 127.0.0.1:9464",
        ));
        return None;
    }
    Some(Some(MetricsConfig { bind, token: token.map(SecretString::from) }))
}

/// `DATABASE_URL`, or the local default.
pub fn database_url_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<SecretString, ConfigError> {
    let url = var("DATABASE_URL", env).unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(ConfigError::new(
            "DATABASE_URL",
            "not a postgres:// URL",
            format!("set it like {DEFAULT_DATABASE_URL}"),
        ));
    }
    Ok(SecretString::from(url))
}

const ENCRYPTION_KEY_FIX: &str = "use 32 random bytes as 64 hex digits or base64, e.g. `openssl rand -hex 32`";

/// One encryption key, as 64 hex digits or base64 (standard or URL-safe, padded or not).
fn encryption_key(name: &'static str, raw: &str, deployment: Deployment) -> Result<SecretSlice<u8>, ConfigError> {
    let hex = (raw.len() == 2 * ENCRYPTION_KEY_BYTES).then(|| hex::decode(raw).ok()).flatten();
    let base64 = || [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|e| e.decode(raw).ok());
    let bytes = hex.or_else(base64).ok_or_else(|| {
        ConfigError::new(name, "it is neither hex nor base64 (its value is not shown)", ENCRYPTION_KEY_FIX)
    })?;
    if bytes.len() != ENCRYPTION_KEY_BYTES {
        let problem = format!("the key has {} bytes, not {ENCRYPTION_KEY_BYTES}", bytes.len());
        return Err(ConfigError::new(name, problem, ENCRYPTION_KEY_FIX));
    }
    if deployment == Deployment::Production && raw == DEV_ENCRYPTION_KEY {
        return Err(ConfigError::new(
            name,
            "it is the public development key from the Makefile, and ORGD_ENV is production",
            "generate a key of your own, e.g. `openssl rand -hex 32`, and keep it: the stored OIDC client secrets \
             are encrypted under it",
        ));
    }
    Ok(SecretSlice::from(bytes))
}

/// `ORGD_ENCRYPTION_KEY` (required) and `ORGD_ENCRYPTION_KEY_PREVIOUS` (during a rotation).
fn encryption_keys_from_env(
    env: &dyn Fn(&str) -> Option<String>,
    deployment: Deployment,
    problems: &mut Problems,
) -> Option<EncryptionKeys> {
    let current = match var("ORGD_ENCRYPTION_KEY", env) {
        Some(raw) => problems.check(encryption_key("ORGD_ENCRYPTION_KEY", &raw, deployment)),
        None => {
            problems.push(ConfigError::new(
                "ORGD_ENCRYPTION_KEY",
                "not set, and stored OIDC client secrets are encrypted under it",
                format!("{ENCRYPTION_KEY_FIX} (`make run` sets a development one); keep it, and rotate it with ORGD_ENCRYPTION_KEY_PREVIOUS"),
            ));
            None
        }
    };
    let previous = match var("ORGD_ENCRYPTION_KEY_PREVIOUS", env) {
        None => Some(None),
        Some(raw) => problems.check(encryption_key("ORGD_ENCRYPTION_KEY_PREVIOUS", &raw, deployment)).map(Some),
    };
    let (current, previous) = (current?, previous?);
    if previous.as_ref().is_some_and(|p| p.expose_secret() == current.expose_secret()) {
        problems.push(ConfigError::new(
            "ORGD_ENCRYPTION_KEY_PREVIOUS",
            "it is the same key as ORGD_ENCRYPTION_KEY",
            "set it to the key you rotated away from, or unset it",
        ));
        return None;
    }
    Some(EncryptionKeys { current, previous })
}

fn domains_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<DomainConfig, ConfigError> {
    let resolver = match var("ORGD_DNS_RESOLVER", env) {
        None => DnsResolverSetting::System,
        Some(raw) => DnsResolverSetting::parse(&raw).map_err(|e| {
            ConfigError::new(
                "ORGD_DNS_RESOLVER",
                e.to_string(),
                "use `system` or a resolver's address, e.g. 127.0.0.1:53",
            )
        })?,
    };
    let interval = parse_number(
        "ORGD_DOMAIN_RECHECK_INTERVAL_SECS",
        var("ORGD_DOMAIN_RECHECK_INTERVAL_SECS", env),
        600,
        (1, 86_400),
    )?;
    Ok(DomainConfig { resolver, recheck_interval: Duration::from_secs(interval) })
}

/// `ORGD_DEFAULT_PLAN`: the plan new organizations start on.
fn default_plan_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Plan, ConfigError> {
    let Some(raw) = var("ORGD_DEFAULT_PLAN", env) else { return Ok(Plan::default()) };
    Plan::parse(&raw).map_err(|_| {
        ConfigError::new("ORGD_DEFAULT_PLAN", format!("`{raw}` is not a plan"), "use free, team or enterprise")
    })
}

fn bind_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<SocketAddr, ConfigError> {
    let raw = var("ORGD_BIND", env).unwrap_or_else(|| DEFAULT_BIND.to_owned());
    raw.parse().map_err(|_| {
        ConfigError::new(
            "ORGD_BIND",
            format!("`{raw}` is not a socket address"),
            format!("use host:port, e.g. {DEFAULT_BIND}"),
        )
    })
}

fn log_format_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<LogFormat, ConfigError> {
    match var("ORGD_LOG_FORMAT", env).as_deref() {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => {
            Err(ConfigError::new("ORGD_LOG_FORMAT", format!("`{other}` is not a log format"), "use text or json"))
        }
    }
}

/// `ORGD_HMAC_KEY`, and `ORGD_HMAC_KEY_PREVIOUS` during a rotation.
fn hmac_key_from_env(
    env: &dyn Fn(&str) -> Option<String>,
    deployment: Deployment,
) -> Result<(String, Option<String>), ConfigError> {
    let key = var("ORGD_HMAC_KEY", env).ok_or_else(|| {
        ConfigError::new(
            "ORGD_HMAC_KEY",
            "not set",
            format!("set a random key of at least 32 bytes (`make run` sets a development one), e.g. `openssl rand -hex 32`{HMAC_KEY_STABLE}"),
        )
    })?;
    check_key("ORGD_HMAC_KEY", &key, deployment, HMAC_KEY_STABLE)?;
    let previous = var("ORGD_HMAC_KEY_PREVIOUS", env);
    if let Some(previous) = &previous {
        check_key("ORGD_HMAC_KEY_PREVIOUS", previous, deployment, "")?;
        if *previous == key {
            return Err(ConfigError::new(
                "ORGD_HMAC_KEY_PREVIOUS",
                "it is the same key as ORGD_HMAC_KEY",
                "set it to the key you rotated away from, or unset it",
            ));
        }
    }
    Ok((key, previous))
}

/// `ORGD_PUBLIC_URL` without a trailing slash.
fn public_url_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let public_url = var("ORGD_PUBLIC_URL", env).unwrap_or_else(|| DEFAULT_PUBLIC_URL.to_owned());
    match url::Url::parse(&public_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(public_url.trim_end_matches('/').to_owned()),
        _ => Err(ConfigError::new(
            "ORGD_PUBLIC_URL",
            format!("`{public_url}` is not an http(s) URL"),
            format!("set the address people open the product at, e.g. {DEFAULT_PUBLIC_URL}"),
        )),
    }
}

fn mail_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<MailConfig, ConfigError> {
    let smtp_url = var("ORGD_SMTP_URL", env);
    let from = var("ORGD_MAIL_FROM", env).unwrap_or_else(|| DEFAULT_MAIL_FROM.to_owned());
    if let Some(url) = &smtp_url {
        infra::mail::SmtpMailer::new(url, &from).map_err(|e| {
            let var = if e.starts_with("not a sender") { "ORGD_MAIL_FROM" } else { "ORGD_SMTP_URL" };
            ConfigError::new(
                var,
                e,
                "use e.g. ORGD_SMTP_URL=smtp://127.0.0.1:2525 and ORGD_MAIL_FROM='Acme <no-reply@acme.com>'",
            )
        })?;
    }
    Ok(MailConfig {
        smtp_url: smtp_url.map(SecretString::from),
        from,
        delivery: infra::mail::DeliverySettings::default(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Reads `vars`, with an encryption key unless they set one (`""` unsets it), so each
    /// case names only the settings it is about.
    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let mut map: HashMap<String, String> = HashMap::from([(ENCRYPTION.0.to_owned(), ENCRYPTION.1.to_owned())]);
        map.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Config::from_env(&|name| map.get(name).cloned())
    }

    /// The variables named by the problems `vars` cause, in order.
    fn refused(vars: &[(&str, &str)]) -> Vec<&'static str> {
        let errors = load(vars).unwrap_err();
        for error in &errors.0 {
            assert!(!error.to_string().contains('\n'), "one line: {error}");
        }
        assert_eq!(errors.to_string().lines().count(), errors.0.len(), "one line each: {errors}");
        errors.0.iter().map(|e| e.var).collect()
    }

    const SECRET: (&str, &str) = ("ORGD_JWT_SECRET", "0123456789abcdef0123456789abcdef");
    const HMAC: (&str, &str) = ("ORGD_HMAC_KEY", "fedcba9876543210fedcba9876543210");
    const JWKS: (&str, &str) =
        ("ORGD_JWKS_FILE", concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/jwks-test.json"));
    const ISSUER: (&str, &str) = ("ORGD_JWT_ISSUER", "https://idp.example.com/");
    const AUDIENCE: (&str, &str) = ("ORGD_JWT_AUDIENCE", "orgd");
    const PRODUCTION: (&str, &str) = ("ORGD_ENV", "production");
    const ENCRYPTION: (&str, &str) =
        ("ORGD_ENCRYPTION_KEY", "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90");

    #[test]
    fn a_previous_hmac_key_is_read_during_a_rotation() {
        use secrecy::ExposeSecret;
        assert!(load(&[SECRET, HMAC]).unwrap().hmac_key_previous.is_none());
        let previous = ("ORGD_HMAC_KEY_PREVIOUS", "00112233445566778899aabbccddeeff");
        let rotating = load(&[SECRET, HMAC, previous]).unwrap();
        assert_eq!(rotating.hmac_key_previous.as_ref().map(|k| k.expose_secret().to_owned()), Some(previous.1.into()));
        assert_eq!(refused(&[SECRET, HMAC, ("ORGD_HMAC_KEY_PREVIOUS", HMAC.1)]), ["ORGD_HMAC_KEY_PREVIOUS"]);
        assert_eq!(refused(&[SECRET, HMAC, ("ORGD_HMAC_KEY_PREVIOUS", "short")]), ["ORGD_HMAC_KEY_PREVIOUS"]);
    }

    #[test]
    fn the_encryption_key_is_required_and_read_as_hex_or_base64() {
        use secrecy::ExposeSecret;
        let config = load(&[SECRET, HMAC]).unwrap();
        assert_eq!(config.encryption.current.expose_secret().len(), ENCRYPTION_KEY_BYTES);
        assert!(config.encryption.previous.is_none());
        let base64 = ("ORGD_ENCRYPTION_KEY", "obLD1OX2BxgpOktcbX6PkKGyw9Tl9gcYKTpLXG1+j5A=");
        let same = load(&[SECRET, HMAC, base64]).unwrap();
        assert_eq!(same.encryption.current.expose_secret(), config.encryption.current.expose_secret());
        let url_safe = ("ORGD_ENCRYPTION_KEY", "obLD1OX2BxgpOktcbX6PkKGyw9Tl9gcYKTpLXG1-j5A");
        assert!(load(&[SECRET, HMAC, url_safe]).is_ok());

        assert_eq!(refused(&[SECRET, HMAC, ("ORGD_ENCRYPTION_KEY", "")]), ["ORGD_ENCRYPTION_KEY"]);
        for bad in ["not a key", "abcd", "a1b2c3d4e5f60718293a4b5c6d7e8f90"] {
            let errors = load(&[SECRET, HMAC, ("ORGD_ENCRYPTION_KEY", bad)]).unwrap_err();
            assert_eq!(errors.0.iter().map(|e| e.var).collect::<Vec<_>>(), ["ORGD_ENCRYPTION_KEY"], "{bad}");
            assert!(!errors.to_string().contains(bad), "the key is never echoed: {errors}");
        }
        let previous =
            ("ORGD_ENCRYPTION_KEY_PREVIOUS", "1111111111111111111111111111111111111111111111111111111111111111");
        assert!(load(&[SECRET, HMAC, previous]).unwrap().encryption.previous.is_some());
        let same_as_current = ("ORGD_ENCRYPTION_KEY_PREVIOUS", ENCRYPTION.1);
        assert_eq!(refused(&[SECRET, HMAC, same_as_current]), ["ORGD_ENCRYPTION_KEY_PREVIOUS"]);
        assert_eq!(
            refused(&[SECRET, HMAC, ("ORGD_ENCRYPTION_KEY", "x"), ("ORGD_ENCRYPTION_KEY_PREVIOUS", "y")]),
            ["ORGD_ENCRYPTION_KEY", "ORGD_ENCRYPTION_KEY_PREVIOUS"],
            "both reported in one go"
        );
        assert!(!format!("{config:?}").contains("a1b2c3"), "keys are not debug printed");
    }

    #[test]
    fn defaults_apply_when_only_a_key_is_set() {
        let config = load(&[SECRET, HMAC]).unwrap();
        assert_eq!(config.database_url(), DEFAULT_DATABASE_URL);
        assert_eq!(config.bind.to_string(), DEFAULT_BIND);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.jwt.staff_claim, DEFAULT_STAFF_CLAIM);
        assert_eq!(config.jwt.sign_in_method_claim, None);
        assert_eq!(config.default_plan, Plan::Enterprise, "a self-hosted deployment's own orgs get every feature");
        let small = load(&[SECRET, HMAC, ("ORGD_DEFAULT_PLAN", "team"), ("ORGD_SIGN_IN_METHOD_CLAIM", "login_method")]);
        let small = small.unwrap();
        assert_eq!((small.default_plan, small.jwt.sign_in_method_claim.as_deref()), (Plan::Team, Some("login_method")));
    }

    #[test]
    fn each_bad_setting_names_its_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[HMAC], "ORGD_JWT_SECRET"),
            (&[HMAC, ("ORGD_JWT_SECRET", "short")], "ORGD_JWT_SECRET"),
            (&[SECRET], "ORGD_HMAC_KEY"),
            (&[SECRET, ("ORGD_HMAC_KEY", "short")], "ORGD_HMAC_KEY"),
            (&[SECRET, HMAC, ("ORGD_BIND", "localhost")], "ORGD_BIND"),
            (&[SECRET, HMAC, ("DATABASE_URL", "mysql://x")], "DATABASE_URL"),
            (&[SECRET, HMAC, ("ORGD_DB_POOL_SIZE", "0")], "ORGD_DB_POOL_SIZE"),
            (&[SECRET, HMAC, ("ORGD_LOG_FORMAT", "xml")], "ORGD_LOG_FORMAT"),
            (&[SECRET, HMAC, ("ORGD_JWKS_FILE", "/nonexistent/jwks.json"), ISSUER, AUDIENCE], "ORGD_JWKS_FILE"),
            (&[SECRET, HMAC, ("ORGD_TRUST_FORWARDED_FOR", "maybe")], "ORGD_TRUST_FORWARDED_FOR"),
            (&[SECRET, HMAC, ("ORGD_PUBLIC_URL", "app.example.com")], "ORGD_PUBLIC_URL"),
            (&[SECRET, HMAC, ("ORGD_DEFAULT_PLAN", "platinum")], "ORGD_DEFAULT_PLAN"),
            (&[SECRET, HMAC, ("ORGD_SMTP_URL", "http://mail")], "ORGD_SMTP_URL"),
            (&[SECRET, HMAC, ("ORGD_SMTP_URL", "smtp://127.0.0.1:25"), ("ORGD_MAIL_FROM", "nobody")], "ORGD_MAIL_FROM"),
            (&[SECRET, HMAC, ("ORGD_ENV", "prod")], "ORGD_ENV"),
            (&[SECRET, HMAC, ("ORGD_DNS_RESOLVER", "dns.example.com")], "ORGD_DNS_RESOLVER"),
            (&[SECRET, HMAC, ("ORGD_DNS_RESOLVER", "127.0.0.1:0")], "ORGD_DNS_RESOLVER"),
            (&[SECRET, HMAC, ("ORGD_DOMAIN_RECHECK_INTERVAL_SECS", "0")], "ORGD_DOMAIN_RECHECK_INTERVAL_SECS"),
            (&[SECRET, HMAC, ("ORGD_METRICS_BIND", "9464")], "ORGD_METRICS_BIND"),
            (&[SECRET, HMAC, ("ORGD_METRICS_BIND", "0.0.0.0:8080")], "ORGD_METRICS_BIND"),
            (&[SECRET, HMAC, ("ORGD_METRICS_TOKEN", "0123456789abcdef0123")], "ORGD_METRICS_TOKEN"),
            (
                &[SECRET, HMAC, ("ORGD_METRICS_BIND", "127.0.0.1:9464"), ("ORGD_METRICS_TOKEN", "short")],
                "ORGD_METRICS_TOKEN",
            ),
        ];
        for (vars, expected) in cases {
            assert_eq!(refused(vars), [*expected], "{vars:?}");
        }
    }

    #[test]
    fn metrics_are_served_only_when_given_a_listener_of_their_own() {
        use secrecy::ExposeSecret;
        assert!(load(&[SECRET, HMAC]).unwrap().metrics.is_none());
        let open = load(&[SECRET, HMAC, ("ORGD_METRICS_BIND", "127.0.0.1:9464")]).unwrap().metrics.unwrap();
        assert_eq!((open.bind.to_string().as_str(), open.token.is_none()), ("127.0.0.1:9464", true));
        let token = ("ORGD_METRICS_TOKEN", "0123456789abcdef0123");
        let guarded = load(&[SECRET, HMAC, ("ORGD_METRICS_BIND", "[::1]:9464"), token]).unwrap().metrics.unwrap();
        assert_eq!(guarded.token.as_ref().map(|t| t.expose_secret().to_owned()), Some(token.1.to_owned()));
        assert!(!format!("{guarded:?}").contains(token.1), "the token is not debug printed");
    }

    #[test]
    fn every_problem_is_reported_in_one_go() {
        assert_eq!(refused(&[]), ["ORGD_HMAC_KEY", "ORGD_JWT_SECRET"]);
        let many = [("ORGD_BIND", "localhost"), ("ORGD_LOG_FORMAT", "xml"), ("ORGD_JWT_SECRET", "short")];
        assert_eq!(refused(&many), ["ORGD_BIND", "ORGD_LOG_FORMAT", "ORGD_HMAC_KEY", "ORGD_JWT_SECRET"]);
    }

    #[test]
    fn public_keys_need_both_issuer_and_audience() {
        assert_eq!(refused(&[HMAC, JWKS]), ["ORGD_JWT_ISSUER", "ORGD_JWT_AUDIENCE"]);
        assert_eq!(refused(&[HMAC, JWKS, ISSUER]), ["ORGD_JWT_AUDIENCE"]);
        assert_eq!(refused(&[HMAC, JWKS, AUDIENCE, SECRET]), ["ORGD_JWT_ISSUER"]);
        let config = load(&[HMAC, JWKS, ISSUER, AUDIENCE]).unwrap();
        assert!(config.jwt.trusts_staff_claim());
        // A development HS256 key alone may leave them unset; its tokens then carry no staff rights.
        let config = load(&[SECRET, HMAC]).unwrap();
        assert!(!config.jwt.trusts_staff_claim());
    }

    /// `export NAME ?= value` from the Makefile.
    fn makefile_default(name: &str) -> String {
        let makefile = include_str!("../../../Makefile");
        let prefix = format!("export {name} ?= ");
        let line = makefile.lines().find_map(|l| l.strip_prefix(prefix.as_str())).unwrap();
        line.trim().to_owned()
    }

    #[test]
    fn production_refuses_the_makefile_development_keys() {
        let jwt = makefile_default("ORGD_JWT_SECRET");
        let hmac = makefile_default("ORGD_HMAC_KEY");
        assert_eq!((jwt.as_str(), hmac.as_str()), (DEV_JWT_SECRET, DEV_HMAC_KEY), "the Makefile's keys moved");
        let dev_keys = [("ORGD_JWT_SECRET", jwt.as_str()), ("ORGD_HMAC_KEY", hmac.as_str())];
        assert!(load(&dev_keys).is_ok(), "development accepts them");
        assert_eq!(refused(&[dev_keys[0], dev_keys[1], PRODUCTION]), ["ORGD_HMAC_KEY", "ORGD_JWT_SECRET"]);
        assert_eq!(refused(&[dev_keys[0], HMAC, PRODUCTION]), ["ORGD_JWT_SECRET"]);
        assert!(load(&[SECRET, HMAC, PRODUCTION]).is_ok());
        let encryption = makefile_default("ORGD_ENCRYPTION_KEY");
        assert_eq!(encryption, DEV_ENCRYPTION_KEY, "the Makefile's encryption key moved");
        let dev_encryption = ("ORGD_ENCRYPTION_KEY", encryption.as_str());
        assert!(load(&[SECRET, HMAC, dev_encryption]).is_ok());
        assert_eq!(refused(&[SECRET, HMAC, dev_encryption, PRODUCTION]), ["ORGD_ENCRYPTION_KEY"]);
    }

    #[test]
    fn a_token_can_be_signed_without_the_server_settings() {
        let env = |vars: &'static [(&str, &str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        let missing = JwtConfig::signing_from_env(&env(&[JWKS])).unwrap_err();
        assert_eq!(missing.var, "ORGD_JWT_SECRET");
        assert!(missing.to_string().contains("make -s token"), "{missing}");
        let signing = JwtConfig::signing_from_env(&env(&[SECRET, AUDIENCE])).unwrap();
        assert_eq!(signing.audience.as_deref(), Some("orgd"));
    }

    #[test]
    fn the_database_password_is_not_debug_printed() {
        let config = load(&[SECRET, HMAC, ("DATABASE_URL", "postgres://u:hunter2@h/db")]).unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
