//! Applying a mapping to one raw record.

use super::assemble::{Values, activity_date_ok, assemble, derive, elements, get, money};
use super::compiled::*;
use super::path::scalar;
use crate::model::phone::normalise_phone;
use crate::model::values::*;
use crate::model::{CanonicalRecord, Entity, FieldType};
use kontor_connector::{Fields, RawRecord};
use rustc_hash::FxHashMap as HashMap;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// What became of one raw record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Records(Vec<CanonicalRecord>),
    /// No target applies, or a `skip_if` condition matched.
    Skipped,
    Rejected(Rejection),
}

/// Why a record was rejected, and which source field was at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub field: Option<String>,
    pub reason: String,
    /// The entity and key the row would have had, when its key fields were readable: the
    /// quarantine entry is resolved when that record later loads cleanly.
    pub key: Option<(Entity, String)>,
}

impl Rejection {
    fn new(field: Option<&str>, reason: impl Into<String>) -> Self {
        Self {
            field: field.map(str::to_owned),
            reason: reason.into(),
            key: None,
        }
    }

    fn keyed(mut self, t: &Target, values: &Values, cache: &ColumnCache) -> Self {
        self.key = record_key(t, values, cache).ok().map(|k| (t.entity, k));
        self
    }
}

/// Column-name → index resolution, cached per header.
#[derive(Debug, Default)]
pub struct ColumnCache {
    /// The store's salt for personal key parts ([`crate::model::personal_key`]); zeros when
    /// no store is involved (previews, fixtures).
    pub key_salt: [u8; 32],
    header: Option<Arc<Vec<String>>>,
    index: HashMap<String, usize>,
    folded: HashMap<String, usize>,
}

impl ColumnCache {
    /// A cache whose personal key parts are hashed with the store's `salt`.
    pub fn salted(salt: [u8; 32]) -> Self {
        Self {
            key_salt: salt,
            ..Self::default()
        }
    }

    fn resolve(&mut self, header: &Arc<Vec<String>>, name: &str) -> Option<usize> {
        if !self.header.as_ref().is_some_and(|h| Arc::ptr_eq(h, header)) {
            self.index.clear();
            self.folded.clear();
            for (i, h) in header.iter().enumerate() {
                let h = h.trim();
                self.index.entry(h.to_owned()).or_insert(i);
                self.folded.entry(h.to_lowercase()).or_insert(i);
            }
            self.header = Some(header.clone());
        }
        let name = name.trim();
        self.index
            .get(name)
            .or_else(|| self.folded.get(&name.to_lowercase()))
            .copied()
    }
}

/// A lookup result: a value, an empty value, or a column the file does not have.
enum Got<'a> {
    Value(Cow<'a, str>),
    Empty,
    NoColumn,
}

struct Input<'a> {
    rec: &'a RawRecord,
    /// The current element inside `each` (trees only).
    ctx: Option<&'a Value>,
}

impl<'a> Input<'a> {
    fn get(&self, r: &Ref, cache: &mut ColumnCache) -> Got<'a> {
        match &self.rec.fields {
            Fields::Row { header, values } => match cache.resolve(header, &r.text) {
                Some(i) => non_empty(values.get(i).map(Cow::Borrowed)),
                None => Got::NoColumn,
            },
            Fields::Tree(root) => {
                let Some(path) = &r.path else {
                    return Got::Empty;
                };
                non_empty(
                    path.resolve(root, self.ctx.unwrap_or(root))
                        .and_then(scalar),
                )
            }
        }
    }

    fn get_all(&self, r: &Ref, cache: &mut ColumnCache) -> Vec<Cow<'a, str>> {
        if let (Fields::Tree(root), Some(path)) = (&self.rec.fields, &r.path)
            && let Some(Value::Array(items)) = path.resolve(root, self.ctx.unwrap_or(root))
        {
            return items
                .iter()
                .filter_map(scalar)
                .filter(|s| !s.trim().is_empty())
                .collect();
        }
        match self.get(r, cache) {
            Got::Value(v) => vec![v],
            _ => Vec::new(),
        }
    }

    fn index(&self, i: usize) -> Got<'a> {
        match &self.rec.fields {
            Fields::Row { values, .. } => match values.get(i) {
                Some(v) => non_empty(Some(Cow::Borrowed(v))),
                None => Got::NoColumn,
            },
            Fields::Tree(_) => Got::NoColumn,
        }
    }

    fn operand(&self, o: &Operand, cache: &mut ColumnCache) -> Option<Cow<'a, str>> {
        match match o {
            Operand::Ref(r) => self.get(r, cache),
            Operand::Index(i) => self.index(*i),
        } {
            Got::Value(v) => Some(v),
            _ => None,
        }
    }
}

fn non_empty(v: Option<Cow<'_, str>>) -> Got<'_> {
    match v {
        Some(s) if !s.trim().is_empty() => Got::Value(s),
        _ => Got::Empty,
    }
}

pub fn eval_cond(c: &Cond, rec: &RawRecord, ctx: Option<&Value>, cache: &mut ColumnCache) -> bool {
    let input = Input { rec, ctx };
    cond(c, &input, cache)
}

fn cond(c: &Cond, input: &Input, cache: &mut ColumnCache) -> bool {
    match c {
        Cond::Any(cs) => cs.iter().any(|c| cond(c, input, cache)),
        Cond::All(cs) => cs.iter().all(|c| cond(c, input, cache)),
        Cond::Test { what, test } => {
            let v = input.operand(what, cache);
            let v = v.as_deref().map(str::trim);
            match test {
                Test::Empty(want) => v.is_none() == *want,
                Test::Equals(x) => v == Some(x.as_str()),
                Test::NotEquals(x) => v != Some(x.as_str()),
                Test::In(xs) => v.is_some_and(|v| xs.iter().any(|x| x == v)),
                Test::NotIn(xs) => !v.is_some_and(|v| xs.iter().any(|x| x == v)),
                Test::Matches(re) => v.is_some_and(|v| re.is_match(v)),
                Test::StartsWith(p) => v.is_some_and(|v| v.starts_with(p.as_str())),
                Test::Between(lo, hi) => v
                    .and_then(|v| parse_decimal(v, DecimalStyle::Auto).ok())
                    .is_some_and(|d| d >= *lo && d <= *hi),
            }
        }
    }
}

pub fn apply_targets(
    targets: &[Target],
    skip_if: &[Cond],
    rec: &RawRecord,
    cache: &mut ColumnCache,
) -> Outcome {
    let root = Input { rec, ctx: None };
    if skip_if.iter().any(|c| cond(c, &root, cache)) {
        return Outcome::Skipped;
    }
    let mut out = Vec::new();
    for t in targets {
        if let Some(s) = &t.stream
            && rec.stream.as_deref() != Some(s.as_str())
        {
            continue;
        }
        match &t.each {
            None => {
                if !t.when.iter().all(|c| cond(c, &root, cache)) {
                    continue;
                }
                match build(t, &root, cache) {
                    Ok(r) => out.push(r),
                    Err(rej) => return Outcome::Rejected(rej),
                }
            }
            Some(path) => {
                let Fields::Tree(tree) = &rec.fields else {
                    return Outcome::Rejected(Rejection::new(
                        None,
                        format!("{}: `each` needs a tree record (XML/JSON)", t.entity),
                    ));
                };
                for el in elements(path.resolve(tree, tree)) {
                    let input = Input { rec, ctx: Some(el) };
                    if !t.when.iter().all(|c| cond(c, &input, cache)) {
                        continue;
                    }
                    match build(t, &input, cache) {
                        Ok(r) => out.push(r),
                        Err(rej) => return Outcome::Rejected(rej),
                    }
                }
            }
        }
    }
    if out.is_empty() {
        Outcome::Skipped
    } else {
        Outcome::Records(out)
    }
}

fn build(t: &Target, input: &Input, cache: &mut ColumnCache) -> Result<CanonicalRecord, Rejection> {
    let currency = match t.fields.iter().find(|f| f.name == "currency") {
        Some(f) => match field_value(f, input, cache, "EUR")? {
            Some(Value::String(c)) => c,
            _ => "EUR".to_owned(),
        },
        None => "EUR".to_owned(),
    };
    let mut values: Values = Vec::with_capacity(t.fields.len() + 2);
    // Every field is checked, so one quarantine entry tells all that is wrong with a row.
    let mut errors: Vec<Rejection> = Vec::new();
    for f in &t.fields {
        match field_value(f, input, cache, &currency) {
            Ok(Some(v)) => values.push((f.name.as_str(), v)),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if let Some(first) = errors.first() {
        let reason = errors
            .iter()
            .map(|e| e.reason.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Rejection::new(first.field.as_deref(), reason).keyed(t, &values, cache));
    }
    derive(t.entity, &mut values, &currency);
    if t.entity == Entity::Activity
        && let Some(d) = get(&values, "date").and_then(scalar)
        && !activity_date_ok(&d)
    {
        let label = t
            .fields
            .iter()
            .find(|f| f.name == "date")
            .map(|f| f.label.as_str());
        return Err(Rejection::new(
            label,
            format!("date: {d} is not between 1970-01-01 and tomorrow"),
        )
        .keyed(t, &values, cache));
    }
    let external_id = record_key(t, &values, cache)?;
    for r in t.entity.def().required {
        if get(&values, r).is_none() {
            let label = t
                .fields
                .iter()
                .find(|f| f.name == *r)
                .map(|f| f.label.as_str());
            return Err(Rejection {
                key: Some((t.entity, external_id)),
                ..Rejection::new(label, format!("{}: `{r}` is empty", t.entity))
            });
        }
    }
    Ok(CanonicalRecord {
        entity: t.entity,
        external_id,
        data: assemble(values),
    })
}

/// A target's external id from its key fields (personal parts hashed with the store's salt).
fn record_key(t: &Target, values: &Values, cache: &ColumnCache) -> Result<String, Rejection> {
    let mut key_parts = Vec::with_capacity(t.key.len());
    for k in &t.key {
        match get(values, k).and_then(scalar) {
            Some(v) if !v.is_empty() && crate::model::PERSONAL_FIELDS.contains(k) => {
                key_parts.push(crate::model::personal_key(&cache.key_salt, &v))
            }
            Some(v) if !v.is_empty() => key_parts.push(v.into_owned()),
            _ if t.entity == Entity::Stock && *k == "warehouse" => key_parts.push(String::new()),
            _ => {
                let label = t
                    .fields
                    .iter()
                    .find(|f| f.name == *k)
                    .map(|f| f.label.as_str());
                return Err(Rejection::new(
                    label,
                    format!("{}: key field `{k}` is empty", t.entity),
                ));
            }
        }
    }
    Ok(key_parts.join("/"))
}

fn field_value(
    f: &Field,
    input: &Input,
    cache: &mut ColumnCache,
    currency: &str,
) -> Result<Option<Value>, Rejection> {
    let reject = |reason: String| Rejection::new(Some(&f.label), format!("{}: {reason}", f.name));
    if let Source::Each(path, inner) = &f.source {
        let Fields::Tree(root) = &input.rec.fields else {
            return Err(reject("lines need a tree record (XML/JSON)".into()));
        };
        let mut lines = Vec::new();
        for el in elements(path.resolve(root, input.ctx.unwrap_or(root))) {
            let li = Input {
                rec: input.rec,
                ctx: Some(el),
            };
            let mut vals: Values = Vec::with_capacity(inner.len());
            for lf in inner {
                if let Some(v) = field_value(lf, &li, cache, currency)? {
                    vals.push((lf.name.as_str(), v));
                }
            }
            lines.push(assemble(vals));
        }
        return Ok((!lines.is_empty()).then_some(Value::Array(lines)));
    }
    if matches!(f.ty, FieldType::Phones | FieldType::Texts) {
        return list(f, input, cache).map_err(reject);
    }
    let raw = match raw_value(f, input, cache) {
        Got::Value(v) => Some(v),
        Got::Empty => None,
        Got::NoColumn if f.required && f.tf.default.is_none() => {
            return Err(Rejection::new(
                Some(&f.label),
                format!("{}: column `{}` not found in the header", f.name, f.label),
            ));
        }
        Got::NoColumn => None,
    };
    let text: Option<Cow<str>> = match raw
        .map(|r| transform(&f.tf, r))
        .transpose()
        .map_err(reject)?
    {
        Some(t) if !t.is_empty() => Some(t),
        _ => f.tf.default.as_deref().map(Cow::Borrowed),
    };
    let Some(text) = text else {
        if f.required {
            return Err(reject("required value is empty".into()));
        }
        return Ok(None);
    };
    match typed(f, &text, input, cache, currency) {
        Ok(v) => Ok(Some(v)),
        Err(_) if f.null_on_error => Ok(None),
        Err(e) => Err(reject(e)),
    }
}

fn raw_value<'a>(f: &Field, input: &Input<'a>, cache: &mut ColumnCache) -> Got<'a> {
    match &f.source {
        Source::Ref(r) => input.get(r, cache),
        Source::Index(i) => input.index(*i),
        Source::Value(v) => Got::Value(Cow::Owned(v.clone())),
        Source::Context(k) => non_empty(input.rec.context.get(k).map(|s| Cow::Owned(s.clone()))),
        Source::FirstOf(refs) => refs
            .iter()
            .find_map(|r| match input.get(r, cache) {
                Got::Value(v) => Some(Got::Value(v)),
                _ => None,
            })
            .unwrap_or(Got::Empty),
        Source::Concat(refs, sep) => {
            let parts: Vec<String> = refs
                .iter()
                .filter_map(|r| match input.get(r, cache) {
                    Got::Value(v) => Some(v.trim().to_owned()),
                    _ => None,
                })
                .collect();
            non_empty(Some(Cow::Owned(parts.join(sep))))
        }
        Source::Template(parts) => {
            let mut s = String::new();
            for p in parts {
                match p {
                    TemplatePart::Text(t) => s.push_str(t),
                    TemplatePart::Ref(r) => {
                        if let Got::Value(v) = input.get(r, cache) {
                            s.push_str(v.trim());
                        }
                    }
                }
            }
            non_empty(Some(Cow::Owned(s.trim().to_owned())))
        }
        Source::List(_) | Source::Each(..) | Source::Nothing => Got::Empty,
    }
}

fn transform<'a>(tf: &Transforms, raw: Cow<'a, str>) -> Result<Cow<'a, str>, String> {
    let untouched =
        tf.map.is_none() && tf.replace.is_none() && tf.case.is_none() && tf.pad.is_none();
    if untouched {
        return Ok(match raw {
            Cow::Borrowed(b) if tf.trim => Cow::Borrowed(b.trim()),
            Cow::Owned(o) if tf.trim && o.trim().len() != o.len() => {
                Cow::Owned(o.trim().to_owned())
            }
            other => other,
        });
    }
    let mut s = if tf.trim {
        raw.trim().to_owned()
    } else {
        raw.into_owned()
    };
    if let Some(map) = &tf.map {
        match map.get(&s) {
            Some(v) => s = v.clone(),
            None => match (&tf.map_default, tf.map_strict) {
                (Some(d), _) => s = d.clone(),
                (None, true) => return Err(format!("`{s}` is not in the value map")),
                (None, false) => {}
            },
        }
    }
    if let Some((re, with)) = &tf.replace {
        s = re.replace_all(&s, with.as_str()).into_owned();
    }
    match tf.case {
        Some(Case::Upper) => s = s.to_uppercase(),
        Some(Case::Lower) => s = s.to_lowercase(),
        None => {}
    }
    if let Some((width, ch)) = tf.pad {
        let len = s.chars().count();
        if len < width && !s.is_empty() {
            s = std::iter::repeat_n(ch, width - len)
                .chain(s.chars())
                .collect();
        }
    }
    Ok(Cow::Owned(s))
}

fn typed(
    f: &Field,
    s: &str,
    input: &Input,
    cache: &mut ColumnCache,
    currency: &str,
) -> Result<Value, String> {
    let tf = &f.tf;
    Ok(match f.ty {
        FieldType::Id | FieldType::Text => Value::String(s.to_owned()),
        FieldType::Date => {
            let fy = input
                .rec
                .context
                .get("datev.fiscal_year_start")
                .map(String::as_str);
            Value::String(parse_date(s, &tf.date, fy)?.to_string())
        }
        FieldType::Decimal | FieldType::Money | FieldType::Int => {
            let mut d = parse_decimal(s, tf.decimal)?;
            if tf.abs {
                d = d.abs();
            }
            if let Some(c) = &tf.negate
                && eval_cond(c, input.rec, input.ctx, cache)
            {
                d = -d;
            }
            if d.is_zero() {
                d.set_sign_positive(true);
            }
            match f.ty {
                FieldType::Money => money(d, currency),
                FieldType::Int => {
                    if !d.fract().is_zero() {
                        return Err(format!("`{s}` is not a whole number"));
                    }
                    Value::Number(
                        i64::try_from(d.trunc().mantissa())
                            .map_err(|_| format!("`{s}` is too large"))?
                            .into(),
                    )
                }
                _ => Value::String(d.to_string()),
            }
        }
        FieldType::Currency => Value::String(normalise_currency(s)?),
        FieldType::Bool => Value::Bool(parse_bool(s)?),
        FieldType::Phone => Value::String(normalise_phone(s, &tf.region)?),
        FieldType::Email => Value::String(normalise_email(s)?),
        FieldType::Vat => Value::String(normalise_vat(s)?),
        FieldType::Gln => Value::String(normalise_gln(s)?),
        FieldType::Country => Value::String(normalise_country(s)?),
        FieldType::Enum(allowed) => {
            let v = s.to_lowercase();
            if !allowed.contains(&v.as_str()) {
                return Err(format!("`{s}` is not one of {}", allowed.join(", ")));
            }
            Value::String(v)
        }
        FieldType::Phones | FieldType::Texts | FieldType::Lines(_) => {
            return Err("internal: list type".into());
        }
    })
}

/// A list field: phone numbers (E.164, deduplicated) or texts, from several columns/paths or
/// one path to an array.
fn list(f: &Field, input: &Input, cache: &mut ColumnCache) -> Result<Option<Value>, String> {
    let mut raw: Vec<Cow<str>> = Vec::new();
    match &f.source {
        Source::List(refs) => {
            for r in refs {
                raw.extend(input.get_all(r, cache));
            }
        }
        Source::Ref(r) => raw.extend(input.get_all(r, cache)),
        _ => {
            if let Got::Value(v) = raw_value(f, input, cache) {
                raw.push(v);
            }
        }
    }
    let mut out: Vec<Value> = Vec::new();
    for r in raw {
        let t = transform(&f.tf, r)?;
        if t.is_empty() {
            continue;
        }
        let item = match f.ty {
            FieldType::Phones => normalise_phone(&t, &f.tf.region),
            _ => Ok(t.into_owned()),
        };
        match item {
            Ok(p) => {
                let v = Value::String(p);
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Err(_) if f.null_on_error => {}
            Err(e) => return Err(e),
        }
    }
    if out.is_empty() && f.required {
        return Err("required value is empty".into());
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}
