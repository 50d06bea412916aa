//! A write transaction whose connection never goes back to the pool in an unknown state.
//!
//! A future dropped in the middle of a statement (a caller's timeout around a sync, a
//! cancelled request) drops its transaction there. sqlx then queues a `ROLLBACK` and gives
//! the connection back to the pool — but a statement cut off mid-way can leave a reply the
//! connection does not expect (a `COPY` dropped while it finishes leaves its
//! `ReadyForQuery` unread), and the next `BEGIN` on that connection reads it and fails
//! with `BeginFailed`. A [`WriteTx`] dropped before its `COMMIT` or `ROLLBACK` completed
//! closes its connection instead (the server rolls back what it had), so the pool only ever
//! holds connections whose transactions ended as sent.

use sqlx::pool::PoolConnection;
use sqlx::{Executor, PgConnection, PgPool, Postgres};

pub(crate) struct WriteTx {
    conn: PoolConnection<Postgres>,
    /// Between `BEGIN` and a completed `COMMIT` or `ROLLBACK`.
    open: bool,
}

impl WriteTx {
    pub(crate) async fn begin(pool: &PgPool) -> Result<WriteTx, sqlx::Error> {
        let conn = pool.acquire().await?;
        let mut tx = WriteTx { conn, open: true };
        tx.conn.execute("BEGIN").await?;
        Ok(tx)
    }

    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.conn.execute("COMMIT").await?;
        self.open = false;
        Ok(())
    }

    pub(crate) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.conn.execute("ROLLBACK").await?;
        self.open = false;
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.open {
            // Cut off, or ended by an error: the connection goes, its transaction with it.
            self.conn.close_on_drop();
        }
    }
}

impl std::ops::Deref for WriteTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}
