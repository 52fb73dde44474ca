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
    #[error("cannot create database `{database}`: {reason}. Create it yourself or use a role allowed to (CREATEDB)")]
    CreateDatabase { database: String, reason: String },
    #[error("migrations failed: {0}")]
    Migration(String),
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

fn first_line(err: &ConnectionError) -> String {
    let text = err.to_string();
    text.lines().next().unwrap_or_default().trim().to_owned()
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
    let missing = match PgConnection::establish(database_url) {
        Ok(_) => return Ok(()),
        Err(err) => {
            let reason = first_line(&err);
            if !reason.contains("does not exist") {
                return Err(SetupError::Unreachable { target: target.target(), reason });
            }
            reason
        }
    };
    tracing::info!(database = %target.database, %missing, "creating database");
    let mut admin = PgConnection::establish(&target.maintenance())
        .map_err(|e| SetupError::Unreachable { target: target.target(), reason: first_line(&e) })?;
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
    let mut conn = PgConnection::establish(database_url)
        .map_err(|e| SetupError::Unreachable { target: target.target(), reason: first_line(&e) })?;
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
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}
