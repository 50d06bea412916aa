//! Secrets: references in the configuration (environment variable or file), values held in a
//! type that never prints itself, and a redactor that scrubs known secret values from text.

use crate::error::RestError;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// A secret value. `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Self(value.into())
    }
    /// The value itself, for putting it on the wire. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable (name).
    Env(String),
    /// A file (absolute, resolved against the config folder); its content is trimmed.
    File(PathBuf),
}

impl SecretRef {
    /// Reads the secret and registers it with the redactor.
    pub fn resolve(&self, redactor: &Redactor) -> Result<Secret, RestError> {
        let value = match self {
            SecretRef::Env(name) => std::env::var(name).map_err(|e| RestError::Secret {
                name: format!("environment variable {name}"),
                reason: match e {
                    std::env::VarError::NotPresent => "is not set".into(),
                    std::env::VarError::NotUnicode(_) => "is not valid UTF-8".into(),
                },
            })?,
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map_err(|e| RestError::Secret {
                    name: format!("file {}", path.display()),
                    reason: e.kind().to_string(),
                })?
                .trim()
                .to_owned(),
        };
        if value.is_empty() {
            return Err(RestError::Secret {
                name: self.describe(),
                reason: "is empty".into(),
            });
        }
        redactor.add(&value);
        Ok(Secret::new(value))
    }

    pub fn describe(&self) -> String {
        match self {
            SecretRef::Env(name) => format!("environment variable {name}"),
            SecretRef::File(path) => format!("file {}", path.display()),
        }
    }
}

/// Remembers every secret value the connector has seen (configured secrets, session ids,
/// access tokens) and replaces them in text with `***`.
#[derive(Clone, Default)]
pub struct Redactor(Arc<RwLock<Vec<Arc<str>>>>);

/// Values shorter than this are not scrubbed from free text (they would mangle it); no real
/// credential is that short.
const MIN_REDACT_LEN: usize = 4;

impl Redactor {
    pub fn add(&self, value: &str) {
        if value.len() < MIN_REDACT_LEN {
            return;
        }
        let mut list = self.0.write().unwrap_or_else(|e| e.into_inner());
        if !list.iter().any(|v| &**v == value) {
            list.push(value.into());
            // Longest first, so that a secret containing another is replaced whole.
            list.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let list = self.0.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_owned();
        for secret in list.iter() {
            if out.contains(&**secret) {
                out = out.replace(&**secret, "***");
            }
            // Also the encoded forms (secrets in query strings and form bodies).
            let strict: String = secret
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            for enc in [crate::paging::encode_component(secret), strict, form] {
                if enc != **secret && out.contains(&enc) {
                    out = out.replace(&enc, "***");
                }
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
    fn secret_never_prints() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }

    #[test]
    fn redactor_scrubs_plain_and_encoded() {
        let r = Redactor::default();
        r.add("ab c/d+e");
        r.add("xyz");
        let t = r.redact("k=ab%20c%2Fd%2Be and ab c/d+e, xyz stays, ab%20c/d%2Be, ab+c%2Fd%2Be");
        assert_eq!(t, "k=*** and ***, xyz stays, ***, ***");
    }
}
