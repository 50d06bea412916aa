//! The database URL: given by reference (environment variable or file) when it carries a
//! password, never printed; the label of a unit shows scheme, host, port and database only.

use crate::error::SqlError;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use url::Url;

/// Where the URL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlRef {
    /// In kontor.toml (no password allowed).
    Inline(String),
    Env(String),
    File(PathBuf),
}

impl UrlRef {
    /// The URL; its password is registered with the redactor.
    pub fn resolve(&self, redactor: &Redactor) -> Result<Url, SqlError> {
        let text = match self {
            UrlRef::Inline(s) => s.clone(),
            UrlRef::Env(name) => std::env::var(name).map_err(|e| {
                SqlError::Url(format!(
                    "environment variable {name} {}",
                    match e {
                        std::env::VarError::NotPresent => "is not set",
                        std::env::VarError::NotUnicode(_) => "is not valid UTF-8",
                    }
                ))
            })?,
            UrlRef::File(path) => std::fs::read_to_string(path)
                .map_err(|e| SqlError::Url(format!("file {}: {}", path.display(), e.kind())))?
                .trim()
                .to_owned(),
        };
        // Before parsing: a URL that does not parse is still scrubbed from messages.
        redactor.add(&text);
        let url = parse(&text).map_err(|e| SqlError::Url(format!("{}: {e}", self.describe())))?;
        if let Some(p) = url.password() {
            redactor.add(p);
            if let Ok(decoded) = percent_encoding::percent_decode_str(p).decode_utf8() {
                redactor.add(&decoded);
            }
        }
        Ok(url)
    }

    pub fn describe(&self) -> String {
        match self {
            UrlRef::Inline(_) => "url".into(),
            UrlRef::Env(name) => format!("environment variable {name}"),
            UrlRef::File(path) => format!("file {}", path.display()),
        }
    }
}

/// Parses a database URL; the error never contains the URL.
pub fn parse(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme() {
        "postgres" | "postgresql" | "mysql" | "mariadb" => Ok(url),
        other => Err(format!(
            "scheme `{other}`: use postgres://, mysql:// or mariadb:// (SQL Server is not supported yet)"
        )),
    }
}

/// `scheme://host:port/database`: what a unit label, a record position and a log line show.
pub fn label(url: &Url) -> String {
    let mut out = format!(
        "{}://{}",
        url.scheme(),
        url.host_str().unwrap_or("localhost")
    );
    if let Some(p) = url.port() {
        out.push_str(&format!(":{p}"));
    }
    out.push_str(url.path());
    out
}

/// Remembers the secret texts of the connector (the URL, its password) and replaces them in
/// messages with `***`.
#[derive(Clone, Default)]
pub struct Redactor(Arc<RwLock<Vec<String>>>);

/// Shorter values are not scrubbed from free text (they would mangle it).
const MIN_REDACT_LEN: usize = 4;

impl Redactor {
    pub fn add(&self, value: &str) {
        if value.len() < MIN_REDACT_LEN {
            return;
        }
        let mut list = self.0.write().unwrap_or_else(|e| e.into_inner());
        if !list.iter().any(|v| v == value) {
            list.push(value.to_owned());
            list.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let list = self.0.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_owned();
        for secret in list.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.read().map(|l| l.len()).unwrap_or(0);
        write!(f, "Redactor({n} secrets)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_has_no_credentials() {
        let u = parse("mysql://shop:s3cr%40t@db.example:3307/shop?ssl-mode=required").unwrap();
        assert_eq!(label(&u), "mysql://db.example:3307/shop");
        assert!(parse("sqlserver://x/y").unwrap_err().contains("SQL Server"));
        let e = parse("postgres//user:geheim@host").unwrap_err();
        assert!(!e.contains("geheim"), "{e}");
    }

    #[test]
    fn password_is_scrubbed_plain_and_encoded() {
        let dir = std::env::temp_dir().join(format!("kontor-sql-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("url");
        std::fs::write(&file, "postgres://shop:s3cr%40t!@db/shop\n").unwrap();
        let r = Redactor::default();
        let url = UrlRef::File(file).resolve(&r).unwrap();
        assert_eq!(url.password(), Some("s3cr%40t!"));
        assert_eq!(
            r.redact("auth failed: s3cr%40t! / s3cr@t! for shop"),
            "auth failed: *** / *** for shop"
        );
        let missing = UrlRef::Env("KONTOR_SQL_TEST_UNSET_VAR".into()).resolve(&r);
        assert!(missing.unwrap_err().to_string().contains("is not set"));
    }
}
