//! What the HTTP benchmarks share: a real server on loopback over a database of its own,
//! and a token of the owner who sets things up.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::time::Duration;

use api::config::Config;
use api::startup::Application;
use infra::test_db::TestDatabase;

pub struct Server {
    pub db: TestDatabase,
    pub base: String,
    pub config: Config,
}

/// Starts the server (2 workers, every feature) on a free port over a fresh database.
pub async fn start() -> Server {
    let db = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let vars = [
        ("DATABASE_URL", db.url().to_owned()),
        ("ORGD_BIND", "127.0.0.1:0".to_owned()),
        ("ORGD_JWT_SECRET", "bench-only-secret-0123456789abcdef0123456789".to_owned()),
        ("ORGD_HMAC_KEY", "bench-only-hmac-key-0123456789abcdef0123456789".to_owned()),
        ("ORGD_ENCRYPTION_KEY", "00000000000000000000000000000000000000000000000000000000000000be".to_owned()),
        ("ORGD_DEFAULT_PLAN", "enterprise".to_owned()),
        ("ORGD_WORKERS", "2".to_owned()),
        // The benchmarks measure the service, not its rate limits.
        ("ORGD_RATE_LIMIT_PER_IP", "0".to_owned()),
        ("ORGD_RATE_LIMIT_PER_CREDENTIAL", "0".to_owned()),
        ("ORGD_RATE_LIMIT_SCIM", "0".to_owned()),
    ];
    let config = Config::from_env(&|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).unwrap();
    let app = tokio::task::block_in_place(|| Application::build(&config)).unwrap();
    let base = format!("http://{}", app.addr());
    tokio::spawn(app.run_until_stopped());
    Server { db, base, config }
}

impl Server {
    /// A token of `subject`, valid for an hour.
    pub fn token(&self, subject: &str, mfa: bool) -> String {
        let token = api::auth::DevToken {
            subject: subject.into(),
            email: Some(format!("{subject}@bench.test")),
            name: None,
            mfa,
            staff: None,
            ttl: Duration::from_secs(3600),
        };
        api::auth::mint_dev_token(&self.config.jwt, &token).unwrap()
    }
}

pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
