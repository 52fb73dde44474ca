use std::time::Duration;

use api::auth::{mint_dev_token, DevToken};
use api::config::{Config, JwtConfig, LogFormat};
use api::startup::Application;
use infra::dns::DnsResolverSetting;
use infra::test_db::{StoredAuditEvent, TestDatabase};
use infra::test_dns::TestDnsServer;
use orgd_domain::ids::OrgId;
use reqwest::{Method, Response, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};

pub const JWT_SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";
pub const ISSUER: &str = "https://idp.test";
pub const AUDIENCE: &str = "orgd-test";
/// The key stored secrets are hashed under in tests.
pub const HMAC_KEY: &str = "test-hmac-key-0123456789abcdef0123456789";
/// The key stored secrets are encrypted under in tests.
pub const ENCRYPTION_KEY: [u8; 32] = [0x5e; 32];

/// A running server with a database of its own.
pub struct TestApp {
    pub base: String,
    pub db: TestDatabase,
    pub jwt: JwtConfig,
    /// The DNS server the app's resolver asks, on loopback.
    pub dns: TestDnsServer,
    /// `http://{ORGD_METRICS_BIND}`, when the test set it (tests/api/metrics.rs).
    pub metrics_base: Option<String>,
    client: reqwest::Client,
}

pub fn jwt_config() -> JwtConfig {
    JwtConfig {
        hs256_secret: Some(SecretString::from(JWT_SECRET.to_owned())),
        jwks_file: None,
        issuer: Some(ISSUER.to_owned()),
        audience: Some(AUDIENCE.to_owned()),
        staff_claim: "orgd_staff".to_owned(),
        sign_in_method_claim: Some("login_method".to_owned()),
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with_jwt(jwt: JwtConfig) -> Self {
        Self::spawn_with(|config| config.jwt = jwt).await
    }

    /// A server whose configuration `adjust` changed from the test defaults.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            api::telemetry::init(LogFormat::Text);
        }
        let db = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
        let dns = TestDnsServer::start();
        let mut config = Config {
            database_url: SecretString::from(db.url().to_owned()),
            hmac_key: SecretString::from(HMAC_KEY.to_owned()),
            hmac_key_previous: None,
            bind: "127.0.0.1:0".parse().unwrap(),
            jwt: jwt_config(),
            pool_size: 12,
            pool_timeout: Duration::from_secs(10),
            database: api::config::DatabaseSettings {
                statement_cache: true,
                listen_url: None,
                entry_cache_size: 10_000,
            },
            client_timeout: Duration::from_secs(10),
            workers: 2,
            log_format: LogFormat::Text,
            trust_forwarded_for: false,
            default_plan: orgd_domain::policy::Plan::Enterprise,
            encryption: api::config::EncryptionKeys {
                current: secrecy::SecretSlice::from(ENCRYPTION_KEY.to_vec()),
                previous: None,
            },
            public_url: "https://app.test".to_owned(),
            invites: orgd_domain::invite::InviteSettings {
                accept_url_base: "https://app.test/invites/".to_owned(),
                ..Default::default()
            },
            mail: api::config::MailConfig {
                smtp_url: None,
                from: "Acme <no-reply@acme.test>".to_owned(),
                delivery: Default::default(),
            },
            domains: api::config::DomainConfig {
                resolver: DnsResolverSetting::Server(dns.addr()),
                recheck_interval: Duration::from_secs(3600),
            },
            // Tests receive webhooks on loopback, and wait for retries in milliseconds.
            webhooks: api::config::WebhookConfig {
                allow_private: true,
                poll_interval: Duration::from_millis(50),
                backoff_scale: 0.01,
            },
            // Tests fire bursts from one address on purpose; tests/api/rate_limits.rs turns
            // the limits on.
            rate_limits: api::rate_limit::RateLimits::off(),
            metrics: None,
        };
        adjust(&mut config);
        let app = tokio::task::block_in_place(|| Application::build(&config)).expect("server starts");
        let base = format!("http://{}", app.addr());
        let metrics_base = app.metrics_addr().map(|addr| format!("http://{addr}"));
        tokio::spawn(app.run_until_stopped());
        Self { base, db, jwt: config.jwt, dns, metrics_base, client: reqwest::Client::new() }
    }

    /// A token for a user with a verified `{subject}@example.com` email.
    pub fn token(&self, subject: &str) -> String {
        self.person_token(subject, false)
    }

    /// [`Self::token`] for a sign-in that proved a second factor.
    pub fn token_with_mfa(&self, subject: &str) -> String {
        self.person_token(subject, true)
    }

    fn person_token(&self, subject: &str, mfa: bool) -> String {
        self.token_with(DevToken {
            subject: subject.to_owned(),
            email: Some(format!("{subject}@example.com")),
            name: Some(format!("User {subject}")),
            mfa,
            staff: None,
            ttl: Duration::from_secs(600),
        })
    }

    pub fn token_with(&self, token: DevToken) -> String {
        mint_dev_token(&self.jwt, &token).unwrap()
    }

    /// A request as a client that does not track versions sends it: a `PUT` or `PATCH` says
    /// `If-Match: *` (policies refuse a write without one: tests/api/policies.rs).
    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let put = method == Method::PUT || method == Method::PATCH;
        let mut request = self.client.request(method, format!("{}{}", self.base, path));
        if put {
            request = request.header("if-match", "*");
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    pub fn raw(&self) -> &reqwest::Client {
        &self.client
    }

    /// Creates an organization as `token`'s user and returns its public id.
    pub async fn create_org(&self, token: &str, name: &str) -> String {
        let response = self.post("/v1/orgs", token, json!({ "name": name })).await;
        let body = expect_status(response, StatusCode::CREATED).await;
        body["id"].as_str().unwrap().to_owned()
    }

    /// Adds `count` members with `role`, named `{prefix}-1` … `{prefix}-{count}`.
    pub fn seed_members(&self, org: &str, prefix: &str, count: u32, role: &str) {
        self.db.seed_members(org_uuid(org), prefix, count, role);
    }

    pub fn audit(&self, org: &str) -> Vec<StoredAuditEvent> {
        self.db.audit_events(org_uuid(org))
    }

    pub fn audit_actions(&self, org: &str) -> Vec<String> {
        self.audit(org).into_iter().map(|e| e.action).collect()
    }
}

/// A token with the claims a password sign-in of `subject` would carry (verified email
/// `{subject}@example.com`, `amr: ["pwd"]`, signed in now), `extra` replacing any of them.
pub fn claims_token(subject: &str, extra: Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": subject, "email": format!("{subject}@example.com"), "email_verified": true,
        "name": format!("User {subject}"), "amr": ["pwd"], "iat": now, "auth_time": now, "exp": now + 600,
        "iss": ISSUER, "aud": AUDIENCE,
    });
    for (key, value) in extra.as_object().unwrap() {
        claims[key] = value.clone();
    }
    let key = jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).unwrap()
}

pub fn org_uuid(org: &str) -> uuid::Uuid {
    org.parse::<OrgId>().unwrap().as_uuid()
}

/// Asserts the status and returns the JSON body (`null` when empty).
pub async fn expect_status(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// Asserts a problem+json response with this status and code; returns the problem.
pub async fn expect_problem(response: Response, status: StatusCode, code: &str) -> Value {
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let problem = expect_status(response, status).await;
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(problem["code"], code, "problem: {problem}");
    assert_eq!(problem["status"], status.as_u16());
    problem
}

/// A real SMTP server (Python's aiosmtpd) on a loopback port, saving what it receives.
pub struct SmtpSink {
    pub port: u16,
    dir: std::path::PathBuf,
    child: std::process::Child,
}

/// A loopback port nothing listens on (yet).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl SmtpSink {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Self {
        use std::io::BufRead;
        let dir = std::env::temp_dir().join(format!("orgd-smtp-{}", uuid::Uuid::new_v4()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/smtp_sink.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the SMTP sink (make test-deps installs aiosmtpd)");
        let mut ready = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
        assert_eq!(ready.trim(), "ready", "the SMTP sink did not start; is aiosmtpd installed (make test-deps)?");
        Self { port, dir, child }
    }

    /// The messages received so far, oldest first, as raw text.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.dir)
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect())
            .unwrap_or_default();
        files.sort();
        files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect()
    }

    /// Waits up to `seconds` for at least `count` messages.
    pub async fn wait_for(&self, count: usize, seconds: u64) -> Vec<String> {
        for _ in 0..seconds * 20 {
            let got = self.messages();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} message(s) within {seconds}s, got {}", self.messages().len());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Points the server's outbound email at an SMTP server on loopback `port`, delivering quickly.
pub fn deliver_to(config: &mut Config, port: u16) {
    config.mail.smtp_url = Some(SecretString::from(format!("smtp://127.0.0.1:{port}")));
    config.mail.delivery = fast_delivery();
}

/// Delivery settings quick enough for tests.
pub fn fast_delivery() -> infra::mail::DeliverySettings {
    infra::mail::DeliverySettings {
        poll_interval: Duration::from_millis(50),
        retry_base: Duration::from_millis(200),
        retry_max: Duration::from_millis(400),
        ..Default::default()
    }
}

/// The `orgd` binary serving with every log line captured.
pub struct LoggedServer {
    pub child: std::process::Child,
    pub base: String,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl LoggedServer {
    pub fn start(database_url: &str, format: &str) -> Self {
        let port = free_port();
        let jwt = jwt_config();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orgd"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("ORGD_BIND", format!("127.0.0.1:{port}"))
            .env("ORGD_JWT_SECRET", crate::helpers::JWT_SECRET)
            .env("ORGD_JWT_ISSUER", jwt.issuer.unwrap())
            .env("ORGD_JWT_AUDIENCE", jwt.audience.unwrap())
            .env("ORGD_HMAC_KEY", "test-hmac-key-0123456789abcdef0123456789")
            .env("ORGD_ENCRYPTION_KEY", hex::encode(ENCRYPTION_KEY))
            .env("ORGD_LOG_FORMAT", format)
            // Everything the server and its libraries log, at every level.
            .env("RUST_LOG", "trace")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the orgd binary starts");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let (lines, ready) = (std::sync::Arc::clone(&lines), ready_tx.clone());
            std::thread::spawn(move || {
                for line in std::io::BufRead::lines(std::io::BufReader::new(stream)).map_while(Result::ok) {
                    if line.contains("orgd listening") {
                        let _ = ready.send(());
                    }
                    lines.lock().unwrap().push(line);
                }
            });
        }
        ready_rx.recv_timeout(std::time::Duration::from_secs(60)).expect("orgd starts listening");
        Self { child, base: format!("http://127.0.0.1:{port}"), lines }
    }

    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
