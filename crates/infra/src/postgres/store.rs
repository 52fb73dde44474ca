use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, CacheSize, Connection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::RunQueryDsl;
use orgd_domain::access::{CacheEntry, EntryCache, EntryCacheAccess, Epoch, NoCache};
use orgd_domain::{Store, StoreError, Tx};

use super::access_signals::{self, changed_in_transaction};
use super::errors::store_error;
use super::readings::{PoolEvents, PoolObserver};
use crate::entry_cache::{EntryCacheSettings, MemoryEntryCache};

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
type PooledConnection = diesel::r2d2::PooledConnection<ConnectionManager<PgConnection>>;

/// The [`Store`] port on a PostgreSQL connection pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Tells this store's joined transactions from another's (another database).
    id: u64,
    /// What entering an organization read, kept between requests; `None` keeps nothing.
    cache: Option<Arc<MemoryEntryCache>>,
}

/// How the pool connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// At most this many connections.
    pub size: u32,
    /// Waiting longer than this for a connection fails the request as unavailable instead
    /// of queueing it forever.
    pub acquire_timeout: Duration,
    /// Whether connections keep named prepared statements. Off behind a pooler in
    /// transaction mode (PgBouncer before 1.21), which hands each transaction whichever
    /// server connection is free, where the statement was never prepared.
    pub statement_cache: bool,
}

/// Turns each new connection's prepared-statement cache off.
#[derive(Debug)]
struct WithoutStatementCache;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for WithoutStatementCache {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.set_prepared_statement_cache_size(CacheSize::Disabled);
        Ok(())
    }
}

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The outer transaction work on this thread joins, while [`OuterTransaction::join`] runs.
    static JOINED: RefCell<Option<OuterTransaction>> = const { RefCell::new(None) };
    /// Whether this thread is inside a transaction of the joined one.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// One transaction that every transaction of a piece of work joins as a savepoint, so that
/// the work commits as a whole or not at all: a request's effect and the response kept for
/// its retries. Begun by [`PgStore::begin_outer`]; rolled back unless committed, also when
/// dropped (a client that hung up).
#[derive(Clone)]
pub struct OuterTransaction {
    conn: Arc<Mutex<Open>>,
    store_id: u64,
    cache: Option<Arc<MemoryEntryCache>>,
}

/// The connection while its transaction is open; `None` once committed or rolled back.
struct Open(Option<PooledConnection>);

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(mut conn) = self.0.take() {
            // Abandoned (the client hung up): rolled back off the thread dropping it, which
            // may be an async worker that must not wait on the database. Failing, the
            // connection is broken and the pool discards it, which ends the transaction too.
            let rollback = move || {
                let _ = AnsiTransactionManager::rollback_transaction(&mut *conn);
            };
            if let Err(error) = std::thread::Builder::new().name("rollback".into()).spawn(rollback) {
                tracing::warn!(%error, "could not roll an abandoned transaction back");
            }
        }
    }
}

impl OuterTransaction {
    /// Runs `work` on this thread with every transaction of the store this came from joining
    /// this one.
    pub fn join<T>(&self, work: impl FnOnce() -> T) -> T {
        struct Restore(Option<OuterTransaction>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                JOINED.with(|joined| *joined.borrow_mut() = previous);
            }
        }
        let _restore = Restore(JOINED.with(|joined| joined.replace(Some(self.clone()))));
        work()
    }

    pub fn commit(self) -> Result<(), StoreError> {
        let cache = self.cache.clone();
        let changed = self.end(|conn| {
            let changed = match cache {
                Some(_) => changed_in_transaction(conn)?,
                None => None,
            };
            AnsiTransactionManager::commit_transaction(conn)?;
            Ok(changed)
        })?;
        if let (Some(cache), Some(changed)) = (&self.cache, changed) {
            cache.invalidate(&changed);
        }
        Ok(())
    }

    pub fn rollback(self) -> Result<(), StoreError> {
        self.end(AnsiTransactionManager::rollback_transaction)
    }

    fn end<T>(&self, how: impl FnOnce(&mut PgConnection) -> diesel::QueryResult<T>) -> Result<T, StoreError> {
        let mut open = self.conn.lock().map_err(|_| StoreError::Internal("a joined transaction panicked".into()))?;
        let mut conn = open.0.take().ok_or_else(|| StoreError::Internal("the transaction has ended".into()))?;
        how(&mut conn).map_err(store_error)
    }
}

/// One open transaction (or, for [`Store::read`], one connection); implements every
/// repository port.
pub struct PgTx<'c> {
    pub(super) conn: &'c mut PgConnection,
    cache: Option<&'c MemoryEntryCache>,
    kept: Vec<(Epoch, CacheEntry)>,
}

impl<'c> PgTx<'c> {
    /// A transaction that neither reads nor keeps cached entries.
    pub fn new(conn: &'c mut PgConnection) -> Self {
        Self { conn, cache: None, kept: Vec::new() }
    }

    fn cached(conn: &'c mut PgConnection, cache: Option<&'c MemoryEntryCache>) -> Self {
        Self { conn, cache, kept: Vec::new() }
    }
}

/// The store's cache, or one that keeps nothing when it has none.
fn as_entry_cache(cache: Option<&MemoryEntryCache>) -> &dyn EntryCache {
    match cache {
        Some(cache) => cache,
        None => &NoCache,
    }
}

impl EntryCacheAccess for PgTx<'_> {
    fn entry_cache(&self) -> &dyn EntryCache {
        as_entry_cache(self.cache)
    }

    fn keep_after_commit(&mut self, epoch: Epoch, entry: CacheEntry) {
        if self.cache.is_some() {
            self.kept.push((epoch, entry));
        }
    }
}

/// Why a transaction closure stopped: the use case said so, or the database did.
enum Abort<E> {
    UseCase(E),
    Database(diesel::result::Error),
}

impl<E> From<diesel::result::Error> for Abort<E> {
    fn from(err: diesel::result::Error) -> Self {
        Abort::Database(err)
    }
}

impl PgStore {
    /// A pool of at most `size` connections. Waiting longer than `acquire_timeout` for one
    /// fails the request as unavailable instead of queueing it forever.
    pub fn new(database_url: &str, size: u32, acquire_timeout: Duration) -> Self {
        Self::with_settings(database_url, PoolSettings { size, acquire_timeout, statement_cache: true })
    }

    pub fn with_settings(database_url: &str, settings: PoolSettings) -> Self {
        Self::build(database_url, settings, None)
    }

    /// [`Self::with_settings`], telling `observer` of every wait for a connection.
    pub fn observed(database_url: &str, settings: PoolSettings, observer: Arc<dyn PoolObserver>) -> Self {
        Self::build(database_url, settings, Some(observer))
    }

    fn build(database_url: &str, settings: PoolSettings, observer: Option<Arc<dyn PoolObserver>>) -> Self {
        let mut builder = Pool::builder()
            .max_size(settings.size)
            .min_idle(Some(0))
            .connection_timeout(settings.acquire_timeout)
            .test_on_check_out(false);
        if !settings.statement_cache {
            builder = builder.connection_customizer(Box::new(WithoutStatementCache));
        }
        if let Some(observer) = observer {
            builder = builder.event_handler(Box::new(PoolEvents(observer)));
        }
        let url = crate::setup::connection_url(database_url);
        let pool = builder.build_unchecked(ConnectionManager::new(url));
        Self { pool, id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed), cache: None }
    }

    /// Keeps what entering an organization reads in memory, forgotten on the change signals
    /// heard on `listen_url` (a direct connection to the same database: a pooler in
    /// transaction mode does not carry `LISTEN`). Without a listening thread, nothing is
    /// kept.
    pub fn with_entry_cache(mut self, settings: EntryCacheSettings, listen_url: &str) -> Self {
        let cache = Arc::new(MemoryEntryCache::new(settings));
        let url = crate::setup::connection_url(listen_url);
        match access_signals::spawn_listener(url, Arc::downgrade(&cache)) {
            Ok(_) => self.cache = Some(cache),
            Err(error) => tracing::warn!(%error, "no entry cache: its listener could not start"),
        }
        self
    }

    /// Begins a transaction for [`OuterTransaction::join`].
    pub fn begin_outer(&self) -> Result<OuterTransaction, StoreError> {
        let mut conn = self.connection()?;
        AnsiTransactionManager::begin_transaction(&mut *conn).map_err(store_error)?;
        Ok(OuterTransaction {
            conn: Arc::new(Mutex::new(Open(Some(conn)))),
            store_id: self.id,
            cache: self.cache.clone(),
        })
    }

    /// The outer transaction this thread's work joins, unless it is inside it already: a
    /// transaction opened within another's work runs on its own connection, as it always has.
    fn joined(&self) -> Option<OuterTransaction> {
        if INSIDE.with(Cell::get) {
            return None;
        }
        JOINED.with(|joined| joined.borrow().clone()).filter(|outer| outer.store_id == self.id)
    }

    pub(super) fn connection(&self) -> Result<PooledConnection, StoreError> {
        self.pool.get().map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(super) fn entry_cache(&self) -> Option<&MemoryEntryCache> {
        self.cache.as_deref()
    }
}

impl Store for PgStore {
    fn transaction<T, E>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let outcome = match self.joined() {
            Some(outer) => {
                let mut open =
                    outer.conn.lock().map_err(|_| StoreError::Internal("a joined transaction panicked".into()))?;
                let conn =
                    open.0.as_mut().ok_or_else(|| StoreError::Internal("the joined transaction has ended".into()))?;
                struct Inside;
                impl Drop for Inside {
                    fn drop(&mut self) {
                        INSIDE.with(|inside| inside.set(false));
                    }
                }
                INSIDE.with(|inside| inside.set(true));
                let _inside = Inside;
                // Nested in the open transaction, diesel makes this one a savepoint. Entries
                // are neither read nor kept: the outer transaction commits later.
                run(conn, None, work)
            }
            None => run(&mut *self.connection()?, self.cache.as_deref(), work),
        };
        outcome.map_err(|abort| match abort {
            Abort::UseCase(err) => err,
            Abort::Database(err) => E::from(store_error(err)),
        })
    }

    fn read<T, E>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        if self.joined().is_some() {
            return self.transaction(work);
        }
        let mut conn = self.connection()?;
        let mut tx = PgTx::cached(&mut conn, self.cache.as_deref());
        let found = work(&mut tx)?;
        keep_all(self.cache.as_deref(), None, std::mem::take(&mut tx.kept));
        Ok(found)
    }

    fn read_snapshot<T, E>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        if self.joined().is_some() {
            // A savepoint cannot change its transaction's isolation: the work reads in the
            // request's transaction, as every other of its reads does.
            return self.transaction(work);
        }
        let mut conn = self.connection()?;
        let outcome = conn
            .build_transaction()
            .repeatable_read()
            .read_only()
            .run::<T, Abort<E>, _>(|conn| work(&mut PgTx::new(conn)).map_err(Abort::UseCase));
        outcome.map_err(|abort| match abort {
            Abort::UseCase(err) => err,
            Abort::Database(err) => E::from(store_error(err)),
        })
    }

    fn cached_entries(&self) -> &dyn EntryCache {
        as_entry_cache(self.cache.as_deref())
    }

    fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        diesel::sql_query("SELECT 1").execute(&mut *conn).map(|_| ()).map_err(store_error)
    }
}

/// Runs `work` in a transaction; once it commits, forgets the cached entries it changed,
/// then keeps those it read.
fn run<T, E>(
    conn: &mut PgConnection,
    cache: Option<&MemoryEntryCache>,
    work: impl FnOnce(&mut dyn Tx) -> Result<T, E>,
) -> Result<T, Abort<E>> {
    let mut kept = Vec::new();
    let mut changed = None;
    let done = conn.transaction::<T, Abort<E>, _>(|conn| {
        let mut tx = PgTx::cached(conn, cache);
        let done = work(&mut tx).map_err(Abort::UseCase)?;
        kept = std::mem::take(&mut tx.kept);
        if cache.is_some() {
            changed = changed_in_transaction(tx.conn)?;
        }
        Ok(done)
    })?;
    keep_all(cache, changed, kept);
    Ok(done)
}

fn keep_all(
    cache: Option<&MemoryEntryCache>,
    changed: Option<access_signals::Changed>,
    kept: Vec<(Epoch, CacheEntry)>,
) {
    let Some(cache) = cache else { return };
    if let Some(changed) = changed {
        cache.invalidate(&changed);
    }
    for (epoch, entry) in kept {
        cache.keep(epoch, entry);
    }
}
