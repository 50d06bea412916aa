//! The mapping file as written (TOML), with spans for diagnostics.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

pub type FieldMap = BTreeMap<Spanned<String>, Spanned<FieldSpec>>;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MappingDoc {
    #[serde(default)]
    pub description: Option<String>,
    /// Name of a built-in mapping this one overrides field by field.
    #[serde(default)]
    pub extends: Option<Spanned<String>>,
    /// How the connector reads the source; handed to the connector as is.
    #[serde(default)]
    pub source: Option<Spanned<toml::Table>>,
    #[serde(default)]
    pub skip_if: Vec<Spanned<CondSpec>>,
    #[serde(default, rename = "target")]
    pub targets: Vec<Spanned<TargetSpec>>,
    #[serde(default, rename = "test")]
    pub tests: Vec<Spanned<TestSpec>>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    #[serde(default)]
    pub stream: Option<Spanned<String>>,
    pub entity: Spanned<String>,
    #[serde(default)]
    pub when: Vec<Spanned<CondSpec>>,
    #[serde(default)]
    pub each: Option<Spanned<String>>,
    #[serde(default)]
    pub key: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub fields: FieldMap,
}

/// A column by name or 1-based position.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum ColumnRef {
    Index(i64),
    Name(String),
}

/// A scalar in a condition or value map (compared as text).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    pub fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PadSpec {
    pub width: usize,
    #[serde(default = "zero_char")]
    pub char: char,
}

fn zero_char() -> char {
    '0'
}

/// The table form of a field spec.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldTable {
    // where the value comes from
    pub column: Option<ColumnRef>,
    pub path: Option<String>,
    pub value: Option<Scalar>,
    pub context: Option<String>,
    pub first_of: Option<Vec<String>>,
    pub concat: Option<Vec<String>>,
    pub separator: Option<String>,
    pub template: Option<String>,
    pub list: Option<Vec<String>>,
    pub each: Option<String>,
    pub fields: Option<FieldMap>,
    // transforms
    pub trim: Option<bool>,
    pub map: Option<BTreeMap<String, Scalar>>,
    pub map_default: Option<Scalar>,
    pub map_strict: Option<bool>,
    pub replace: Option<Vec<String>>,
    pub case: Option<String>,
    pub pad_left: Option<PadSpec>,
    pub default: Option<Scalar>,
    pub decimal: Option<String>,
    pub date: Option<OneOrMany>,
    pub region: Option<String>,
    pub negate: Option<Box<Spanned<CondSpec>>>,
    pub abs: Option<bool>,
    pub required: Option<bool>,
    /// The column may be missing from a file's header (otherwise a header without it
    /// refuses the file: the export's format changed).
    pub optional: Option<bool>,
    /// `reject` (default): an unparsable value rejects the row; `null`: the field is left out.
    pub on_error: Option<String>,
    /// What the merged view and the web page call an `extra.<name>` field ("Vertreter").
    pub label: Option<String>,
}

/// A field's value spec: a plain string (column or path) or a table.
#[derive(Debug, Clone, Default)]
pub struct FieldSpec {
    pub t: FieldTable,
    /// Set when the spec was written as a plain string.
    pub shorthand: Option<String>,
}

/// Accepts `"Column"` or `{ column = …, … }`; errors inside the table keep their spans.
impl<'de> Deserialize<'de> for FieldSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FieldSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a column name or a table like { column = \"…\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldSpec, E> {
                Ok(FieldSpec {
                    t: FieldTable::default(),
                    shorthand: Some(v.to_owned()),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FieldSpec, A::Error> {
                Ok(FieldSpec {
                    t: FieldTable::deserialize(de::value::MapAccessDeserializer::new(map))?,
                    shorthand: None,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CondSpec {
    pub column: Option<ColumnRef>,
    pub path: Option<String>,
    pub field: Option<String>,
    pub equals: Option<Scalar>,
    pub not_equals: Option<Scalar>,
    #[serde(rename = "in")]
    pub in_: Option<Vec<Scalar>>,
    pub not_in: Option<Vec<Scalar>>,
    pub empty: Option<bool>,
    pub matches: Option<String>,
    pub starts_with: Option<String>,
    pub between: Option<(Scalar, Scalar)>,
    pub any: Option<Vec<Spanned<CondSpec>>>,
    pub all: Option<Vec<Spanned<CondSpec>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    pub name: String,
    /// Column/field name → value (all values are text, as in a file).
    pub input: toml::Table,
    #[serde(default)]
    pub stream: Option<String>,
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    #[serde(default)]
    pub expect: Vec<toml::Table>,
    /// The row is expected to be rejected with a reason containing this text.
    #[serde(default)]
    pub reject: Option<String>,
    #[serde(default)]
    pub skipped: bool,
}
