#![warn(missing_docs)]
//! The connector interface of kontor.
//!
//! A connector turns one kind of source (flat files, XML documents, a REST API, an external
//! plugin) into **batches of raw records**. It knows nothing about the canonical model, the
//! mapping engine or the store: those belong to kontor's core, which drives every connector
//! through the same [`Connector`] trait.
//!
//! The flow for one sync run:
//! 1. [`Connector::discover`] lists the [`Unit`]s of work (a file, an API entity stream).
//! 2. For each unit the engine looks up its checkpoint and calls [`Connector::open`] with the
//!    last committed [`Unit::key`] state (a resume position or an incremental cursor).
//! 3. [`BatchReader::next_batch`] yields [`Batch`]es. Each batch carries the position *after*
//!    it; the engine commits the batch's records and that position in one transaction.
//! 4. When the reader is exhausted, [`Connector::unit_done`] lets the connector clean up
//!    (for example move a processed file into an archive folder).

pub mod files;
// Connectors use the same toml and serde_json as the core.
pub use serde_json;
pub use toml;
mod record;
mod spec;

pub use record::{Context, Fields, Position, RawRecord, RawReject, Row};
pub use spec::{
    ConfigError, ConfigPart, ConnectorSpec, OwnIdentity, parse_duration, parse_rate, parse_table,
};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Errors a connector reports. Per-record problems are not errors: they travel as
/// [`Item::Reject`] inside a batch so that the rest of the source still loads.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The connector's configuration is invalid (names the key).
    #[error("configuration: {0}")]
    Config(String),
    /// A file or directory could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// What the operating system said.
        message: String,
    },
    /// The remote side failed after all retries.
    #[error("remote: {0}")]
    Remote(String),
    /// A whole unit is unusable (for example a truncated document); the engine quarantines it
    /// with this reason and goes on with the next unit.
    #[error("{position}: {reason}")]
    Unit {
        /// Where the unit is (its file, page or document).
        position: Position,
        /// Why it cannot be used.
        reason: String,
    },
    /// A passing problem (a file still changing): nothing of the unit is kept, it is read
    /// again next run.
    #[error("{0}")]
    Retry(String),
    /// The run was cancelled (shutdown).
    #[error("cancelled")]
    Cancelled,
}

impl ConnectorError {
    /// An [`ConnectorError::Io`] for `path`.
    pub fn io(path: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.into(),
            message: err.to_string(),
        }
    }
}

/// How the engine commits a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitMode {
    /// All records of the unit become visible together when the unit is complete (files):
    /// batches are staged with their resume position; a unit whose reject ratio is too high
    /// commits nothing.
    Atomic,
    /// Every batch becomes visible with its position, which is the cursor of the next run
    /// (paged APIs, plugin streams).
    Incremental,
}

/// One unit of work: a file, or an entity stream of an API.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Stable identity used for checkpoints: a file's content hash, or a stream name.
    pub key: String,
    /// What a human recognises: a path or a URL.
    pub label: String,
    /// Content fingerprint when known before reading (files); a changed fingerprint means the
    /// unit has to be read again.
    pub fingerprint: Option<String>,
    /// Size in bytes when known (for progress and ETA).
    pub size: Option<u64>,
    /// How the unit's batches become visible (all at once, or each with its cursor).
    pub commit: CommitMode,
    /// A hint which built-in mapping applies (for example `"ubl"` or `"erpnext/Customer"`).
    pub stream: Option<String>,
    /// When the file was last modified (files; orders several files of one connector when
    /// their names carry no date).
    pub modified: Option<std::time::SystemTime>,
}

/// A record or a rejected piece of input.
#[derive(Debug, Clone)]
pub enum Item {
    /// A record for the mapping.
    Record(RawRecord),
    /// Input that could not become a record: quarantined.
    Reject(RawReject),
}

/// The most memory a connector's batch should hold, estimated by [`Item::approx_bytes`]: a
/// reader ends a batch at the configured number of records or at this size, whichever comes
/// first — so wide rows (a DATEV Buchungsstapel has 120 columns) make shorter batches and the
/// memory of a sync does not follow row width. Three batches are in flight at most (read,
/// mapped, written), each with its mapped form.
pub const MAX_BATCH_BYTES: usize = 2 << 20;

impl Item {
    /// An estimate of the memory the item holds.
    pub fn approx_bytes(&self) -> usize {
        const ITEM: usize = 160;
        ITEM + match self {
            Item::Record(r) => r.approx_bytes(),
            Item::Reject(r) => r.raw.len() + r.reason.len(),
        }
    }
}

/// A batch of items and the resumable position after it.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// The batch's records and rejects, in source order.
    pub items: Vec<Item>,
    /// Opaque to the engine. For atomic units: where to resume reading after a crash. For
    /// incremental units: the cursor that the next run starts from.
    pub position: serde_json::Value,
    /// Bytes of the unit consumed so far, for progress display (when known).
    pub bytes_read: Option<u64>,
}

/// Reads one unit batch by batch.
#[async_trait]
pub trait BatchReader: Send {
    /// The next batch, or `None` when the unit is exhausted.
    async fn next_batch(&mut self) -> Result<Option<Batch>, ConnectorError>;
}

/// What a connector says about itself.
#[derive(Debug, Clone, Serialize)]
pub struct Description {
    /// The connector kind (`csv`, `xml`, `rest`, `plugin`, …).
    pub kind: &'static str,
    /// The streams (entities) this connector can deliver, for example `["Customer", "Sales Invoice"]`.
    pub streams: Vec<String>,
    /// Built-in mappings that apply when the connector has no mapping file:
    /// `(stream, built-in mapping name)`; a `None` stream applies to all records.
    pub builtin_mappings: Vec<(Option<String>, String)>,
}

/// The one interface every connector implements.
#[async_trait]
pub trait Connector: Send + Sync {
    /// What the connector is and which streams and built-in mappings it has.
    fn describe(&self) -> Description;

    /// Checks configuration and reachability without reading data. Returns warnings.
    async fn check(&self) -> Result<Vec<String>, ConnectorError>;

    /// Lists the units to read now.
    async fn discover(&self) -> Result<Vec<Unit>, ConnectorError>;

    /// Opens a unit. `state` is the last committed position of this unit: a resume position
    /// for atomic units that were interrupted, the cursor of the previous run for incremental
    /// ones, `None` for a fresh start.
    async fn open(
        &self,
        unit: &Unit,
        state: Option<serde_json::Value>,
    ) -> Result<Box<dyn BatchReader>, ConnectorError>;

    /// Called after a unit's records are committed.
    async fn unit_done(&self, _unit: &Unit) -> Result<(), ConnectorError> {
        Ok(())
    }
}

/// Shared handle to a connector.
pub type DynConnector = Arc<dyn Connector>;

/// Builds a connector of one kind from its configuration.
pub type BuildFn = fn(ConnectorSpec) -> Result<DynConnector, ConfigError>;
