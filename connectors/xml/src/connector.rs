//! The XML connector: settings and file discovery; the batch readers are in `read`.

mod read;

use read::open_file;
pub use read::{FileReader, reader_for, reader_for_bytes};

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
