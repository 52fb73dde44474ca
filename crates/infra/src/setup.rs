//! Bringing a database up: create it when missing, run the embedded migrations.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::{Connection, ConnectionError};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use url::Url;

/// The schema, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Serialises migrations when several instances start at once.
const MIGRATION_LOCK_KEY: i64 = 0x6f72_6764_6d69_6772; // "orgdmigr"

/// A setup failure, worded as one line that says what is wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("DATABASE_URL is not a valid postgres:// URL ({0}); set it like postgres://user@host:5432/dbname")]
    InvalidUrl(String),
    #[error(
        "cannot reach PostgreSQL at {target}: {reason}. Start PostgreSQL (e.g. `pg_ctlcluster 15 main start`) \
         or point DATABASE_URL at a running server"
    )]
    Unreachable { target: String, reason: String },
    #[error(
        "PostgreSQL at {target} is running, but {reason}. Create the role (as a superuser: \
         `createuser --createdb <name>`) or put an existing one in DATABASE_URL (postgres://role:password@host/db)"
    )]
    MissingRole { target: String, reason: String },
    #[error(
        "PostgreSQL at {target} is running but refused the login: {reason}. Check the role and password in \
         DATABASE_URL and that the server's pg_hba.conf admits this host"
    )]
    Authentication { target: String, reason: String },
    #[error(
        "PostgreSQL at {target} refused the connection: {reason}. Check the role, password and database in \
         DATABASE_URL"
    )]
    Refused { target: String, reason: String },
    #[error("cannot create database `{database}`: {reason}. Create it yourself or use a role allowed to (CREATEDB)")]
    CreateDatabase { database: String, reason: String },
    #[error("migrations failed: {0}")]
    Migration(String),
}

/// Why PostgreSQL would not let us in. libpq reports these as text only (no SQLSTATE before
/// a session exists), so they are told apart by its messages.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    MissingDatabase,
    MissingRole,
    Authentication,
    /// The server answered with another error, or a message in a language not recognised here.
    Other,
    /// No server answered: nothing listens there, the host is unknown, or the network is down.
    Unreachable,
}

fn classify(reason: &str) -> Refusal {
    let lower = reason.to_ascii_lowercase();
    if lower.contains("database \"") && lower.contains("does not exist") {
        Refusal::MissingDatabase
    } else if lower.contains("role \"") && lower.contains("does not exist") {
        Refusal::MissingRole
    } else if ["authentication failed", "no password supplied", "pg_hba.conf", "permission denied for database"]
        .iter()
        .any(|needle| lower.contains(needle))
    {
        Refusal::Authentication
    } else if lower.contains("fatal:") {
        Refusal::Other
    } else {
        Refusal::Unreachable
    }
}

/// A failed connection: why, and libpq's message to show.
struct Failure {
    refusal: Refusal,
    reason: String,
}

impl Failure {
    fn of(err: &ConnectionError) -> Self {
        let text = err.to_string();
        let line = text.lines().next().unwrap_or_default().trim();
        let refusal = classify(line);
        // The preamble `connection to server at "host", port N failed: FATAL:` repeats the
        // target, which the message names anyway; the hints on later lines are dropped.
        let line = match line.split_once(" failed: ") {
            Some((preamble, rest)) if preamble.starts_with("connection to server") => rest,
            _ => line,
        };
        Self { refusal, reason: line.trim_start_matches("FATAL:").trim().to_owned() }
    }

    /// The error for any failure but a missing database.
    fn into_error(self, target: &DatabaseUrl) -> SetupError {
        let (target, reason) = (target.target(), self.reason);
        match self.refusal {
            Refusal::MissingRole => SetupError::MissingRole { target, reason },
            Refusal::Authentication => SetupError::Authentication { target, reason },
            Refusal::MissingDatabase | Refusal::Other => SetupError::Refused { target, reason },
            Refusal::Unreachable => SetupError::Unreachable { target, reason },
        }
    }
}

/// The URL the service connects with. A server on this machine is reached without TLS
/// unless the URL says otherwise: libpq's default (`sslmode=prefer`) encrypts loopback
/// traffic too, which costs every round trip and protects nothing that leaves the machine.
pub fn connection_url(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw) else { return raw.to_owned() };
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // A postgres:// URL's host is opaque to the parser: an address arrives as a name.
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    };
    let chosen = url.query_pairs().any(|(key, _)| matches!(key.as_ref(), "sslmode" | "host" | "hostaddr"));
    if !loopback || chosen {
        return raw.to_owned();
    }
    url.query_pairs_mut().append_pair("sslmode", "disable");
    url.to_string()
}

struct DatabaseUrl {
    url: Url,
    database: String,
}

impl DatabaseUrl {
    fn parse(raw: &str) -> Result<Self, SetupError> {
        let url = Url::parse(raw).map_err(|e| SetupError::InvalidUrl(e.to_string()))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(SetupError::InvalidUrl(format!("scheme `{}` is not postgres", url.scheme())));
        }
        let database = url.path().trim_start_matches('/').to_owned();
        if database.is_empty() || database.contains('/') {
            return Err(SetupError::InvalidUrl("it names no database".to_owned()));
        }
        Ok(Self { url, database })
    }

    /// host:port, for messages (never the password).
    fn target(&self) -> String {
        format!("{}:{}", self.url.host_str().unwrap_or("localhost"), self.url.port().unwrap_or(5432))
    }

    /// The same server's maintenance database, from which others are created.
    fn maintenance(&self) -> String {
        let mut url = self.url.clone();
        url.set_path("/postgres");
        url.to_string()
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(feature = "test-db")]
pub(crate) fn quote_ident_for_tests(name: &str) -> String {
    quote_ident(name)
}

/// Connects to `database_url`, creating the database first if the server lacks it.
pub fn ensure_database(database_url: &str) -> Result<(), SetupError> {
    let target = DatabaseUrl::parse(database_url)?;
    match PgConnection::establish(database_url) {
        Ok(_) => return Ok(()),
        Err(err) => {
            let failure = Failure::of(&err);
            if failure.refusal != Refusal::MissingDatabase {
                return Err(failure.into_error(&target));
            }
        }
    }
    // The expected path on a first start, so it is said plainly rather than as the
    // server's FATAL message.
    tracing::info!("creating database {}", target.database);
    let mut admin = PgConnection::establish(&target.maintenance()).map_err(|err| {
        let failure = Failure::of(&err);
        match failure.refusal {
            Refusal::MissingDatabase => SetupError::CreateDatabase {
                database: target.database.clone(),
                reason: format!("the server has no `postgres` database to create it from ({})", failure.reason),
            },
            _ => failure.into_error(&target),
        }
    })?;
    match admin.batch_execute(&format!("CREATE DATABASE {}", quote_ident(&target.database))) {
        Ok(()) => Ok(()),
        // Another instance created it first.
        Err(err) if err.to_string().contains("already exists") => Ok(()),
        Err(err) => Err(SetupError::CreateDatabase { database: target.database, reason: err.to_string() }),
    }
}

/// Applies pending migrations; returns the versions applied.
pub fn run_migrations(database_url: &str) -> Result<Vec<String>, SetupError> {
    let target = DatabaseUrl::parse(database_url)?;
    let mut conn = PgConnection::establish(database_url).map_err(|e| Failure::of(&e).into_error(&target))?;
    let lock =
        |conn: &mut PgConnection, sql: &str| conn.batch_execute(sql).map_err(|e| SetupError::Migration(e.to_string()));
    lock(&mut conn, &format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| SetupError::Migration(e.to_string()));
    lock(&mut conn, &format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
    applied
}

/// Creates the database if needed and migrates it.
pub fn prepare_database(database_url: &str) -> Result<Vec<String>, SetupError> {
    ensure_database(database_url)?;
    run_migrations(database_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_without_a_database_are_refused() {
        assert!(matches!(DatabaseUrl::parse("postgres://postgres@127.0.0.1:5432"), Err(SetupError::InvalidUrl(_))));
        assert!(matches!(DatabaseUrl::parse("mysql://x@h/db"), Err(SetupError::InvalidUrl(_))));
        assert!(matches!(DatabaseUrl::parse("not a url"), Err(SetupError::InvalidUrl(_))));
    }

    #[test]
    fn the_maintenance_database_is_on_the_same_server() {
        let url = DatabaseUrl::parse("postgres://u:secret@db.internal:6543/orgd?sslmode=disable").unwrap();
        assert_eq!(url.database, "orgd");
        assert_eq!(url.target(), "db.internal:6543");
        assert_eq!(url.maintenance(), "postgres://u:secret@db.internal:6543/postgres?sslmode=disable");
    }

    #[test]
    fn refusals_are_told_apart_by_cause() {
        let cases = [
            (r#"database "orgd" does not exist"#, Refusal::MissingDatabase),
            (r#"role "bob" does not exist"#, Refusal::MissingRole),
            (r#"password authentication failed for user "bob""#, Refusal::Authentication),
            ("fe_sendauth: no password supplied", Refusal::Authentication),
            (
                r#"no pg_hba.conf entry for host "10.0.0.7", user "bob", database "orgd", no encryption"#,
                Refusal::Authentication,
            ),
            ("FATAL:  the database system is starting up", Refusal::Other),
            ("Connection refused", Refusal::Unreachable),
            (
                r#"could not translate host name "db.invalid" to address: Name or service not known"#,
                Refusal::Unreachable,
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(classify(message), expected, "{message}");
        }
    }

    #[test]
    fn each_refusal_advises_its_own_fix() {
        let url = DatabaseUrl::parse("postgres://bob@127.0.0.1:5432/orgd").unwrap();
        let advice =
            |line: &str| Failure::of(&ConnectionError::BadConnection(line.to_owned())).into_error(&url).to_string();
        let refused = advice(
            "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n\tIs the server running",
        );
        assert!(refused.contains("Start PostgreSQL") && refused.contains(": Connection refused."), "{refused}");
        let role =
            advice(r#"connection to server at "127.0.0.1", port 5432 failed: FATAL:  role "bob" does not exist"#);
        assert!(role.contains(r#"running, but role "bob" does not exist."#), "{role}");
        assert!(role.contains("createuser") && !role.contains("Start PostgreSQL"), "{role}");
        let login = advice(r#"password authentication failed for user "bob""#);
        assert!(login.contains("password in DATABASE_URL") && !login.contains("Start PostgreSQL"), "{login}");
        for message in [role, login] {
            assert!(!message.contains('\n'), "one line: {message}");
        }
    }

    #[test]
    fn loopback_servers_are_reached_without_tls_unless_the_url_chooses() {
        assert_eq!(
            connection_url("postgres://u@127.0.0.1:5432/orgd"),
            "postgres://u@127.0.0.1:5432/orgd?sslmode=disable"
        );
        assert_eq!(
            connection_url("postgres://u@localhost/orgd?x=1"),
            "postgres://u@localhost/orgd?x=1&sslmode=disable"
        );
        assert_eq!(connection_url("postgres://u@[::1]/orgd"), "postgres://u@[::1]/orgd?sslmode=disable");
        for kept in [
            "postgres://u@127.0.0.1/orgd?sslmode=require",
            "postgres://u@db.internal/orgd",
            "postgres://u@10.0.0.5/orgd",
            "postgres://u@localhost/orgd?host=/var/run/postgresql",
        ] {
            assert_eq!(connection_url(kept), kept);
        }
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}
