//! `orgd`: the organization service.

use std::process::ExitCode;
use std::time::Duration;

use api::auth::{mint_dev_token, DevToken};
use api::config::{database_url_from_env, Config, JwtConfig, LogFormat, TOKEN_LEEWAY_SECS};
use api::startup::{openapi, Application};
use api::telemetry;
use clap::{Parser, Subcommand};
use orgd_domain::platform::StaffRole;
use secrecy::ExposeSecret;

#[derive(Parser)]
#[command(name = "orgd", version, about = "Organization management service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the database if needed, run pending migrations, and serve HTTP.
    Serve,
    /// Create the database if needed, run pending migrations, and exit.
    Migrate,
    /// Print a development JWT signed with ORGD_JWT_SECRET (`make token` passes the
    /// Makefile's development key, the one `make run` serves with).
    Token {
        /// Subject (the user's stable id at the identity provider).
        #[arg(long)]
        sub: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Claim a second factor (`amr` includes `otp` and `mfa`).
        #[arg(long)]
        mfa: bool,
        /// Set the platform-staff claim to a staff role: `--staff` alone is `staff_read`,
        /// `--staff=staff_admin` (or `--staff=admin`) may also change organizations through
        /// /v1/admin. Honoured only by a server with ORGD_JWT_ISSUER and ORGD_JWT_AUDIENCE set.
        #[arg(long, value_name = "ROLE", num_args = 0..=1, require_equals = true, default_missing_value = "staff_read", value_parser = parse_staff_role)]
        staff: Option<StaffRole>,
        /// Lifetime, e.g. `30m`, `1h`, `7d`. The server allows 30 s of clock skew past expiry.
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Re-encrypt every stored secret still under ORGD_ENCRYPTION_KEY_PREVIOUS with
    /// ORGD_ENCRYPTION_KEY, and exit; afterwards the previous key can be unset.
    Reseal,
}

/// `staff_read` / `staff_admin`, or `read` / `admin` for short.
fn parse_staff_role(value: &str) -> Result<StaffRole, String> {
    StaffRole::parse(value)
        .or_else(|| StaffRole::parse(&format!("staff_{value}")))
        .ok_or_else(|| format!("`{value}` is not a staff role: staff_read or staff_admin"))
}

fn serve() -> Result<(), String> {
    let config = Config::from_process_env().map_err(|e| e.to_string())?;
    telemetry::init(config.log_format);
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&config).map_err(|e| e.to_string())?;
        app.run_until_stopped().await.map_err(|e| format!("server stopped: {e}"))
    })
}

fn migrate() -> Result<(), String> {
    let url = database_url_from_env(&|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
    telemetry::init(LogFormat::Text);
    let applied = infra::setup::prepare_database(url.expose_secret()).map_err(|e| e.to_string())?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        println!("applied {} migration(s): {}", applied.len(), applied.join(", "));
    }
    Ok(())
}

fn token(token: DevToken) -> Result<(), String> {
    let jwt = JwtConfig::signing_from_env(&|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
    if token.staff.is_some() && !jwt.trusts_staff_claim() {
        eprintln!(
            "orgd: note: the server ignores --staff unless ORGD_JWT_ISSUER and ORGD_JWT_AUDIENCE are set \
             (for it and for this command)"
        );
    }
    if token.ttl.as_secs() < TOKEN_LEEWAY_SECS {
        eprintln!(
            "orgd: note: the server accepts tokens up to {TOKEN_LEEWAY_SECS} s past expiry (clock skew allowance)"
        );
    }
    println!("{}", mint_dev_token(&jwt, &token).map_err(|e| e.to_string())?);
    Ok(())
}

fn reseal() -> Result<(), String> {
    let config = Config::from_process_env().map_err(|e| e.to_string())?;
    telemetry::init(config.log_format);
    let count = api::startup::reseal(&config)?;
    println!("re-encrypted {count} secret(s) under ORGD_ENCRYPTION_KEY; ORGD_ENCRYPTION_KEY_PREVIOUS may now be unset");
    Ok(())
}

fn print_openapi() -> Result<(), String> {
    let document = openapi().to_pretty_json().map_err(|e| e.to_string())?;
    println!("{document}");
    Ok(())
}

fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Serve => serve(),
        Command::Migrate => migrate(),
        Command::Token { sub, email, name, mfa, staff, ttl } => {
            token(DevToken { subject: sub, email: Some(email), name, mfa, staff, ttl })
        }
        Command::Openapi => print_openapi(),
        Command::Reseal => reseal(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Configuration reports every problem at once, one per line; each keeps the prefix.
            for line in message.lines() {
                eprintln!("orgd: {line}");
            }
            ExitCode::FAILURE
        }
    }
}
