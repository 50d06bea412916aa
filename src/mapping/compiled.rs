//! The executable form of a mapping.

use super::path::TreePath;
use crate::model::values::{DateFormat, DecimalStyle};
use crate::model::{Entity, FieldType};
use regex::Regex;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// A reference to a value: a column name on rows, a path on trees.
#[derive(Debug, Clone)]
pub struct Ref {
    pub text: String,
    /// Parsed path for tree records (`None` when the text is only a column name).
    pub path: Option<TreePath>,
}

#[derive(Debug, Clone)]
pub enum Source {
    Ref(Ref),
    /// 0-based column index.
    Index(usize),
    Value(String),
    Context(String),
    FirstOf(Vec<Ref>),
    Concat(Vec<Ref>, String),
    Template(Vec<TemplatePart>),
    List(Vec<Ref>),
    Each(TreePath, Vec<Field>),
    /// Only a default value.
    Nothing,
}

#[derive(Debug, Clone)]
pub enum TemplatePart {
    Text(String),
    Ref(Ref),
}

#[derive(Debug, Clone, Copy)]
pub enum Case {
    Upper,
    Lower,
}

#[derive(Debug, Clone, Default)]
pub struct Transforms {
    pub trim: bool,
    pub map: Option<HashMap<String, String>>,
    pub map_default: Option<String>,
    pub map_strict: bool,
    pub replace: Option<(Regex, String)>,
    pub case: Option<Case>,
    pub pad: Option<(usize, char)>,
    pub default: Option<String>,
    pub decimal: DecimalStyle,
    pub date: DateFormat,
    pub region: String,
    pub negate: Option<Cond>,
    pub abs: bool,
}

#[derive(Debug, Clone)]
pub struct Field {
    /// Canonical field name (`address.city`, `extra.note`).
    pub name: String,
    pub ty: FieldType,
    pub source: Source,
    pub tf: Transforms,
    pub required: bool,
    /// Its columns may be missing from a file's header.
    pub optional: bool,
    pub null_on_error: bool,
    /// What to call the source in a rejection (column name, path).
    pub label: String,
    /// An `extra.<name>` field's `label`: what the merged view calls it.
    pub caption: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Test {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Empty(bool),
    Matches(Regex),
    StartsWith(String),
    Between(Decimal, Decimal),
}

#[derive(Debug, Clone)]
pub enum Cond {
    Test { what: Operand, test: Test },
    Any(Vec<Cond>),
    All(Vec<Cond>),
}

#[derive(Debug, Clone)]
pub enum Operand {
    Ref(Ref),
    Index(usize),
}

#[derive(Debug, Clone)]
pub struct Target {
    pub stream: Option<String>,
    pub entity: Entity,
    pub when: Vec<Cond>,
    pub each: Option<TreePath>,
    pub key: Vec<&'static str>,
    pub fields: Vec<Field>,
}
