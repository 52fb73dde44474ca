//! The change signals of what entering an organization reads (see the migration
//! `access_change_signals`): heard from other instances on a listening connection, and read
//! from the committing transaction itself before it commits.

use std::sync::Weak;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::sql_types::{Nullable, Text};
use diesel::{Connection, QueryResult, QueryableByName, RunQueryDsl};

use super::prepared::prepared;
pub use crate::entry_cache::Changed;
use crate::entry_cache::MemoryEntryCache;

/// The channel the triggers notify.
pub const CHANNEL: &str = "orgd_access";
/// How often arrived signals are applied: the usual delay before another instance's change
/// is honoured here.
const POLL: Duration = Duration::from_millis(10);
/// How often the listening connection sends itself a probe signal, whose return confirms
/// that every signal committed before it has arrived.
const CONFIRM_EVERY: Duration = Duration::from_millis(250);
/// How long the first probe may take to come back before listening is declared broken.
const PROBE_PATIENCE: Duration = Duration::from_secs(2);
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Nullable<Text>)]
    changed: Option<String>,
}

/// What the open transaction changed, as its triggers recorded; `None` for nothing.
pub(crate) fn changed_in_transaction(conn: &mut PgConnection) -> QueryResult<Option<Changed>> {
    let setting: Setting =
        prepared(diesel::sql_query("SELECT current_setting('orgd.access_changed', true) AS changed"))
            .get_result(conn)?;
    Ok(setting.changed.filter(|c| !c.trim().is_empty()).map(|c| Changed::parse(&c)))
}

/// Listens on a connection of its own for as long as `cache` lives.
pub(crate) fn spawn_listener(database_url: String, cache: Weak<MemoryEntryCache>) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new().name("entry-cache-listener".into()).spawn(move || listen(&database_url, &cache))
}

/// Why listening stopped.
enum Stop {
    /// The cache is gone: so is the store.
    Dropped,
    /// The connection failed; connect again.
    Lost(String),
}

fn listen(database_url: &str, cache: &Weak<MemoryEntryCache>) {
    let mut reported = false;
    loop {
        let outcome = PgConnection::establish(database_url)
            .map_err(|e| Stop::Lost(e.to_string()))
            .and_then(|mut conn| listen_on(&mut conn, cache, &mut reported));
        match outcome {
            Err(Stop::Dropped) | Ok(()) => return,
            Err(Stop::Lost(error)) => {
                let Some(live) = cache.upgrade() else { return };
                live.set_listening(false);
                if !reported {
                    tracing::warn!(%error, "entry cache off until its change listener reconnects");
                    reported = true;
                }
            }
        }
        thread::sleep(RECONNECT_AFTER);
    }
}

fn listen_on(conn: &mut PgConnection, cache: &Weak<MemoryEntryCache>, reported: &mut bool) -> Result<(), Stop> {
    let lost = |e: diesel::result::Error| Stop::Lost(e.to_string());
    diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(conn).map_err(lost)?;
    let mut probed = Instant::now();
    let mut confirmed_once = false;
    probe(conn).map_err(lost)?;
    loop {
        thread::sleep(POLL);
        let live = cache.upgrade().ok_or(Stop::Dropped)?;
        let mut probe_came_back = false;
        for signal in conn.notifications_iter() {
            let payload = signal.map_err(lost)?.payload;
            if payload.is_empty() {
                probe_came_back = true;
            } else {
                live.invalidate(&Changed::parse(&payload));
            }
        }
        if probe_came_back {
            if !confirmed_once {
                live.set_listening(true);
                confirmed_once = true;
                if *reported {
                    tracing::info!("entry cache on: its change listener is back");
                    *reported = false;
                }
            }
            live.confirm_listening();
        } else if !confirmed_once && probed.elapsed() >= PROBE_PATIENCE {
            return Err(Stop::Lost(
                "no signal came back on the listening connection (behind a pooler in transaction mode, \
                 set ORGD_DB_LISTEN_URL to a direct connection)"
                    .to_owned(),
            ));
        }
        if probed.elapsed() >= CONFIRM_EVERY {
            probe(conn).map_err(lost)?;
            probed = Instant::now();
        }
    }
}

/// Sends an empty signal to this very connection. It comes back only through a working
/// `LISTEN`, and after every signal committed before it: its return confirms both.
fn probe(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("SELECT pg_notify('{CHANNEL}', '')")).execute(conn).map(|_| ())
}
