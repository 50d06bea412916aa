//! The XML connector: settings, file discovery and the batch readers.

mod pdf_unit;

use pdf_unit::is_pdf;

use crate::detect::{Decision, Format, Profile, decide, read_document};
use crate::error::{ErrorKind, XmlError};
use crate::generic::{Found, Generic, RecordPath};
use crate::party::OwnParty;
use crate::reader::{Elem, Ev, Limits, SafeReader};
use async_trait::async_trait;
use kontor_connector::files::{self, FileRules};
use kontor_connector::{
    Batch, BatchReader, CommitMode, ConfigError, ConfigPart, Connector, ConnectorError,
    ConnectorSpec, Context, Description, DynConnector, Fields, Item, Position, RawRecord,
    RawReject, Unit, parse_table,
};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// Kind-specific keys of a `[[connector]]` entry with `kind = "xml"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// A file, a folder or a glob, relative to the config folder.
    pub path: String,
    #[serde(default)]
    pub format: Format,
    /// Folder that processed files are moved to.
    #[serde(default)]
    pub archive: Option<String>,
    #[serde(default = "d_depth")]
    pub max_depth: usize,
    #[serde(default = "d_text")]
    pub max_text_bytes: usize,
    #[serde(default = "d_attr")]
    pub max_attr_bytes: usize,
    #[serde(default = "d_file")]
    pub max_file_bytes: u64,
    #[serde(default = "d_record")]
    pub max_record_bytes: usize,
    #[serde(default = "d_lines")]
    pub max_lines: usize,
    #[serde(default = "d_pdf")]
    pub max_pdf_bytes: u64,
}

fn d_depth() -> usize {
    Limits::default().max_depth
}
fn d_text() -> usize {
    Limits::default().max_text_bytes
}
fn d_attr() -> usize {
    Limits::default().max_attr_bytes
}
fn d_file() -> u64 {
    Limits::default().max_file_bytes
}
fn d_record() -> usize {
    Limits::default().max_record_bytes
}
fn d_lines() -> usize {
    Limits::default().max_lines
}
fn d_pdf() -> u64 {
    Limits::default().max_pdf_bytes
}

/// The keys of the mapping's `[source]` section that this connector reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSettings {
    /// Element path of the records of a generic XML file.
    #[serde(default)]
    pub record: Option<String>,
    /// Evaluated by the mapping engine, not by the connector.
    #[serde(default)]
    pub skip_if: Option<toml::Value>,
}

/// What every reader of this connector shares.
#[derive(Debug, Clone)]
struct Shared {
    format: Format,
    limits: Limits,
    record: Option<RecordPath>,
    batch_size: usize,
    /// Who we are: an invoice whose buyer is us was received.
    own: OwnParty,
}

pub struct XmlConnector {
    base_dir: PathBuf,
    settings: Settings,
    shared: Arc<Shared>,
}

/// Builds an XML connector (signature of `kontor_connector::BuildFn`).
pub fn build(spec: ConnectorSpec) -> Result<DynConnector, ConfigError> {
    Ok(Arc::new(XmlConnector::new(spec)?))
}

impl XmlConnector {
    pub fn new(spec: ConnectorSpec) -> Result<Self, ConfigError> {
        let settings: Settings = parse_table(&spec.settings, ConfigPart::Settings)?;
        let source: SourceSettings = parse_table(&spec.source, ConfigPart::Source)?;
        let record = match &source.record {
            Some(text) => Some(
                RecordPath::parse(text)
                    .map_err(|m| ConfigError::new(ConfigPart::Source, &["record"], m))?,
            ),
            None => None,
        };
        if settings.format == Format::Generic && record.is_none() {
            return Err(ConfigError::new(
                ConfigPart::Source,
                &["record"],
                "format = \"generic\" needs `record = \"/Root/Path/To/Record\"` in the mapping's [source] section",
            ));
        }
        if settings.path.trim().is_empty() {
            return Err(ConfigError::new(
                ConfigPart::Settings,
                &["path"],
                "must not be empty",
            ));
        }
        for (key, zero) in [
            ("max_depth", settings.max_depth == 0),
            ("max_text_bytes", settings.max_text_bytes == 0),
            ("max_attr_bytes", settings.max_attr_bytes == 0),
            ("max_file_bytes", settings.max_file_bytes == 0),
            ("max_record_bytes", settings.max_record_bytes == 0),
            ("max_lines", settings.max_lines == 0),
            ("max_pdf_bytes", settings.max_pdf_bytes == 0),
        ] {
            if zero {
                return Err(ConfigError::new(
                    ConfigPart::Settings,
                    &[key],
                    "must be greater than 0",
                ));
            }
        }
        let limits = Limits {
            max_depth: settings.max_depth,
            max_text_bytes: settings.max_text_bytes,
            max_attr_bytes: settings.max_attr_bytes,
            max_file_bytes: settings.max_file_bytes,
            max_record_bytes: settings.max_record_bytes,
            max_lines: settings.max_lines,
            max_pdf_bytes: settings.max_pdf_bytes,
        };
        let shared = Arc::new(Shared {
            format: settings.format,
            limits,
            record,
            batch_size: if spec.batch_size == 0 {
                1000
            } else {
                spec.batch_size
            },
            own: OwnParty::new(&spec.own.vat_ids, &spec.own.glns),
        });
        Ok(Self {
            base_dir: spec.base_dir,
            settings,
            shared,
        })
    }

    fn resolve(&self, p: &str) -> PathBuf {
        self.base_dir.join(p)
    }
}

#[async_trait]
impl Connector for XmlConnector {
    fn describe(&self) -> Description {
        let mut streams: Vec<String> = Profile::ALL_STREAMS
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        if self.shared.record.is_some() {
            streams.push("generic".to_owned());
        }
        let builtin_mappings = Profile::ALL_STREAMS
            .iter()
            .map(|s| (Some((*s).to_owned()), (*s).to_owned()))
            .collect();
        Description {
            kind: "xml",
            streams,
            builtin_mappings,
        }
    }

    async fn check(&self) -> Result<Vec<String>, ConnectorError> {
        let mut warnings = Vec::new();
        let p = &self.settings.path;
        if !p.contains(['*', '?', '[']) && !self.resolve(p).exists() {
            return Err(ConnectorError::io(
                self.resolve(p).display().to_string(),
                "no such file or folder",
            ));
        }
        if let Some(a) = &self.settings.archive
            && self.resolve(a) == self.resolve(p)
        {
            warnings.push(format!("archive `{a}` is the input folder itself"));
        }
        Ok(warnings)
    }

    async fn discover(&self) -> Result<Vec<Unit>, ConnectorError> {
        let base = self.base_dir.clone();
        let pattern = self.settings.path.clone();
        // Hybrid PDF invoices are read wherever e-invoices may come.
        let mut extensions = vec!["xml".to_owned()];
        if matches!(self.shared.format, Format::Auto | Format::Ubl | Format::Cii) {
            extensions.push("pdf".to_owned());
        }
        let rules = FileRules {
            extensions,
            ..FileRules::default()
        };
        let (found, _skipped) =
            tokio::task::spawn_blocking(move || files::discover(&base, &pattern, &rules))
                .await
                .map_err(|e| ConnectorError::io(self.settings.path.clone(), e))??;
        let stream = match self.shared.format {
            Format::Ubl => Some("ubl".to_owned()),
            Format::Cii => Some("cii".to_owned()),
            Format::Auto | Format::Opentrans | Format::Generic => None,
        };
        Ok(found
            .into_iter()
            .map(|f| Unit {
                key: f.hash.clone(),
                label: f.label,
                fingerprint: Some(f.hash),
                size: Some(f.size),
                commit: CommitMode::Atomic,
                stream: stream.clone(),
                modified: f.modified,
            })
            .collect())
    }

    async fn open(
        &self,
        unit: &Unit,
        state: Option<serde_json::Value>,
    ) -> Result<Box<dyn BatchReader>, ConnectorError> {
        let skip = kontor_connector::files::FilePosition::resume(state.as_ref(), &unit.label)?;
        files::check_open(
            &self.base_dir,
            &self.settings.path,
            &self.resolve(&unit.label),
            &unit.label,
        )?;
        Ok(Box::new(open_file(
            self.resolve(&unit.label),
            unit.label.as_str().into(),
            self.shared.clone(),
            skip,
        )))
    }

    async fn unit_done(&self, unit: &Unit) -> Result<(), ConnectorError> {
        let Some(archive) = &self.settings.archive else {
            return Ok(());
        };
        let path = self.resolve(&unit.label);
        let dir = self.resolve(archive);
        let key = unit.key.clone();
        tokio::task::spawn_blocking(move || {
            files::archive(&path, &dir, &key)
                .map_err(|e| ConnectorError::io(path.display().to_string(), e))
        })
        .await
        .map_err(|e| ConnectorError::io(unit.label.clone(), e))??;
        Ok(())
    }
}

/// A reader for one file (used by the connector; public for tests, fuzzing and benchmarks).
pub struct FileReader {
    state: Option<Box<ReadState>>,
}

/// Opens `path` for reading with the given format and limits (`record`: generic record path).
pub fn reader_for(
    path: PathBuf,
    format: Format,
    limits: Limits,
    record: Option<RecordPath>,
    batch_size: usize,
    skip: u64,
) -> FileReader {
    let label: Arc<str> = path.display().to_string().into();
    let shared = Arc::new(Shared {
        format,
        limits,
        record,
        batch_size: batch_size.max(1),
        own: OwnParty::default(),
    });
    open_file(path, label, shared, skip)
}

/// A reader over bytes in memory (fuzzing, tests); `label` names them in positions.
pub fn reader_for_bytes(
    bytes: Vec<u8>,
    label: &str,
    format: Format,
    limits: Limits,
    record: Option<RecordPath>,
    batch_size: usize,
) -> FileReader {
    let mut reader = reader_for(PathBuf::from(label), format, limits, record, batch_size, 0);
    if let Some(state) = reader.state.as_mut() {
        state.bytes = Some(bytes);
    }
    reader
}

fn open_file(path: PathBuf, label: Arc<str>, shared: Arc<Shared>, skip: u64) -> FileReader {
    let mut context = Context::new();
    context.insert("file".to_owned(), label.to_string());
    FileReader {
        state: Some(Box::new(ReadState {
            path,
            label,
            shared,
            skip,
            context: Arc::new(context),
            phase: Phase::NotOpened,
            bytes: None,
        })),
    }
}

struct ReadState {
    path: PathBuf,
    label: Arc<str>,
    shared: Arc<Shared>,
    /// Records consumed before (resume position); afterwards the running count.
    skip: u64,
    context: Arc<Context>,
    phase: Phase,
    /// Content given in memory instead of the file at `path`.
    bytes: Option<Vec<u8>>,
}

enum Phase {
    NotOpened,
    Generic {
        reader: Box<SafeReader>,
        generic: Generic,
        records: u64,
    },
    Done,
}

#[async_trait]
impl BatchReader for FileReader {
    async fn next_batch(&mut self) -> Result<Option<Batch>, ConnectorError> {
        let Some(mut state) = self.state.take() else {
            return Ok(None);
        };
        let label = state.label.clone();
        let (state, result) = tokio::task::spawn_blocking(move || {
            let r = state.step();
            (state, r)
        })
        .await
        .map_err(|e| ConnectorError::Unit {
            position: Position {
                source: label,
                ..Position::default()
            },
            reason: format!("the XML reader failed unexpectedly: {e}"),
        })?;
        self.state = Some(state);
        result
    }
}

impl FileReader {
    /// Reads with our own identifiers known (tests): invoices to us are `received`.
    pub fn with_own(mut self, own: OwnParty) -> Self {
        if let Some(state) = self.state.as_mut() {
            let mut shared = (*state.shared).clone();
            shared.own = own;
            state.shared = Arc::new(shared);
        }
        self
    }

    /// The next batch, read on the calling thread (for benchmarks and fuzzing).
    pub fn next_batch_blocking(&mut self) -> Result<Option<Batch>, ConnectorError> {
        match self.state.as_mut() {
            Some(state) => state.step(),
            None => Ok(None),
        }
    }
}

impl ReadState {
    fn step(&mut self) -> Result<Option<Batch>, ConnectorError> {
        let result = self.step_inner();
        if result.is_err() {
            self.phase = Phase::Done;
        }
        result.map_err(|e| e.into_connector_error(self.label.clone()))
    }

    fn step_inner(&mut self) -> Result<Option<Batch>, XmlError> {
        if let Phase::NotOpened = self.phase {
            self.phase = Phase::Done;
            return self.open_and_start();
        }
        let batch_size = self.shared.batch_size;
        let Phase::Generic {
            reader,
            generic,
            records,
        } = &mut self.phase
        else {
            return Ok(None);
        };
        let mut items: Vec<Item> = Vec::new();
        let mut bytes = 0usize;
        let mut at_end = false;
        while items.len() < batch_size && bytes < kontor_connector::MAX_BATCH_BYTES {
            match generic.next(reader, true)? {
                Some(Found::Record { tree, line, column }) => {
                    *records += 1;
                    let item = Item::Record(RawRecord {
                        fields: Fields::Tree(tree),
                        position: pos(&self.label, line, column),
                        context: self.context.clone(),
                        stream: None,
                    });
                    bytes += item.approx_bytes();
                    items.push(item);
                }
                Some(Found::TooLarge {
                    line,
                    column,
                    reason,
                }) => {
                    *records += 1;
                    items.push(Item::Reject(RawReject {
                        position: pos(&self.label, line, column),
                        field: None,
                        reason,
                        raw: String::new(),
                    }));
                }
                Some(Found::Skipped) => *records += 1,
                None => {
                    at_end = true;
                    break;
                }
            }
        }
        let batch = Batch {
            position: kontor_connector::files::FilePosition { records: *records }.to_value(),
            bytes_read: Some(reader.consumed()),
            items,
        };
        if at_end {
            self.phase = Phase::Done;
            if batch.items.is_empty() {
                return Ok(None);
            }
        }
        Ok(Some(batch))
    }

    fn open_and_start(&mut self) -> Result<Option<Batch>, XmlError> {
        if is_pdf(&self.path) {
            return self.read_pdf();
        }
        let (raw, size) = self.open_raw()?;
        let limits = self.shared.limits;
        let mut reader = Box::new(SafeReader::new(raw, limits)?);
        let Some(root) = first_element(&mut reader)? else {
            return Ok(None);
        };
        match decide(self.shared.format, &root, self.shared.record.is_some())? {
            Decision::Profile(profile) => {
                if self.skip >= 1 {
                    // The document was delivered before (resume position `{"records": 1}`).
                    return Ok(None);
                }
                let label = self.label.clone();
                self.profile_batch(&mut reader, &root, profile, &label, size)
                    .map(Some)
            }
            Decision::Generic => {
                let Some(path) = self.shared.record.clone() else {
                    return Err(XmlError::new(
                        ErrorKind::Document,
                        (root.line, root.column),
                        "no record path configured",
                    ));
                };
                let mut generic = Generic::new(path, root);
                let mut records = 0;
                while records < self.skip {
                    match generic.next(&mut reader, false)? {
                        Some(_) => records += 1,
                        None => break,
                    }
                }
                self.phase = Phase::Generic {
                    reader,
                    generic,
                    records,
                };
                self.step_inner()
            }
        }
    }

    /// The file (or the bytes given in memory) and its size.
    fn open_raw(&mut self) -> Result<(Box<dyn std::io::Read + Send>, u64), XmlError> {
        let io_err = |e: std::io::Error| {
            XmlError::new(
                ErrorKind::Io,
                (0, 0),
                format!("{}: {e}", self.path.display()),
            )
        };
        Ok(match self.bytes.take() {
            Some(bytes) => {
                let size = bytes.len() as u64;
                (Box::new(std::io::Cursor::new(bytes)), size)
            }
            None => {
                let file = std::fs::File::open(&self.path).map_err(io_err)?;
                let size = file.metadata().map_err(io_err)?.len();
                (Box::new(file), size)
            }
        })
    }

    /// Reads one profile document below `root` into a batch of one record at `label`.
    fn profile_batch(
        &self,
        reader: &mut SafeReader,
        root: &Elem,
        profile: Profile,
        label: &Arc<str>,
        size: u64,
    ) -> Result<Batch, XmlError> {
        let mut doc = read_document(reader, root, profile)?;
        if matches!(profile, Profile::Ubl | Profile::Cii) {
            crate::rules::check(&mut doc);
            crate::rules::negative_invoice_as_credit_note(&mut doc);
        }
        doc.set_direction(&self.shared.own);
        let record = RawRecord {
            fields: Fields::Tree(doc.to_json()),
            position: pos(label, root.line, root.column),
            context: self.context.clone(),
            stream: Some(profile.stream().into()),
        };
        Ok(Batch {
            items: vec![Item::Record(record)],
            position: kontor_connector::files::FilePosition { records: 1 }.to_value(),
            bytes_read: Some(size),
        })
    }
}

/// The root element (`None` for a file without any element before its end).
fn first_element(reader: &mut SafeReader) -> Result<Option<Elem>, XmlError> {
    loop {
        match reader.next_event()? {
            Ev::Start(root) => return Ok(Some(root)),
            Ev::Text(_) | Ev::End => {}
            Ev::Eof => return Ok(None),
        }
    }
}

fn pos(label: &Arc<str>, line: u64, column: u64) -> Position {
    Position {
        source: label.clone(),
        line: Some(line),
        column: Some(column),
        ..Position::default()
    }
}
