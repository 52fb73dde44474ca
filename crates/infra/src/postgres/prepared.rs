//! Named prepared statements for the queries diesel would otherwise parse and plan anew on
//! every execution.
//!
//! A connection keeps a statement prepared only when diesel can tell that its SQL takes a
//! bounded number of forms. It cannot tell for a raw `sql_query`, an SQL literal, an
//! `UPDATE`, an `INSERT` with an optional value or an upsert, so it sends each of them
//! unnamed, and PostgreSQL parses, analyses and plans it every time. Under a load of writes
//! that was about half of PostgreSQL's CPU, every write statement of a request being one of
//! those. [`prepared`] vouches that a query's SQL takes few forms (fixed text, or a
//! choice among a few), and the connection's cache then keys it by its text like any
//! other. Never wrap a query whose text grows with its input (a multi-row `VALUES` list).
//! With the statement cache off (`ORGD_DB_STATEMENT_CACHE=false`) nothing is kept anyway.

use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// `query`, kept prepared by the connection that runs it.
pub(crate) fn prepared<Q>(query: Q) -> Prepared<Q> {
    Prepared(query)
}

/// A query whose SQL takes few forms: see [`prepared`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prepared<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// Keyed by its SQL text and bind types, not by a Rust type: one type may print several forms.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}

impl<Q: QueryFragment<Pg>> Prepared<Q> {
    /// Runs a statement that answers no rows and says how many rows it wrote, as
    /// `RunQueryDsl::execute` does. That one asks whether the statement may be kept through
    /// a reference to it, which diesel answers from the wrapped query alone (always "no"
    /// here); a statement loaded by value is asked itself. So the statement is loaded, with
    /// `RETURNING 1` for a row per row written.
    pub(crate) fn execute(self, conn: &mut PgConnection) -> QueryResult<usize> {
        Prepared(RowPerWrite(self.0)).load::<i32>(conn).map(|rows| rows.len())
    }
}

/// A statement that answers no rows, answering one per row it wrote.
struct RowPerWrite<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for RowPerWrite<Q> {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass.reborrow())?;
        pass.push_sql(" RETURNING 1");
        Ok(())
    }
}

impl<Q> QueryId for RowPerWrite<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for RowPerWrite<Q> {
    type SqlType = diesel::sql_types::Integer;
}
