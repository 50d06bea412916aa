//! Options of the flat-file reader. They may be given in the connector entry of
//! `kontor.toml` or in the mapping's `[source]` section; the connector entry wins.

use kontor_connector::{ConfigError, ConfigPart, parse_table, toml};
use serde::Deserialize;

/// Text encodings of flat files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// A BOM decides; otherwise each record is read as UTF-8 and, if that fails, as
    /// Windows-1252 (the two encodings German exports come in).
    #[default]
    Auto,
    Utf8,
    Windows1252,
    Latin1,
    Latin9,
    Utf16,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceOptions {
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub quote: Option<String>,
    /// Whether the first line (after a DATEV header) names the columns.
    pub header: Option<bool>,
    /// Lines to skip before the header (report titles and the like).
    pub skip_lines: Option<u64>,
    /// `auto` (default): detect a DATEV `EXTF`/`DTVF` first line; `false` never.
    pub datev: Option<toml::Value>,
    /// File extensions picked up from a folder (default csv, txt).
    pub extensions: Option<Vec<String>>,
}

/// The connector entry's keys (besides the common ones the core handles).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub path: String,
    pub archive: Option<String>,
    /// Seconds a file must be unchanged before it is picked up without a second look.
    pub min_age_seconds: Option<u64>,
    pub settle_ms: Option<u64>,
    // The reader options may also be set here (serde cannot flatten with unknown-key checks).
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub quote: Option<String>,
    pub header: Option<bool>,
    pub skip_lines: Option<u64>,
    pub datev: Option<toml::Value>,
    pub extensions: Option<Vec<String>>,
}

impl Settings {
    pub fn options(&self) -> SourceOptions {
        SourceOptions {
            encoding: self.encoding.clone(),
            delimiter: self.delimiter.clone(),
            quote: self.quote.clone(),
            header: self.header,
            skip_lines: self.skip_lines,
            datev: self.datev.clone(),
            extensions: self.extensions.clone(),
        }
    }
}

/// Resolved options.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub encoding: Encoding,
    /// `None` = detect from the header line.
    pub delimiter: Option<u8>,
    pub quote: u8,
    pub header: bool,
    pub skip_lines: u64,
    pub datev_auto: bool,
    pub extensions: Vec<String>,
}

impl CsvOptions {
    pub fn resolve(settings: &SourceOptions, source: &SourceOptions) -> Result<Self, ConfigError> {
        let pick = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());
        let part_of = |a: bool| {
            if a {
                ConfigPart::Settings
            } else {
                ConfigPart::Source
            }
        };
        let encoding = match pick(&settings.encoding, &source.encoding)
            .as_deref()
            .map(str::to_lowercase)
            .as_deref()
        {
            None | Some("auto") => Encoding::Auto,
            Some("utf-8" | "utf8") => Encoding::Utf8,
            Some("windows-1252" | "cp1252" | "ansi") => Encoding::Windows1252,
            Some("iso-8859-1" | "latin1" | "latin-1") => Encoding::Latin1,
            Some("iso-8859-15" | "latin9") => Encoding::Latin9,
            Some("utf-16" | "utf16") => Encoding::Utf16,
            Some(other) => {
                return Err(ConfigError::new(
                    part_of(settings.encoding.is_some()),
                    &["encoding"],
                    format!(
                        "unknown encoding `{other}` (auto, utf-8, windows-1252, iso-8859-1, iso-8859-15, utf-16)"
                    ),
                ));
            }
        };
        let delimiter = match pick(&settings.delimiter, &source.delimiter).as_deref() {
            None | Some("auto") => None,
            Some("\\t" | "\t" | "tab") => Some(b'\t'),
            Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
            Some(other) => {
                return Err(ConfigError::new(
                    part_of(settings.delimiter.is_some()),
                    &["delimiter"],
                    format!(
                        "delimiter `{other}`: use one character like \";\", \",\", \"\\t\", or auto"
                    ),
                ));
            }
        };
        let quote = match pick(&settings.quote, &source.quote).as_deref() {
            None => b'"',
            Some(q) if q.len() == 1 && q.is_ascii() => q.as_bytes()[0],
            Some(other) => {
                return Err(ConfigError::new(
                    part_of(settings.quote.is_some()),
                    &["quote"],
                    format!("quote `{other}`: use one character"),
                ));
            }
        };
        let datev_auto = match settings.datev.as_ref().or(source.datev.as_ref()) {
            None => true,
            Some(toml::Value::Boolean(b)) => *b,
            Some(toml::Value::String(s)) if s == "auto" => true,
            Some(_) => {
                return Err(ConfigError::new(
                    part_of(settings.datev.is_some()),
                    &["datev"],
                    "datev: use \"auto\" or false",
                ));
            }
        };
        Ok(Self {
            encoding,
            delimiter,
            quote,
            header: settings.header.or(source.header).unwrap_or(true),
            skip_lines: settings.skip_lines.or(source.skip_lines).unwrap_or(0),
            datev_auto,
            extensions: settings
                .extensions
                .clone()
                .or_else(|| source.extensions.clone())
                .unwrap_or_else(|| vec!["csv".into(), "txt".into()])
                .into_iter()
                .map(|e| e.trim_start_matches('.').to_lowercase())
                .collect(),
        })
    }
}

pub fn parse_settings(t: &toml::Table) -> Result<Settings, ConfigError> {
    parse_table(t, ConfigPart::Settings)
}

pub fn parse_source(t: &toml::Table) -> Result<SourceOptions, ConfigError> {
    parse_table(t, ConfigPart::Source)
}
