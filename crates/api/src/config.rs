//! Configuration, read once from environment variables at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/orgd";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_STAFF_CLAIM: &str = "orgd_staff";
/// Shorter keys can be brute-forced offline (an HS256 key from a single token).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

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
    /// Key of the HMAC that stored API key secrets are hashed with.
    pub hmac_key: SecretString,
    pub bind: SocketAddr,
    pub jwt: JwtConfig,
    pub pool_size: u32,
    pub pool_timeout: Duration,
    pub workers: usize,
    pub log_format: LogFormat,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Where people reach the product; invite links are `{public_url}/invites/{token}`.
    pub public_url: String,
    pub invites: domain::invite::InviteSettings,
    pub mail: MailConfig,
}

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

fn parse_bool(name: &'static str, raw: Option<String>) -> Result<bool, ConfigError> {
    match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => Err(ConfigError::new(name, format!("`{other}` is not a boolean"), "use true or false")),
    }
}

impl JwtConfig {
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let hs256_secret = var("ORGD_JWT_SECRET", env);
        if let Some(secret) = &hs256_secret {
            if secret.len() < MIN_JWT_SECRET_BYTES {
                return Err(ConfigError::new(
                    "ORGD_JWT_SECRET",
                    format!("the HS256 key has {} bytes, fewer than {MIN_JWT_SECRET_BYTES}", secret.len()),
                    "use a random key of at least 32 bytes, e.g. `openssl rand -hex 32`",
                ));
            }
        }
        let jwks_file = var("ORGD_JWKS_FILE", env).map(PathBuf::from);
        if let Some(path) = &jwks_file {
            if !path.is_file() {
                return Err(ConfigError::new(
                    "ORGD_JWKS_FILE",
                    format!("`{}` is not a readable file", path.display()),
                    "point it at a JWKS JSON file",
                ));
            }
        }
        if hs256_secret.is_none() && jwks_file.is_none() {
            return Err(ConfigError::new(
                "ORGD_JWT_SECRET",
                "no way to verify tokens is configured",
                "set ORGD_JWT_SECRET (HS256 key, at least 32 bytes) and/or ORGD_JWKS_FILE (RS256/ES256 public keys)",
            ));
        }
        Ok(Self {
            hs256_secret: hs256_secret.map(SecretString::from),
            jwks_file,
            issuer: var("ORGD_JWT_ISSUER", env),
            audience: var("ORGD_JWT_AUDIENCE", env),
            staff_claim: var("ORGD_STAFF_CLAIM", env).unwrap_or_else(|| DEFAULT_STAFF_CLAIM.to_owned()),
        })
    }
}

impl Config {
    pub fn from_process_env() -> Result<Self, ConfigError> {
        Self::from_env(&|name| std::env::var(name).ok())
    }

    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url = database_url_from_env(env)?;
        let bind_raw = var("ORGD_BIND", env).unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind = bind_raw.parse().map_err(|_| {
            ConfigError::new(
                "ORGD_BIND",
                format!("`{bind_raw}` is not a socket address"),
                format!("use host:port, e.g. {DEFAULT_BIND}"),
            )
        })?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let workers = parse_number("ORGD_WORKERS", var("ORGD_WORKERS", env), cores, (1, 256))?;
        let pool_size = parse_number("ORGD_DB_POOL_SIZE", var("ORGD_DB_POOL_SIZE", env), 16, (1, 1000))?;
        let pool_timeout_secs =
            parse_number("ORGD_DB_POOL_TIMEOUT_SECS", var("ORGD_DB_POOL_TIMEOUT_SECS", env), 5, (1, 300))?;
        let log_format = match var("ORGD_LOG_FORMAT", env).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "ORGD_LOG_FORMAT",
                    format!("`{other}` is not a log format"),
                    "use text or json",
                ))
            }
        };
        let hmac_key = var("ORGD_HMAC_KEY", env).ok_or_else(|| {
            ConfigError::new("ORGD_HMAC_KEY", "not set", "set a random key of at least 32 bytes, e.g. `openssl rand -hex 32`; keep it stable, as stored API keys depend on it")
        })?;
        if hmac_key.len() < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError::new(
                "ORGD_HMAC_KEY",
                format!("the key has {} bytes, fewer than 32", hmac_key.len()),
                "use a random key of at least 32 bytes, e.g. `openssl rand -hex 32`",
            ));
        }
        let public_url = var("ORGD_PUBLIC_URL", env).unwrap_or_else(|| DEFAULT_PUBLIC_URL.to_owned());
        match url::Url::parse(&public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return Err(ConfigError::new(
                    "ORGD_PUBLIC_URL",
                    format!("`{public_url}` is not an http(s) URL"),
                    format!("set the address people open the product at, e.g. {DEFAULT_PUBLIC_URL}"),
                ))
            }
        }
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
        Ok(Self {
            database_url,
            hmac_key: SecretString::from(hmac_key),
            invites: domain::invite::InviteSettings {
                accept_url_base: format!("{}/invites/", public_url.trim_end_matches('/')),
                ..domain::invite::InviteSettings::default()
            },
            public_url: public_url.trim_end_matches('/').to_owned(),
            mail: MailConfig {
                smtp_url: smtp_url.map(SecretString::from),
                from,
                delivery: infra::mail::DeliverySettings::default(),
            },
            bind,
            jwt: JwtConfig::from_env(env)?,
            pool_size,
            pool_timeout: Duration::from_secs(pool_timeout_secs),
            workers,
            log_format,
            trust_forwarded_for: parse_bool("ORGD_TRUST_FORWARDED_FOR", var("ORGD_TRUST_FORWARDED_FOR", env))?,
        })
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_env(&|name| map.get(name).cloned())
    }

    const SECRET: (&str, &str) = ("ORGD_JWT_SECRET", "0123456789abcdef0123456789abcdef");
    const HMAC: (&str, &str) = ("ORGD_HMAC_KEY", "fedcba9876543210fedcba9876543210");

    #[test]
    fn defaults_apply_when_only_a_key_is_set() {
        let config = load(&[SECRET, HMAC]).unwrap();
        assert_eq!(config.database_url(), DEFAULT_DATABASE_URL);
        assert_eq!(config.bind.to_string(), DEFAULT_BIND);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.jwt.staff_claim, DEFAULT_STAFF_CLAIM);
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
            (&[SECRET, HMAC, ("ORGD_JWKS_FILE", "/nonexistent/jwks.json")], "ORGD_JWKS_FILE"),
            (&[SECRET, HMAC, ("ORGD_TRUST_FORWARDED_FOR", "maybe")], "ORGD_TRUST_FORWARDED_FOR"),
            (&[SECRET, HMAC, ("ORGD_PUBLIC_URL", "app.example.com")], "ORGD_PUBLIC_URL"),
            (&[SECRET, HMAC, ("ORGD_SMTP_URL", "http://mail")], "ORGD_SMTP_URL"),
            (&[SECRET, HMAC, ("ORGD_SMTP_URL", "smtp://127.0.0.1:25"), ("ORGD_MAIL_FROM", "nobody")], "ORGD_MAIL_FROM"),
        ];
        for (vars, expected) in cases {
            let err = load(vars).unwrap_err();
            assert_eq!(err.var, *expected);
            assert!(!err.to_string().contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn the_database_password_is_not_debug_printed() {
        let config = load(&[SECRET, HMAC, ("DATABASE_URL", "postgres://u:hunter2@h/db")]).unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
