use std::time::Duration;

use diesel::connection::Connection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::RunQueryDsl;
use domain::{Store, StoreError, Tx};

use super::errors::store_error;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;

/// The [`Store`] port on a PostgreSQL connection pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// One open transaction; implements every repository port.
pub struct PgTx<'c> {
    pub(super) conn: &'c mut PgConnection,
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
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(0))
            .connection_timeout(acquire_timeout)
            .test_on_check_out(false)
            .build_unchecked(ConnectionManager::new(database_url));
        Self { pool }
    }

    fn connection(&self) -> Result<diesel::r2d2::PooledConnection<ConnectionManager<PgConnection>>, StoreError> {
        self.pool.get().map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}

impl Store for PgStore {
    fn transaction<T, E>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.connection()?;
        let outcome = conn.transaction::<T, Abort<E>, _>(|conn| work(&mut PgTx { conn }).map_err(Abort::UseCase));
        outcome.map_err(|abort| match abort {
            Abort::UseCase(err) => err,
            Abort::Database(err) => E::from(store_error(err)),
        })
    }

    fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        diesel::sql_query("SELECT 1").execute(&mut *conn).map(|_| ()).map_err(store_error)
    }
}
