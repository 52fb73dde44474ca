//! Fresh databases for tests: the migrations run once into a template database, then each
//! test gets its own copy (`CREATE DATABASE … TEMPLATE`), dropped when the test ends. Tests
//! run in parallel and never see each other's rows.

#![allow(clippy::expect_used)]

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;
use url::Url;

use crate::setup::{quote_ident_for_tests, run_migrations};

const PREFIX: &str = "orgd_test_";
/// Databases left behind by a killed run are swept once they are this old.
const SWEEP_AFTER_SECS: u64 = 3 * 3600;

/// A database that exists for the life of this value.
pub struct TestDatabase {
    url: String,
    name: String,
    server: String,
}

fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn with_database(server: &str, database: &str) -> String {
    let mut url = Url::parse(server).expect("DATABASE_URL must be a URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

fn admin(server: &str) -> PgConnection {
    let url = with_database(server, "postgres");
    PgConnection::establish(&url).unwrap_or_else(|e| {
        panic!("tests need PostgreSQL at {url}: {e}; start it (pg_ctlcluster 15 main start) or set DATABASE_URL")
    })
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// The template's name changes whenever a migration file does, so a stale one is never used.
fn template_name() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .expect("migrations directory")
        .flatten()
        .flat_map(|dir| std::fs::read_dir(dir.path()).into_iter().flatten().flatten())
        .map(|file| file.path())
        .collect();
    files.sort();
    let mut fingerprint: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let name = file.strip_prefix(&root).unwrap_or(&file).to_string_lossy().into_owned();
        let bytes = name.into_bytes().into_iter().chain(std::fs::read(&file).unwrap_or_default());
        for byte in bytes {
            fingerprint = (fingerprint ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("orgd_template_{fingerprint:016x}")
}

fn ensure_template(server: &str) -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let name = template_name();
            let mut conn = admin(server);
            // Concurrent test processes take turns building the template.
            conn.batch_execute("SELECT pg_advisory_lock(7243)").expect("advisory lock");
            let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}')"
            )))
            .get_result(&mut conn)
            .expect("query pg_database");
            if !exists {
                let building = format!("{name}_building");
                conn.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident_for_tests(&building)
                ))
                .expect("drop stale template");
                conn.batch_execute(&format!("CREATE DATABASE {}", quote_ident_for_tests(&building)))
                    .expect("create template");
                run_migrations(&with_database(server, &building)).expect("migrate template");
                conn.batch_execute(&format!(
                    "ALTER DATABASE {} RENAME TO {}",
                    quote_ident_for_tests(&building),
                    quote_ident_for_tests(&name)
                ))
                .expect("publish template");
            }
            sweep(&mut conn);
            conn.batch_execute("SELECT pg_advisory_unlock(7243)").expect("advisory unlock");
            name
        })
        .clone()
}

fn sweep(conn: &mut PgConnection) {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let rows: Vec<Row> = diesel::sql_query(format!("SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"))
        .load(conn)
        .unwrap_or_default();
    let cutoff = now_secs().saturating_sub(SWEEP_AFTER_SECS);
    for row in rows {
        let created = row.datname.trim_start_matches(PREFIX).split('_').next().and_then(|s| s.parse::<u64>().ok());
        if created.is_some_and(|t| t < cutoff) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident_for_tests(&row.datname)
            ));
        }
    }
}

use diesel::RunQueryDsl;

impl TestDatabase {
    /// A migrated database of its own.
    pub fn create() -> Self {
        let server = server_url();
        let template = ensure_template(&server);
        let name = format!("{PREFIX}{}_{}", now_secs(), uuid::Uuid::new_v4().simple());
        admin(&server)
            .batch_execute(&format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote_ident_for_tests(&name),
                quote_ident_for_tests(&template)
            ))
            .expect("create test database");
        Self { url: with_database(&server, &name), name, server }
    }

    /// A database of its own with no schema at all, for migration tests.
    pub fn create_empty() -> Self {
        let server = server_url();
        let name = format!("{PREFIX}{}_{}", now_secs(), uuid::Uuid::new_v4().simple());
        admin(&server)
            .batch_execute(&format!("CREATE DATABASE {}", quote_ident_for_tests(&name)))
            .expect("create test database");
        Self { url: with_database(&server, &name), name, server }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A direct connection, for assertions the API does not expose (e.g. audit rows).
    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = admin(&self.server)
            .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident_for_tests(&self.name)));
    }
}

/// An audit record as stored.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct StoredAuditEvent {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub action: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub actor_type: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub actor_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub target_type: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub target_id: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub changes: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub request_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub client_ip: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub user_agent: Option<String>,
}

impl TestDatabase {
    /// The organization's audit records, oldest first.
    pub fn audit_events(&self, org: uuid::Uuid) -> Vec<StoredAuditEvent> {
        diesel::sql_query(
            "SELECT action, actor_type, actor_id, target_type, target_id, changes, request_id, host(client_ip) AS client_ip, user_agent \
             FROM audit_events WHERE org_id = $1 ORDER BY id",
        )
        .bind::<diesel::sql_types::Uuid, _>(org)
        .load(&mut self.connect())
        .expect("read audit events")
    }

    /// How many owners the organization has, read straight from the table.
    pub fn owners_of(&self, org: uuid::Uuid) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            owners: i64,
        }
        let row: Count =
            diesel::sql_query("SELECT count(*) AS owners FROM memberships WHERE org_id = $1 AND role = 'owner'")
                .bind::<diesel::sql_types::Uuid, _>(org)
                .get_result(&mut self.connect())
                .expect("count owners");
        row.owners
    }

    /// Inserts an organization named `name` whose one member, the owner, is the person
    /// signing in as `subject`; answers the organization's id.
    pub fn seed_owned_org(&self, name: &str, subject: &str) -> uuid::Uuid {
        let (org, user) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        self.execute(&format!(
            "INSERT INTO organizations (id, name, slug, created_at, updated_at) VALUES ('{org}', '{name}', '{slug}', now(), now());
             INSERT INTO users (id, subject, created_at, updated_at) VALUES ('{user}', '{subject}', now(), now());
             INSERT INTO memberships (id, org_id, user_id, role, created_at, updated_at) VALUES ('{}', '{org}', '{user}', 'owner', now(), now());",
            uuid::Uuid::now_v7(),
            slug = name.to_lowercase(),
        ))
        .expect("seed an owned organization");
        org
    }

    /// Appends `count` synthetic `org.updated` records to the organization's audit chain.
    pub fn seed_audit_chain(&self, org: uuid::Uuid, count: usize) {
        let records = synthetic_audit_records(org, count);
        crate::postgres::audit::append_bulk(&mut self.connect(), orgd_domain::ids::OrgId::from_uuid(org), &records)
            .expect("seed audit chain");
    }

    /// Each outbox email's status, delivery attempts, and whether it still holds a body,
    /// oldest first.
    pub fn outbox_state(&self) -> Vec<(String, i32, bool)> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            status: String,
            #[diesel(sql_type = diesel::sql_types::Integer)]
            attempts: i32,
            #[diesel(sql_type = diesel::sql_types::Bool)]
            has_body: bool,
        }
        let query = "SELECT status, attempts, text_body <> '' AS has_body FROM outbox_emails ORDER BY created_at, id";
        let rows: Vec<Row> = diesel::sql_query(query).load(&mut self.connect()).expect("read outbox");
        rows.into_iter().map(|r| (r.status, r.attempts, r.has_body)).collect()
    }

    /// The single `bigint` a query answers, such as a `count(*)`.
    pub fn count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        let rows: Vec<Count> =
            diesel::sql_query(format!("SELECT ({sql}) AS count")).load(&mut self.connect()).expect("count");
        rows.first().map_or(0, |r| r.count)
    }

    /// Runs SQL as the database owner, for fixtures and for checks that the database
    /// itself refuses something. Returns the error text on failure.
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        self.connect().batch_execute(sql).map_err(|e| e.to_string())
    }

    /// Seeds `count` members with the given role into an organization, named
    /// `{prefix}-{n}` with emails `{prefix}-{n}@example.com`, in one statement.
    pub fn seed_members(&self, org: uuid::Uuid, prefix: &str, count: u32, role: &str) {
        let sql = format!(
            "WITH seeds AS MATERIALIZED ( \
               SELECT n, uuidv7_like(n) AS user_id, uuidv7_like(n) AS member_id FROM generate_series(1, {count}) AS n), \
             new_users AS ( \
               INSERT INTO users (id, subject, email, email_verified, name, created_at, updated_at) \
               SELECT user_id, '{prefix}-' || n, '{prefix}-' || n || '@example.com', true, '{prefix}-' || n, now(), now() FROM seeds) \
             INSERT INTO memberships (id, org_id, user_id, role, created_at, updated_at) \
             SELECT member_id, '{org}', user_id, '{role}', now(), now() FROM seeds"
        );
        self.execute(&format!("{UUIDV7_LIKE} {sql}")).expect("seed members");
    }
}

/// A UUIDv7-shaped id from the current time plus randomness, ordered by `n` within one
/// statement, so seeded rows sort like ids the service generates.
const UUIDV7_LIKE: &str = "CREATE OR REPLACE FUNCTION uuidv7_like(n int) RETURNS uuid LANGUAGE sql VOLATILE AS $$ \
    SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') \
            || '7' || lpad(to_hex(n % 4096), 3, '0') || '8' \
            || substr(md5(random()::text), 1, 15))::uuid $$;";

/// `count` plausible audit records for one organization, for seeding.
pub fn synthetic_audit_records(org: uuid::Uuid, count: usize) -> Vec<orgd_domain::audit::AuditRecord> {
    use orgd_domain::audit::{Actor, AuditAction, AuditRecord, Changes, Target};
    use orgd_domain::ids::{OrgId, UserId};
    let org = OrgId::from_uuid(org);
    let actor = Actor::User(UserId::generate());
    let meta = orgd_domain::RequestMeta {
        request_id: "seed".into(),
        client_ip: "10.0.0.1".parse().ok(),
        user_agent: Some("seed/1".into()),
        route: None,
    };
    let start = chrono::Utc::now() - chrono::Duration::days(30);
    (0..count)
        .map(|n| {
            let mut changes = Changes::new();
            changes.diff("version", &(n as i64), &(n as i64 + 1));
            let at = start + chrono::Duration::milliseconds(n as i64);
            AuditRecord::new(org, &actor, AuditAction::OrgUpdated, Target::new("organization", org), &meta, at)
                .with_changes(changes)
        })
        .collect()
}
