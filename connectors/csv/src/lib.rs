//! kontor's flat-file connector: CSV in the shapes German ERP exports come in (`;`,
//! Windows-1252 or UTF-8 with BOM, quoted newlines, CRLF) and DATEV EXTF files (two-line
//! header; the first line's metadata becomes the record context, e.g.
//! `datev.fiscal_year_start` for `TTMM` dates).
//!
//! Each file is one unit, identified by its content hash; it is read on a blocking thread in
//! batches, with constant memory.

mod lines;
mod options;
mod reader;
pub mod sniff;

pub use options::{CsvOptions, Encoding};

use async_trait::async_trait;
use kontor_connector::files::{self, FileRules};
use kontor_connector::{
    Batch, BatchReader, CommitMode, ConfigError, ConfigPart, Connector, ConnectorError,
    ConnectorSpec, Description, DynConnector, Unit,
};
use reader::FileReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub const KIND: &str = "csv";

pub struct CsvConnector {
    base_dir: PathBuf,
    path: String,
    archive: Option<PathBuf>,
    opts: CsvOptions,
    rules: FileRules,
    batch_size: usize,
}

/// Builds a CSV connector from its configuration.
pub fn build(spec: ConnectorSpec) -> Result<DynConnector, ConfigError> {
    Ok(Arc::new(CsvConnector::new(spec)?))
}

/// The reader options a connector entry (`settings`) and its mapping's `[source]` resolve to
/// (the connector entry wins), e.g. for `kontor check` to compare with what a file looks like.
pub fn resolve_options(
    settings: &kontor_connector::toml::Table,
    source: &kontor_connector::toml::Table,
) -> Result<CsvOptions, ConfigError> {
    let settings = options::parse_settings(settings)?;
    CsvOptions::resolve(&settings.options(), &options::parse_source(source)?)
}

impl CsvConnector {
    pub fn new(spec: ConnectorSpec) -> Result<Self, ConfigError> {
        let settings = options::parse_settings(&spec.settings)?;
        let source = options::parse_source(&spec.source)?;
        let opts = CsvOptions::resolve(&settings.options(), &source)?;
        if settings.path.trim().is_empty() {
            return Err(ConfigError::new(
                ConfigPart::Settings,
                &["path"],
                "path is empty",
            ));
        }
        let rules = FileRules {
            extensions: opts.extensions.clone(),
            min_age: Duration::from_secs(settings.min_age_seconds.unwrap_or(2)),
            settle: Duration::from_millis(settings.settle_ms.unwrap_or(500)),
            ..FileRules::default()
        };
        Ok(Self {
            archive: settings.archive.as_ref().map(|a| spec.base_dir.join(a)),
            base_dir: spec.base_dir,
            path: settings.path,
            opts,
            rules,
            batch_size: if spec.batch_size == 0 {
                2000
            } else {
                spec.batch_size
            },
        })
    }

    fn file_path(&self, unit: &Unit) -> PathBuf {
        let p = Path::new(&unit.label);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

#[async_trait]
impl Connector for CsvConnector {
    fn describe(&self) -> Description {
        Description {
            kind: KIND,
            streams: Vec::new(),
            builtin_mappings: Vec::new(),
        }
    }

    async fn check(&self) -> Result<Vec<String>, ConnectorError> {
        let (base, path, rules) = (self.base_dir.clone(), self.path.clone(), self.rules.clone());
        let (found, skipped) = tokio::task::spawn_blocking(move || {
            files::discover(
                &base,
                &path,
                &FileRules {
                    min_age: Duration::ZERO,
                    ..rules
                },
            )
        })
        .await
        .map_err(|e| ConnectorError::io(&self.path, e))??;
        let mut warnings: Vec<String> = skipped
            .iter()
            .map(|s| format!("{}: {}", s.path.display(), s.reason))
            .chain(found.iter().filter_map(|f| f.refused.clone()))
            .collect();
        if found.is_empty() {
            warnings.push(format!("{}: no files to read", self.path));
        }
        Ok(warnings)
    }

    async fn discover(&self) -> Result<Vec<Unit>, ConnectorError> {
        let (base, path, rules) = (self.base_dir.clone(), self.path.clone(), self.rules.clone());
        let (found, skipped) =
            tokio::task::spawn_blocking(move || files::discover(&base, &path, &rules))
                .await
                .map_err(|e| ConnectorError::io(&self.path, e))??;
        for s in skipped {
            tracing::info!(file = %s.path.display(), reason = %s.reason, "file left for later");
        }
        Ok(found
            .into_iter()
            .map(|f| Unit {
                key: f.hash.clone(),
                label: f.label,
                fingerprint: Some(f.hash),
                size: Some(f.size),
                commit: CommitMode::Atomic,
                stream: None,
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
        let (tx, rx) = mpsc::channel(2);
        let path = self.file_path(unit);
        files::check_open(&self.base_dir, &self.path, &path, &unit.label)?;
        let label = unit.label.clone();
        let opts = self.opts.clone();
        let hash = unit.fingerprint.clone();
        let size = self.batch_size;
        tokio::task::spawn_blocking(move || {
            let run = || -> Result<(), ConnectorError> {
                let mut r = FileReader::open(&path, &label, &opts, hash)?;
                r.skip(skip)?;
                while let Some(batch) = r.next_batch(size)? {
                    if tx.blocking_send(Ok(batch)).is_err() {
                        return Ok(()); // the engine stopped reading
                    }
                }
                Ok(())
            };
            if let Err(e) = run() {
                let _ = tx.blocking_send(Err(e));
            }
        });
        Ok(Box::new(ChannelReader { rx }))
    }

    async fn unit_done(&self, unit: &Unit) -> Result<(), ConnectorError> {
        if let Some(archive) = &self.archive {
            let path = self.file_path(unit);
            if path.exists() {
                let hash = unit.key.clone();
                let archive = archive.clone();
                tokio::task::spawn_blocking(move || files::archive(&path, &archive, &hash))
                    .await
                    .map_err(|e| ConnectorError::io(&unit.label, e))?
                    .map_err(|e| ConnectorError::io(&unit.label, format!("archive: {e}")))?;
            }
        }
        Ok(())
    }
}

struct ChannelReader {
    rx: mpsc::Receiver<Result<Batch, ConnectorError>>,
}

#[async_trait]
impl BatchReader for ChannelReader {
    async fn next_batch(&mut self) -> Result<Option<Batch>, ConnectorError> {
        self.rx.recv().await.transpose()
    }
}

#[cfg(test)]
mod tests;
