//! From the written mapping to the executable one; every problem becomes a diagnostic with
//! the span it concerns.

use super::compiled::*;
use super::path::TreePath;
use super::spec::{
    ColumnRef, CondSpec, FieldMap, FieldSpec, FieldTable, MappingDoc, OneOrMany, Scalar, TargetSpec,
};
use crate::model::values::{DateFormat, DecimalStyle, parse_decimal};
use crate::model::{Entity, FieldDef, FieldType};
use regex::Regex;
use std::ops::Range;
use toml::Spanned;

/// Field names that hold personal data beyond business contact data; never stored
/// (works council / GDPR). Matched case-insensitively as substrings of `extra.*` names.
pub const DENIED_FIELD_PATTERNS: &[&str] = &[
    "birthday",
    "geburtstag",
    "geburtsdatum",
    "birth",
    "hobby",
    "hobbies",
    "religion",
    "konfession",
    "health",
    "gesundheit",
    "krankheit",
    "diagnose",
    "private_address",
    "privatadresse",
    "privatanschrift",
    "wohnadresse",
    "familienstand",
    "marital",
    "sexual",
    "ethnic",
    "partei",
    "political",
    "gewerkschaft",
    "union_member",
    "salary",
    "gehalt",
];

pub fn is_denied_name(name: &str) -> bool {
    let n = name.to_lowercase().replace(['-', ' '], "_");
    DENIED_FIELD_PATTERNS.iter().any(|p| n.contains(p))
}

pub struct Compiler {
    pub errors: Vec<(Option<Range<usize>>, String)>,
    /// Every column name read, with where it is written and the key it is written under.
    pub sites: Vec<(String, Option<Range<usize>>, String)>,
    /// The key being compiled (`skip_if`, `when`, a field name).
    pub key: String,
}

impl Compiler {
    pub fn new() -> Self {
        Self {
            errors: Vec::new(),
            sites: Vec::new(),
            key: "skip_if".into(),
        }
    }

    fn err(&mut self, span: Option<Range<usize>>, msg: impl Into<String>) {
        self.errors.push((span, msg.into()));
    }

    pub fn targets(&mut self, doc: &MappingDoc) -> Vec<Target> {
        if doc.targets.is_empty() {
            self.err(None, "mapping has no [[target]]");
        }
        doc.targets.iter().filter_map(|t| self.target(t)).collect()
    }

    pub fn conds(&mut self, specs: &[Spanned<CondSpec>]) -> Vec<Cond> {
        specs.iter().filter_map(|c| self.cond(c)).collect()
    }

    fn target(&mut self, spec: &Spanned<TargetSpec>) -> Option<Target> {
        let t = spec.get_ref();
        let Some(entity) = Entity::parse(t.entity.get_ref()) else {
            let names: Vec<_> = Entity::ALL.iter().map(|e| e.as_str()).collect();
            self.err(
                Some(t.entity.span()),
                format!(
                    "unknown entity `{}` (one of {})",
                    t.entity.get_ref(),
                    names.join(", ")
                ),
            );
            return None;
        };
        let def = entity.def();
        self.key = "when".into();
        let when = self.conds(&t.when);
        let each = t
            .each
            .as_ref()
            .and_then(|e| self.path(e.get_ref(), e.span()));
        let fields = self.fields(&t.fields, def.fields, entity.as_str());
        let key: Vec<&'static str> = match &t.key {
            Some(k) => k
                .get_ref()
                .iter()
                .filter_map(|name| match def.field(name) {
                    Some(f) => Some(f.name),
                    None => {
                        self.err(
                            Some(k.span()),
                            format!("key field `{name}` is not a field of {entity}"),
                        );
                        None
                    }
                })
                .collect(),
            None => def.key.to_vec(),
        };
        for k in &key {
            // A stock record without a warehouse column is the default warehouse.
            let optional = entity == Entity::Stock && *k == "warehouse";
            if !optional && !fields.iter().any(|f| f.name == *k) {
                self.err(
                    Some(spec.span()),
                    format!("{entity}: key field `{k}` is not mapped"),
                );
            }
        }
        for r in def.required {
            if !fields.iter().any(|f| f.name == *r) {
                self.err(
                    Some(spec.span()),
                    format!("{entity}: field `{r}` is required but not mapped"),
                );
            }
        }
        Some(Target {
            stream: t.stream.as_ref().map(|s| s.get_ref().clone()),
            entity,
            when,
            each,
            key,
            fields,
        })
    }

    fn fields(&mut self, map: &FieldMap, defs: &'static [FieldDef], owner: &str) -> Vec<Field> {
        let mut out = Vec::new();
        for (name, spec) in map {
            let n = name.get_ref();
            let ty = if let Some(extra) = n.strip_prefix("extra.") {
                if extra.is_empty() || !extra.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    self.err(
                        Some(name.span()),
                        format!("`{n}`: extra field names are letters, digits and _"),
                    );
                    continue;
                }
                if is_denied_name(extra) {
                    self.err(
                        Some(name.span()),
                        format!("`{n}` is personal data on the deny-list (data protection): it must not be stored"),
                    );
                    continue;
                }
                FieldType::Text
            } else if let Some(def) = defs.iter().find(|d| d.name == n) {
                def.ty
            } else {
                let known: Vec<_> = defs.iter().map(|d| d.name).collect();
                self.err(
                    Some(name.span()),
                    format!(
                        "`{n}` is not a field of {owner} (fields: {}, or extra.<name>)",
                        known.join(", ")
                    ),
                );
                continue;
            };
            self.key = n.clone();
            if let Some(f) = self.field(n, ty, spec) {
                out.push(f);
            }
        }
        out
    }

    fn field(&mut self, name: &str, ty: FieldType, spec: &Spanned<FieldSpec>) -> Option<Field> {
        let span = Some(spec.span());
        let s = &spec.get_ref().t;
        let n_errors = self.errors.len();
        let source = match (&spec.get_ref().shorthand, ty) {
            (Some(short), FieldType::Lines(_)) => {
                self.err(span, format!("`{name}` is a list of lines: use {{ each = \"…\", fields = {{ … }} }} instead of `{short}`"));
                return None;
            }
            (Some(short), _) => Source::Ref(self.reference(short, span.clone())),
            (None, _) => self.source(name, ty, s, span.clone())?,
        };
        self.check_options(name, ty, s, span.clone());
        let tf = self.transforms(s, span.clone());
        let null_on_error = match s.on_error.as_deref() {
            None | Some("reject") => false,
            Some("null") => true,
            Some(other) => {
                self.err(
                    span.clone(),
                    format!("on_error `{other}`: use \"reject\" or \"null\""),
                );
                false
            }
        };
        let caption = match s.label.as_deref().map(str::trim) {
            None => None,
            Some(_) if !name.starts_with("extra.") => {
                self.err(
                    span.clone(),
                    format!("`{name}`: `label` only applies to extra.<name> fields (the view names the others)"),
                );
                None
            }
            Some("") => {
                self.err(span.clone(), format!("`{name}`: `label` is empty"));
                None
            }
            Some(l) => Some(l.to_owned()),
        };
        if self.errors.len() > n_errors {
            return None;
        }
        Some(Field {
            caption,
            name: name.to_owned(),
            ty,
            label: source_label(&source, name),
            source,
            tf,
            required: s.required.unwrap_or(false),
            optional: s.optional.unwrap_or(false),
            null_on_error,
        })
    }

    fn source(
        &mut self,
        name: &str,
        ty: FieldType,
        s: &FieldTable,
        span: Option<Range<usize>>,
    ) -> Option<Source> {
        let given = [
            s.column.is_some(),
            s.path.is_some(),
            s.value.is_some(),
            s.context.is_some(),
            s.first_of.is_some(),
            s.concat.is_some(),
            s.template.is_some(),
            s.list.is_some(),
            s.each.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given > 1 {
            self.err(span, format!("`{name}`: give only one of column, path, value, context, first_of, concat, template, list, each"));
            return None;
        }
        if let FieldType::Lines(line_defs) = ty {
            let (Some(each), Some(fields)) = (&s.each, &s.fields) else {
                self.err(
                    span,
                    format!("`{name}` is a list of lines: it needs `each` and `fields`"),
                );
                return None;
            };
            let path = self.path(each, span.clone().unwrap_or_default())?;
            let inner = self.fields(fields, line_defs, name);
            return Some(Source::Each(path, inner));
        }
        if s.each.is_some() || s.fields.is_some() {
            self.err(
                span,
                format!("`{name}` is not a list of lines: `each`/`fields` do not apply"),
            );
            return None;
        }
        if s.list.is_some() && !matches!(ty, FieldType::Phones | FieldType::Texts) {
            self.err(
                span.clone(),
                format!("`{name}`: `list` only applies to list fields (phones, warnings)"),
            );
        }
        Some(if let Some(c) = &s.column {
            match c {
                ColumnRef::Name(n) => Source::Ref(self.column(n, span.clone())),
                ColumnRef::Index(i) if *i >= 1 => Source::Index((*i - 1) as usize),
                ColumnRef::Index(_) => {
                    self.err(span, format!("`{name}`: column positions start at 1"));
                    return None;
                }
            }
        } else if let Some(p) = &s.path {
            let path = self.path(p, span.clone().unwrap_or_default())?;
            Source::Ref(Ref {
                text: p.clone(),
                path: Some(path),
            })
        } else if let Some(v) = &s.value {
            Source::Value(v.text())
        } else if let Some(c) = &s.context {
            Source::Context(c.clone())
        } else if let Some(list) = &s.first_of {
            Source::FirstOf(self.refs(list, span))
        } else if let Some(list) = &s.concat {
            Source::Concat(
                self.refs(list, span),
                s.separator.clone().unwrap_or_else(|| " ".into()),
            )
        } else if let Some(t) = &s.template {
            Source::Template(self.template(t, span)?)
        } else if let Some(list) = &s.list {
            Source::List(self.refs(list, span))
        } else if s.default.is_some() {
            Source::Nothing
        } else {
            self.err(
                span,
                format!("`{name}`: no source (column, path, value, …) and no default"),
            );
            return None;
        })
    }

    fn check_options(
        &mut self,
        name: &str,
        ty: FieldType,
        s: &FieldTable,
        span: Option<Range<usize>>,
    ) {
        let numeric = matches!(ty, FieldType::Decimal | FieldType::Money | FieldType::Int);
        if s.decimal.is_some() && !numeric {
            self.err(
                span.clone(),
                format!("`{name}`: `decimal` only applies to numbers and money"),
            );
        }
        if (s.negate.is_some() || s.abs.is_some()) && !numeric {
            self.err(
                span.clone(),
                format!("`{name}`: `negate`/`abs` only apply to numbers and money"),
            );
        }
        if s.date.is_some() && ty != FieldType::Date {
            self.err(
                span.clone(),
                format!("`{name}`: `date` only applies to date fields"),
            );
        }
        if s.region.is_some() && !matches!(ty, FieldType::Phone | FieldType::Phones) {
            self.err(
                span,
                format!("`{name}`: `region` only applies to phone fields"),
            );
        }
    }

    fn transforms(&mut self, s: &FieldTable, span: Option<Range<usize>>) -> Transforms {
        let decimal = match s.decimal.as_deref() {
            None | Some("auto") => DecimalStyle::Auto,
            Some("de") => DecimalStyle::German,
            Some("en") => DecimalStyle::English,
            Some(other) => {
                self.err(
                    span.clone(),
                    format!("decimal `{other}`: use \"de\", \"en\" or \"auto\""),
                );
                DecimalStyle::Auto
            }
        };
        let date = match s.date.clone().map(OneOrMany::into_vec) {
            None => DateFormat::Auto,
            Some(v) if v == ["auto"] => DateFormat::Auto,
            Some(v) if v == ["TTMM"] => DateFormat::DayMonth,
            Some(v) => DateFormat::Patterns(
                v.iter()
                    .filter_map(|p| {
                        super::dates::strftime_of(p)
                            .map_err(|e| self.err(span.clone(), e))
                            .ok()
                    })
                    .collect(),
            ),
        };
        let replace = match &s.replace {
            None => None,
            Some(v) if v.len() == 2 => match Regex::new(&v[0]) {
                Ok(re) => Some((re, v[1].clone())),
                Err(e) => {
                    self.err(
                        span.clone(),
                        format!("replace: bad pattern `{}`: {e}", v[0]),
                    );
                    None
                }
            },
            Some(_) => {
                self.err(span.clone(), "replace takes [\"pattern\", \"replacement\"]");
                None
            }
        };
        let case = match s.case.as_deref() {
            None => None,
            Some("upper") => Some(Case::Upper),
            Some("lower") => Some(Case::Lower),
            Some(other) => {
                self.err(
                    span.clone(),
                    format!("case `{other}`: use \"upper\" or \"lower\""),
                );
                None
            }
        };
        let region = s.region.clone().unwrap_or_else(|| "DE".into());
        if region.len() != 2 || !region.chars().all(|c| c.is_ascii_alphabetic()) {
            self.err(
                span.clone(),
                format!("region `{region}`: use an ISO country code like DE"),
            );
        }
        Transforms {
            trim: s.trim.unwrap_or(true),
            map: s
                .map
                .as_ref()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.text())).collect()),
            map_default: s.map_default.as_ref().map(Scalar::text),
            map_strict: s.map_strict.unwrap_or(false),
            replace,
            case,
            pad: s.pad_left.as_ref().map(|p| (p.width, p.char)),
            default: s.default.as_ref().map(Scalar::text),
            decimal,
            date,
            region,
            negate: s.negate.as_ref().and_then(|c| self.cond(c)),
            abs: s.abs.unwrap_or(false),
        }
    }

    fn reference(&mut self, text: &str, span: Option<Range<usize>>) -> Ref {
        self.sites.push((text.to_owned(), span, self.key.clone()));
        // A plain name is a column on rows and a path on trees; a name that is not a valid
        // path (e.g. "Konto [Nr]") can still be a column.
        Ref {
            text: text.to_owned(),
            path: TreePath::parse(text).ok(),
        }
    }

    /// A `column = "…"` reference (a key on trees).
    fn column(&mut self, n: &str, span: Option<Range<usize>>) -> Ref {
        self.sites.push((n.to_owned(), span, self.key.clone()));
        Ref {
            text: n.to_owned(),
            path: Some(TreePath::key(n)),
        }
    }

    fn refs(&mut self, list: &[String], span: Option<Range<usize>>) -> Vec<Ref> {
        if list.is_empty() {
            self.err(span.clone(), "the list is empty");
        }
        list.iter()
            .map(|t| self.reference(t, span.clone()))
            .collect()
    }

    fn template(&mut self, t: &str, span: Option<Range<usize>>) -> Option<Vec<TemplatePart>> {
        let mut parts = Vec::new();
        let mut rest = t;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(TemplatePart::Text(rest[..open].to_owned()));
            }
            let Some(close) = rest[open..].find('}') else {
                self.err(span, format!("template `{t}`: `{{` without `}}`"));
                return None;
            };
            let name = &rest[open + 1..open + close];
            parts.push(TemplatePart::Ref(self.reference(name, span.clone())));
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(TemplatePart::Text(rest.to_owned()));
        }
        Some(parts)
    }

    fn path(&mut self, p: &str, span: Range<usize>) -> Option<TreePath> {
        TreePath::parse(p).map_err(|e| self.err(Some(span), e)).ok()
    }

    fn cond(&mut self, spec: &Spanned<CondSpec>) -> Option<Cond> {
        let c = spec.get_ref();
        let span = Some(spec.span());
        if let Some(any) = &c.any {
            return Some(Cond::Any(self.conds(any)));
        }
        if let Some(all) = &c.all {
            return Some(Cond::All(self.conds(all)));
        }
        let what = match (&c.column, &c.path, &c.field) {
            (Some(ColumnRef::Index(i)), None, None) if *i >= 1 => Operand::Index((*i - 1) as usize),
            (Some(ColumnRef::Name(n)), None, None) => Operand::Ref(self.column(n, span.clone())),
            (None, Some(p), None) => Operand::Ref(Ref {
                text: p.clone(),
                path: Some(self.path(p, spec.span())?),
            }),
            (None, None, Some(f)) => Operand::Ref(self.reference(f, span.clone())),
            _ => {
                self.err(
                    span,
                    "a condition needs exactly one of column, path or field (or any/all)",
                );
                return None;
            }
        };
        let texts = |v: &Vec<Scalar>| v.iter().map(Scalar::text).collect::<Vec<_>>();
        let mut tests = Vec::new();
        if let Some(v) = &c.equals {
            tests.push(Test::Equals(v.text()));
        }
        if let Some(v) = &c.not_equals {
            tests.push(Test::NotEquals(v.text()));
        }
        if let Some(v) = &c.in_ {
            tests.push(Test::In(texts(v)));
        }
        if let Some(v) = &c.not_in {
            tests.push(Test::NotIn(texts(v)));
        }
        if let Some(v) = c.empty {
            tests.push(Test::Empty(v));
        }
        if let Some(v) = &c.starts_with {
            tests.push(Test::StartsWith(v.clone()));
        }
        if let Some(v) = &c.matches {
            match Regex::new(v) {
                Ok(re) => tests.push(Test::Matches(re)),
                Err(e) => self.err(span.clone(), format!("matches: bad pattern `{v}`: {e}")),
            }
        }
        if let Some((lo, hi)) = &c.between {
            match (
                parse_decimal(&lo.text(), DecimalStyle::Auto),
                parse_decimal(&hi.text(), DecimalStyle::Auto),
            ) {
                (Ok(lo), Ok(hi)) => tests.push(Test::Between(lo, hi)),
                _ => self.err(span.clone(), "between takes two numbers"),
            }
        }
        if tests.len() != 1 {
            self.err(span, "a condition needs exactly one test: equals, not_equals, in, not_in, empty, matches, starts_with or between");
            return None;
        }
        Some(Cond::Test {
            what,
            test: tests.pop()?,
        })
    }
}

fn source_label(source: &Source, name: &str) -> String {
    match source {
        Source::Ref(r) => r.text.clone(),
        Source::Index(i) => format!("column {}", i + 1),
        Source::Context(c) => format!("context {c}"),
        Source::FirstOf(refs) | Source::Concat(refs, _) | Source::List(refs) => refs
            .iter()
            .map(|r| r.text.as_str())
            .collect::<Vec<_>>()
            .join("|"),
        Source::Each(p, _) => p
            .steps
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join("/"),
        Source::Value(_) | Source::Template(_) | Source::Nothing => name.to_owned(),
    }
}
