//! kontor's plugin connector: runs an external program that speaks the
//! [Singer protocol](https://hub.meltano.com/singer/spec) (a "tap") and turns its stdout into
//! batches of raw records. See `connectors/plugin/README.md` for the configuration keys.
//!
//! # Protocol
//! The plugin prints one JSON object per line on stdout:
//! - `SCHEMA` (`stream`, `schema`, `key_properties`): the JSON Schema of a stream's records.
//! - `RECORD` (`stream`, `record`): a record, checked against its stream's latest SCHEMA and
//!   handed to the mapping as a tree record with the stream name and the position
//!   `<program>:<stdout line>`.
//! - `STATE` (`value`): a bookmark the plugin can resume from.
//! - Other types (`ACTIVATE_VERSION`, `BATCH`, …) are ignored (logged).
//!
//! # State semantics
//! The connector has one unit, committed incrementally. A STATE ends a batch: the batch holds
//! the records since the previous STATE and its position is `{"state": <value>}`, which the
//! engine commits together with the records. The next run starts the plugin with
//! `--state <file>` holding the committed value. So the committed state never runs ahead of
//! the committed records. Records after the last STATE are handed over only when the plugin
//! exits with status 0 (with the last STATE as position). If a plugin emits more than
//! [`MAX_BUFFERED`] records without a STATE, they are handed over with the last STATE
//! seen: after a crash they are delivered again, which is harmless because the store upserts
//! by key.
//!
//! # Failures
//! A line that is not a Singer message, a RECORD before its SCHEMA or violating it, a
//! non-zero exit (with the last stderr lines) or silence on stdout for `timeout` (the
//! process group is killed) fail the run with an error naming the stdout line; the records
//! after the last STATE are dropped, everything up to it stays committed. The plugin runs in
//! its own process group and, on Linux, is killed by the kernel when kontor dies.
//!
//! # Secrets
//! Config values may be `{ env = "NAME" }` or `{ file = "path" }`; they are resolved when the
//! plugin starts and written only into its temporary `--config` file (mode 0600). Errors,
//! `Debug` output and logged stderr lines never contain them.

mod config;
mod connector;
mod error;
mod process;
mod protocol;
mod reader;
mod secret;

pub use config::DEFAULT_TIMEOUT;
pub use connector::{KIND, PluginConnector, UNIT_KEY, build};
pub use error::PluginError;
pub use reader::MAX_BUFFERED;
