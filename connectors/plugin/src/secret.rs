//! Secrets: references in the configuration (`{ env = "NAME" }`, `{ file = "path" }`), and a
//! redactor that scrubs the resolved values from everything that leaves the crate (errors,
//! logged stderr lines, stdout excerpts).

use crate::error::PluginError;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable of kontor's process (name).
    Env(String),
    /// A file (resolved against the config folder); its content is trimmed.
    File(PathBuf),
}

impl SecretRef {
    /// Reads the value. Errors name the variable or file, never a value.
    pub fn resolve(&self) -> Result<String, PluginError> {
        let value = match self {
            SecretRef::Env(name) => std::env::var(name).map_err(|e| PluginError::Secret {
                name: self.describe(),
                reason: match e {
                    std::env::VarError::NotPresent => "is not set".into(),
                    std::env::VarError::NotUnicode(_) => "is not valid UTF-8".into(),
                },
            })?,
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map_err(|e| PluginError::Secret {
                    name: self.describe(),
                    reason: e.kind().to_string(),
                })?
                .trim()
                .to_owned(),
        };
        Ok(value)
    }

    /// `environment variable NAME` or `file PATH`.
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Env(name) => format!("environment variable {name}"),
            SecretRef::File(path) => format!("file {}", path.display()),
        }
    }
}

/// Values shorter than this are not scrubbed from free text (they would mangle it); no real
/// credential is that short.
const MIN_REDACT_LEN: usize = 4;

/// Replaces known secret values in text with `***`: the value itself, each line of a
/// multi-line value (a key file), and the value as a JSON string would spell it (escaped
/// quotes, `\uXXXX` for non-ASCII as Python's `json.dumps` writes it).
#[derive(Clone, Default)]
pub struct Redactor(Arc<Vec<String>>);

impl Redactor {
    pub fn new<I: IntoIterator<Item = String>>(values: I) -> Self {
        let mut list: Vec<String> = Vec::new();
        for v in values {
            let mut forms = vec![v.clone(), json_escaped(&v, false), json_escaped(&v, true)];
            forms.extend(v.lines().map(|l| l.trim().to_owned()));
            for f in forms {
                if f.chars().count() >= MIN_REDACT_LEN && !list.contains(&f) {
                    list.push(f);
                }
            }
        }
        // Longest first, so that a secret containing another is replaced whole.
        list.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Redactor(Arc::new(list))
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in self.0.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} forms)", self.0.len())
    }
}

/// The inside of a JSON string literal for `s`; with `ascii`, non-ASCII as `\uXXXX`.
fn json_escaped(s: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_plain_escaped_and_line_forms() {
        let r = Redactor::new([
            "pa\"ss wörd".to_owned(),
            "-----BEGIN KEY-----\nabcdefgh\n".to_owned(),
            "abc".to_owned(),
        ]);
        assert_eq!(r.redact("x pa\"ss wörd y"), "x *** y");
        assert_eq!(r.redact(r#"{"p":"pa\"ss w\u00f6rd"}"#), r#"{"p":"***"}"#);
        assert_eq!(r.redact("line abcdefgh"), "line ***");
        assert_eq!(r.redact("abc stays"), "abc stays");
        assert_eq!(format!("{r:?}"), "Redactor(7 forms)");
    }

    #[test]
    fn missing_env_names_the_variable_only() {
        let e = SecretRef::Env("KONTOR_PLUGIN_TEST_SURELY_UNSET".into())
            .resolve()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "secret environment variable KONTOR_PLUGIN_TEST_SURELY_UNSET: is not set"
        );
    }
}
