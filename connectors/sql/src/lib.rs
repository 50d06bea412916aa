//! kontor's SQL connector: reads a shop's or WaWi's own database (MariaDB/MySQL, PostgreSQL).
//!
//! The mapping's `[source]` declares streams: a `SELECT` the ops person writes (joins over the
//! shop's tables welcome), the increment column that grows with every change and a key column
//! unique in the result. See `connectors/sql/README.md` for the keys and the type mapping.
//!
//! # Position semantics
//! Each stream is one [`kontor_connector::Unit`] committed incrementally. Pages are read by
//! keyset over `(increment, key)`: `SELECT * FROM (<query>) kontor_q WHERE inc > $a OR (inc =
//! $a AND key >= $k) ORDER BY inc, key LIMIT n` — a value-based predicate, so rows changing
//! while the run pages cannot shift other rows past the reader: a row updated during the run
//! gets a larger increment and is read later in the run (or next run). The row at the position
//! itself is read again and dropped; finding it twice means the key is not unique (an error,
//! never a silent loss).
//!
//! A batch's position is the last row delivered, `{"increment": …, "key": …}`, with typed
//! values ([`value::Val`]: a stored position is bound with the type it was read with; a
//! position that does not parse, or whose type the column no longer has, is an error). The
//! committed position is held back to the largest increment seen when the run started minus
//! the safety margin (`{"increment": <cap>}` without key: `inc >= cap`): a transaction that
//! was open when the run started and commits later with an older `updated_at` is read next run.
//! The store's content hash makes re-reading unchanged rows write nothing. No clock or time
//! zone is involved: the cap is computed in the column's own values.
//!
//! Streams without increment are read whole every run, by key (`{"key": …}` while under way,
//! `{"complete": true}` at the end).
//!
//! Every statement runs in a read-only transaction with a statement timeout.

mod config;
mod connector;
mod db;
mod decode;
mod error;
mod position;
mod query;
mod reader;
mod secret;
mod value;

pub use connector::{KIND, SqlConnector, build};
pub use error::SqlError;
