//! Reading a running plugin: Singer messages → batches that end at STATE messages.

use crate::error::{PluginError, truncate};
use crate::process::{Tap, describe_status};
use crate::protocol::{self, Message, Schemas};
use crate::secret::Redactor;
use async_trait::async_trait;
use kontor_connector::{Batch, BatchReader, ConnectorError, Fields, Item, Position, RawRecord};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Records buffered without a STATE before a batch is handed over anyway (with the last STATE
/// as its position, so a crash re-delivers them: harmless, the store upserts by key).
pub const MAX_BUFFERED: usize = 50_000;
/// How long to wait for the rest of stderr after the plugin ended.
const STDERR_SETTLE: Duration = Duration::from_secs(2);
/// Characters of an offending stdout line quoted in an error.
const EXCERPT_CHARS: usize = 200;

/// The position of a batch: `{"state": <STATE value>}`, or `null` before the first STATE.
pub fn position_of(state: Option<&Value>) -> Value {
    match state {
        Some(v) => json!({ "state": v }),
        None => Value::Null,
    }
}

/// The STATE value in a committed position (`None` for a fresh start).
pub fn state_of(position: Option<Value>) -> Option<Value> {
    match position {
        None | Some(Value::Null) => None,
        Some(Value::Object(mut m)) if m.contains_key("state") => m.remove("state"),
        Some(other) => {
            tracing::warn!(position = %truncate(&other.to_string(), 200), "stored plugin position not understood; starting without state");
            None
        }
    }
}

/// What the reader needs besides the process.
pub struct ReaderSpec {
    /// The program name: the `source` of record positions and the name in errors.
    pub plugin: String,
    pub timeout: Duration,
    pub streams: Option<Vec<String>>,
    /// The state the plugin was started with.
    pub state: Option<Value>,
    pub redactor: Redactor,
    /// Temporary files (config, state) that must live as long as the plugin.
    pub files: Vec<tempfile::NamedTempFile>,
}

/// Reads one plugin run.
pub struct SingerReader {
    tap: Option<Tap>,
    plugin: String,
    source: Arc<str>,
    timeout: Duration,
    streams: Option<HashSet<String>>,
    schemas: Schemas,
    buffer: Vec<Item>,
    /// The last STATE value seen (at first the one the plugin was started with).
    state: Option<Value>,
    /// A STATE arrived that no handed-over batch carries yet.
    state_pending: bool,
    line_no: u64,
    bytes: u64,
    buf: Vec<u8>,
    /// Messages of other types, by type, and records of streams not selected.
    ignored: BTreeMap<String, u64>,
    redactor: Redactor,
    _files: Vec<tempfile::NamedTempFile>,
}

impl SingerReader {
    pub fn new(tap: Tap, spec: ReaderSpec) -> SingerReader {
        SingerReader {
            tap: Some(tap),
            source: spec.plugin.as_str().into(),
            plugin: spec.plugin,
            timeout: spec.timeout,
            streams: spec.streams.map(|s| s.into_iter().collect()),
            schemas: Schemas::default(),
            buffer: Vec::new(),
            state: spec.state,
            state_pending: false,
            line_no: 0,
            bytes: 0,
            buf: Vec::with_capacity(4096),
            ignored: BTreeMap::new(),
            redactor: spec.redactor,
            _files: spec.files,
        }
    }

    fn protocol_err(&self, reason: impl Into<String>, line: &str) -> PluginError {
        PluginError::Protocol {
            plugin: self.plugin.clone(),
            line: self.line_no,
            reason: reason.into(),
            excerpt: truncate(line, EXCERPT_CHARS),
        }
    }

    fn selected(&self, stream: &str) -> bool {
        self.streams.as_ref().is_none_or(|s| s.contains(stream))
    }

    /// Hands over the buffered records with the last STATE as their position.
    fn batch(&mut self) -> Batch {
        self.state_pending = false;
        Batch {
            items: std::mem::take(&mut self.buffer),
            position: position_of(self.state.as_ref()),
            bytes_read: Some(self.bytes),
        }
    }

    async fn step(&mut self) -> Result<Option<Batch>, PluginError> {
        loop {
            let Some(tap) = self.tap.as_mut() else {
                return Ok(None);
            };
            match tokio::time::timeout(self.timeout, tap.read_line(&mut self.buf)).await {
                Err(_) => {
                    tap.kill_and_reap().await;
                    let stderr = tap.stderr_tail(STDERR_SETTLE).await;
                    return Err(PluginError::Hung {
                        plugin: self.plugin.clone(),
                        timeout: self.timeout,
                        line: self.line_no,
                        stderr,
                    });
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                    self.line_no += 1;
                    let start =
                        String::from_utf8_lossy(&self.buf[..self.buf.len().min(4 * EXCERPT_CHARS)])
                            .into_owned();
                    return Err(self.protocol_err(e.to_string(), &start));
                }
                Ok(Err(e)) => {
                    return Err(PluginError::Io {
                        path: format!("stdout of plugin `{}`", self.plugin),
                        message: e.to_string(),
                    });
                }
                Ok(Ok(false)) => return self.finish().await,
                Ok(Ok(true)) => {}
            }
            self.line_no += 1;
            self.bytes += self.buf.len() as u64 + 1;
            let line = std::mem::take(&mut self.buf);
            let handled = self.handle(&line);
            self.buf = line;
            if let Some(batch) = handled? {
                return Ok(Some(batch));
            }
        }
    }

    /// One stdout line; a batch when it completes one.
    fn handle(&mut self, raw: &[u8]) -> Result<Option<Batch>, PluginError> {
        let Ok(text) = std::str::from_utf8(raw) else {
            return Err(self.protocol_err("not UTF-8", &String::from_utf8_lossy(raw)));
        };
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.trim().is_empty() {
            return Ok(None);
        }
        let msg = protocol::parse(text).map_err(|reason| self.protocol_err(reason, text))?;
        match msg {
            Message::Schema {
                stream,
                schema,
                key_properties,
            } => {
                if self.selected(&stream) {
                    tracing::debug!(plugin = %self.plugin, %stream, ?key_properties, line = self.line_no, "schema");
                    self.schemas
                        .set(stream, schema, key_properties)
                        .map_err(|reason| self.protocol_err(reason, text))?;
                }
                Ok(None)
            }
            Message::Record { stream, record } => {
                if !self.selected(&stream) {
                    *self
                        .ignored
                        .entry(format!("RECORD of {stream}"))
                        .or_default() += 1;
                    return Ok(None);
                }
                let Some(schema) = self.schemas.get(&stream) else {
                    return Err(self.protocol_err(
                        format!("RECORD of stream `{stream}` before its SCHEMA"),
                        text,
                    ));
                };
                if let Err(reason) = schema.check(&record) {
                    return Err(self.protocol_err(reason, text));
                }
                let item = Item::Record(RawRecord {
                    fields: Fields::Tree(record),
                    position: Position::line(self.source.clone(), self.line_no),
                    context: schema.context.clone(),
                    stream: Some(schema.name.clone()),
                });
                self.buffer.push(item);
                if self.buffer.len() >= MAX_BUFFERED {
                    tracing::debug!(plugin = %self.plugin, records = MAX_BUFFERED, line = self.line_no,
                        "no STATE for a long time; handing over a batch with the last STATE (re-delivered after a crash)");
                    return Ok(Some(self.batch()));
                }
                Ok(None)
            }
            Message::State { value } => {
                self.state = Some(value);
                self.state_pending = true;
                Ok((!self.buffer.is_empty()).then(|| self.batch()))
            }
            Message::Other { kind } => {
                if kind == "BATCH" && !self.ignored.contains_key("BATCH") {
                    tracing::warn!(plugin = %self.plugin, line = self.line_no,
                        "BATCH messages (records in files) are not supported and ignored; configure the plugin to write records to stdout");
                } else {
                    tracing::debug!(plugin = %self.plugin, %kind, line = self.line_no, "message ignored");
                }
                *self.ignored.entry(kind).or_default() += 1;
                Ok(None)
            }
        }
    }

    /// The end of stdout: a clean exit hands over the records after the last STATE.
    async fn finish(&mut self) -> Result<Option<Batch>, PluginError> {
        let Some(mut tap) = self.tap.take() else {
            return Ok(None);
        };
        let status = match tap.wait(self.timeout).await {
            Ok(Some(status)) => status,
            Ok(None) => {
                tap.kill_and_reap().await;
                return Err(PluginError::Hung {
                    plugin: self.plugin.clone(),
                    timeout: self.timeout,
                    line: self.line_no,
                    stderr: tap.stderr_tail(STDERR_SETTLE).await,
                });
            }
            Err(e) => {
                return Err(PluginError::Io {
                    path: format!("plugin `{}`", self.plugin),
                    message: format!("waiting for it to exit: {e}"),
                });
            }
        };
        if !status.success() {
            return Err(PluginError::Exit {
                plugin: self.plugin.clone(),
                status: describe_status(&status),
                line: self.line_no,
                stderr: tap.stderr_tail(STDERR_SETTLE).await,
            });
        }
        // Whatever the plugin left running in its group goes with it.
        tap.kill_group();
        if let Some(streams) = &self.streams {
            for s in streams.iter().filter(|s| !self.schemas.contains(s)) {
                tracing::warn!(plugin = %self.plugin, stream = %s, "the plugin delivered no SCHEMA for this configured stream");
            }
        }
        tracing::debug!(plugin = %self.plugin, lines = self.line_no, ignored = ?self.ignored, "plugin finished");
        Ok((!self.buffer.is_empty() || self.state_pending).then(|| self.batch()))
    }
}

#[async_trait]
impl BatchReader for SingerReader {
    async fn next_batch(&mut self) -> Result<Option<Batch>, ConnectorError> {
        match self.step().await {
            Ok(b) => Ok(b),
            Err(e) => {
                // Nothing after the last STATE is handed over; the plugin is stopped.
                self.buffer.clear();
                if let Some(mut tap) = self.tap.take() {
                    tap.kill_and_reap().await;
                }
                Err(e.into_connector(&self.redactor))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip() {
        let s = json!({"bookmarks": {"c": {"id": 3}}});
        assert_eq!(state_of(Some(position_of(Some(&s)))), Some(s));
        assert_eq!(position_of(None), Value::Null);
        assert_eq!(state_of(Some(Value::Null)), None);
        assert_eq!(state_of(Some(json!({"cursor": 1}))), None);
        assert_eq!(state_of(None), None);
    }
}
