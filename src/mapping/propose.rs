//! `kontor mapping new`: a mapping proposed from the first records of an unfamiliar flat
//! file. Finds the header line, the decimal and date formats of each column, matches each
//! canonical field of the entity to the most likely column (German and English names, see
//! [`super::synonyms`]) and writes the mapping text in the format of `mappings/*.toml`,
//! with `[[test]]` cases made from the first rows.

use super::synonyms::{ENUM_WORDS, KIND_COLUMNS, SIGN_COLUMNS, fold, score, synonyms};
use crate::model::values::{DateFormat, DecimalStyle, parse_date, parse_decimal};
use crate::model::{Entity, FieldType};
use std::collections::BTreeMap;

/// What was read from the file (by the connector's own reader).
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// The file as named in comments and test names.
    pub file: String,
    /// The `encoding` for `[source]` (`utf-8`, `windows-1252`, `auto`, …).
    pub encoding: String,
    pub bom: bool,
    pub delimiter: u8,
    /// Records from the start of the file (header line included), with line numbers.
    pub records: Vec<(u64, Vec<String>)>,
    /// Whether `records` is the whole file.
    pub complete: bool,
}

/// The proposed mapping and what it is based on.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub text: String,
    /// Index in [`Sample::records`] of the first data row.
    pub data_start: usize,
    /// (field, column) pairs.
    pub matched: Vec<(String, String)>,
    /// Canonical fields no column was found for.
    pub unmatched_fields: Vec<String>,
    /// Columns no field reads.
    pub unused_columns: Vec<String>,
    /// Columns of personal data on the deny-list (never read, never copied into a fixture).
    pub denied_columns: Vec<String>,
}

/// Date formats tried per column (two-digit years first: `%Y` would read `26` as year 26).
const DATE_PATTERNS: &[&str] = &[
    "%d.%m.%y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y%m%d",
];

/// A column and what its values look like.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub name: String,
    pub filled: usize,
    /// Every value is a number (in the file's decimal style).
    pub numeric: bool,
    /// Formats that read every value (`None`: not a date column).
    pub dates: Option<Vec<&'static str>>,
    pub email: bool,
    /// Some values are negative numbers (`119,00-`, `-5`): the column carries its own sign.
    pub negative: bool,
    /// Most values are words with spaces (a name, not an id).
    pub texty: bool,
    /// Distinct values and how often (at most 20 kept).
    pub distinct: BTreeMap<String, usize>,
}

/// How a file writes its decimals: `de` (`1.234,56`) or `en` (`1,234.56`), from every value
/// that tells them apart; German when nothing does.
pub fn decimal_style<'a>(values: impl Iterator<Item = &'a str>) -> &'static str {
    let (mut de, mut en) = (0, 0);
    for v in values {
        match decimal_evidence(v) {
            Some(true) => de += 1,
            Some(false) => en += 1,
            None => {}
        }
    }
    if en > de { "en" } else { "de" }
}

/// `Some(true)` when `v` can only be a German decimal, `Some(false)` only an English one.
fn decimal_evidence(v: &str) -> Option<bool> {
    let t = v.trim().trim_matches(['-', '+']);
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
        || !t.bytes().any(|b| b.is_ascii_digit())
        || date_patterns_of(v).is_some()
    {
        return None;
    }
    let i = t.rfind(['.', ','])?;
    let sep = t.as_bytes()[i];
    let other = if sep == b',' { '.' } else { ',' };
    let decimal_is_comma = if t.contains(other) {
        sep == b','
    } else if t.len() - i - 1 == 3 {
        // `1.250`: thousands or three decimals; `1.250.000`: thousands.
        if t.matches(sep as char).count() > 1 {
            sep == b'.'
        } else {
            return None;
        }
    } else {
        sep == b','
    };
    Some(decimal_is_comma)
}

/// The formats (of [`DATE_PATTERNS`]) that `v` is a date in.
fn date_patterns_of(v: &str) -> Option<Vec<&'static str>> {
    let v = v.trim();
    let groups = |s: &str| -> Vec<u32> {
        s.split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
            .filter_map(|g| g.parse().ok())
            .collect()
    };
    let fits: Vec<&'static str> = DATE_PATTERNS
        .iter()
        .copied()
        .filter(|p| {
            parse_date(v, &DateFormat::Patterns(vec![(*p).to_owned()]), None).is_ok_and(|d| {
                use chrono::Datelike;
                (1900..=2199).contains(&d.year()) && groups(&d.format(p).to_string()) == groups(v)
            })
        })
        .collect();
    (!fits.is_empty()).then_some(fits)
}

/// Whether `good` of `all` values fit a type: all of them, or all but a few broken rows
/// (those go to quarantine when the mapping runs; one typo must not hide a date column).
fn mostly(good: usize, all: usize) -> bool {
    (all > 0 && good == all) || (all >= 10 && good * 10 >= all * 9)
}

/// The fewest formats that read all `values`, or all but a few broken ones (`None` when
/// more are no date).
fn date_formats(values: &[&str]) -> Option<Vec<&'static str>> {
    let per: Vec<Vec<&'static str>> = values.iter().filter_map(|v| date_patterns_of(v)).collect();
    if !mostly(per.len(), values.len()) {
        return None;
    }
    let mut chosen: Vec<&'static str> = Vec::new();
    for fits in &per {
        if !fits.iter().any(|p| chosen.contains(p)) {
            chosen.push(fits[0]);
        }
    }
    chosen.sort_by_key(|p| DATE_PATTERNS.iter().position(|x| x == p));
    (!chosen.is_empty()).then_some(chosen)
}

/// What the values of one column look like.
pub fn profile(name: &str, values: &[&str], style: &str) -> Profile {
    let filled: Vec<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    let st = if style == "en" {
        DecimalStyle::English
    } else {
        DecimalStyle::German
    };
    let dates = if filled.is_empty() {
        None
    } else {
        date_formats(&filled)
    };
    let mut distinct = BTreeMap::new();
    for v in &filled {
        if distinct.len() < 20 || distinct.contains_key(*v) {
            *distinct.entry((*v).to_owned()).or_insert(0) += 1;
        }
    }
    Profile {
        name: name.trim().to_owned(),
        filled: filled.len(),
        numeric: dates.is_none()
            && mostly(
                filled
                    .iter()
                    .filter(|v| {
                        v.bytes().any(|b| b.is_ascii_digit()) && parse_decimal(v, st).is_ok()
                    })
                    .count(),
                filled.len(),
            ),
        negative: dates.is_none()
            && filled
                .iter()
                .any(|v| parse_decimal(v, st).is_ok_and(|d| d.is_sign_negative() && !d.is_zero())),
        email: mostly(
            filled.iter().filter(|v| v.contains('@')).count(),
            filled.len(),
        ),
        texty: filled
            .iter()
            .filter(|v| v.contains(' ') && v.chars().any(char::is_alphabetic))
            .count()
            * 2
            > filled.len(),
        dates,
        distinct,
    }
}

/// Whether a value reads as a number or a date (a header line has neither).
fn value_like(v: &str) -> bool {
    let v = v.trim();
    !v.is_empty()
        && ((v.bytes().any(|b| b.is_ascii_digit()) && parse_decimal(v, DecimalStyle::Auto).is_ok())
            || date_patterns_of(v).is_some())
}

/// The first line of `records` with the usual number of columns (lines before it are a
/// report title), and whether it names the columns.
pub fn layout(records: &[(u64, Vec<String>)]) -> (usize, bool, usize) {
    let mut widths: BTreeMap<usize, usize> = BTreeMap::new();
    for (_, r) in records.iter().filter(|(_, r)| r.len() > 1) {
        *widths.entry(r.len()).or_default() += 1;
    }
    let width = widths
        .iter()
        .max_by_key(|(w, n)| (**n, **w))
        .map_or(records.first().map_or(1, |r| r.1.len()), |(w, _)| *w);
    let first = records
        .iter()
        .position(|(_, r)| r.len() == width)
        .unwrap_or(0);
    let header = records.get(first).is_some_and(|(_, r)| {
        r.iter().filter(|c| !c.trim().is_empty()).count() * 2 >= r.len()
            && !r.iter().any(|c| value_like(c))
    });
    (first, header, width)
}

pub(super) const TOTAL_WORDS: &str = r"(?i)^((zwischen|end|gesamt)?summe|gesamt|total)\b";

struct Ctx<'a> {
    entity: Entity,
    header: Vec<String>,
    profiles: Vec<Profile>,
    style: &'static str,
    sign: Option<(usize, String)>,
    rows: Vec<&'a (u64, Vec<String>)>,
    totals: Vec<&'a (u64, Vec<String>)>,
}

/// The fields `mapping new` looks for (lists of lines and markers are left to the author).
fn wanted(entity: Entity) -> Vec<(&'static str, FieldType)> {
    entity
        .def()
        .fields
        .iter()
        .filter(|f| {
            !matches!(
                f.ty,
                FieldType::Lines(_) | FieldType::Texts | FieldType::Bool
            )
        })
        // An invoice's status is derived from its open amount.
        .filter(|f| !(f.name == "status" && entity == Entity::Invoice))
        .map(|f| (f.name, f.ty))
        .collect()
}

fn compatible(ty: FieldType, p: &Profile) -> bool {
    if p.filled == 0 {
        return true;
    }
    match ty {
        FieldType::Date => p.dates.is_some(),
        FieldType::Money | FieldType::Decimal | FieldType::Int => p.numeric,
        FieldType::Email => p.email,
        // `20261231` may be a number as well as a date.
        FieldType::Id => !p.texty && p.dates.as_ref().is_none_or(|d| d == &["%Y%m%d"]),
        FieldType::Phone | FieldType::Phones => !p.email && p.dates.is_none(),
        _ => true,
    }
}

/// Proposes a mapping of `sample` to `entity`.
pub fn propose(sample: &Sample, entity: Entity) -> Proposal {
    let (first, has_header, width) = layout(&sample.records);
    let header: Vec<String> = match sample.records.get(first) {
        Some((_, r)) if has_header => r.iter().map(|c| c.trim().to_owned()).collect(),
        _ => (1..=width).map(|i| i.to_string()).collect(),
    };
    let data_start = first + usize::from(has_header);
    let total_re = regex::Regex::new(TOTAL_WORDS).ok();
    let is_total = |r: &[String]| {
        r.iter()
            .any(|c| total_re.as_ref().is_some_and(|re| re.is_match(c.trim())))
    };
    let all: Vec<&(u64, Vec<String>)> = sample.records[data_start.min(sample.records.len())..]
        .iter()
        .filter(|(_, r)| r.len() == width)
        .collect();
    let (totals, rows): (Vec<_>, Vec<_>) = all.into_iter().partition(|(_, r)| is_total(r));
    let style = decimal_style(rows.iter().flat_map(|(_, r)| r.iter().map(String::as_str)));
    let profiles: Vec<Profile> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let values: Vec<&str> = rows
                .iter()
                .map(|(_, r)| r.get(i).map_or("", String::as_str))
                .collect();
            profile(h, &values, style)
        })
        .collect();
    let sign = profiles.iter().enumerate().find_map(|(i, p)| {
        let signs = ["S", "H", "Soll", "Haben"];
        (has_header
            && score(&fold(&p.name), SIGN_COLUMNS) >= 80
            && p.filled > 0
            && p.distinct.keys().all(|v| signs.contains(&v.as_str())))
        .then(|| {
            let credit = if p.distinct.contains_key("Haben") {
                "Haben"
            } else {
                "H"
            };
            (i, credit.to_owned())
        })
    });
    let ctx = Ctx {
        entity,
        header,
        profiles,
        style,
        sign,
        rows,
        totals,
    };
    let assigned = if has_header {
        assign(&ctx)
    } else {
        BTreeMap::new()
    };
    let text = super::propose_render::render(sample, &ctx_view(&ctx), &assigned, first, has_header);
    let mut used: Vec<usize> = assigned.values().flatten().copied().collect();
    used.extend(ctx.sign.as_ref().map(|s| s.0));
    let header = &ctx.header;
    Proposal {
        text,
        data_start,
        matched: assigned
            .iter()
            .flat_map(|(f, cols)| {
                cols.iter()
                    .map(move |c| (f.to_string(), header[*c].clone()))
            })
            .collect(),
        unmatched_fields: wanted(entity)
            .iter()
            .filter(|(f, _)| !assigned.contains_key(f))
            .map(|(f, _)| f.to_string())
            .collect(),
        denied_columns: ctx
            .header
            .iter()
            .filter(|h| super::is_denied_name(&fold(h)))
            .cloned()
            .collect(),
        unused_columns: (0..ctx.header.len())
            .filter(|i| !used.contains(i))
            .map(|i| ctx.header[i].clone())
            .collect(),
    }
}

/// Field → the columns it reads (several only for `phones`), best matches first.
fn assign(ctx: &Ctx) -> BTreeMap<&'static str, Vec<usize>> {
    let fields = wanted(ctx.entity);
    let folded: Vec<String> = ctx.header.iter().map(|h| fold(h)).collect();
    let mut cands: Vec<(u32, usize, usize)> = Vec::new();
    for (fi, (name, ty)) in fields.iter().enumerate() {
        let names = synonyms(ctx.entity, name);
        let own = [*name];
        for (ci, h) in folded.iter().enumerate() {
            // The sign column, and personal data that must never be stored (birthdays, …).
            if ctx.sign.as_ref().is_some_and(|s| s.0 == ci) || super::is_denied_name(h) {
                continue;
            }
            let s = score(h, names).max(score(h, &own));
            if s > 0 && compatible(*ty, &ctx.profiles[ci]) {
                cands.push((s, fi, ci));
            }
        }
    }
    cands.sort_by_key(|(s, fi, ci)| (std::cmp::Reverse(*s), *fi, *ci));
    let mut out: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
    let mut used = vec![false; ctx.header.len()];
    for (s, fi, ci) in cands {
        let (name, ty) = fields[fi];
        let several = ty == FieldType::Phones && s >= 80;
        if used[ci] || (out.contains_key(name) && !several) {
            continue;
        }
        used[ci] = true;
        out.entry(name).or_default().push(ci);
    }
    for cols in out.values_mut() {
        cols.sort();
    }
    out
}

/// What rendering needs of the analysis.
pub(super) struct View<'a> {
    pub entity: Entity,
    pub header: &'a [String],
    pub profiles: &'a [Profile],
    pub style: &'static str,
    pub sign: Option<&'a (usize, String)>,
    pub rows: &'a [&'a (u64, Vec<String>)],
    pub totals: &'a [&'a (u64, Vec<String>)],
    pub wanted: Vec<(&'static str, FieldType)>,
}

fn ctx_view<'a>(ctx: &'a Ctx<'a>) -> View<'a> {
    View {
        entity: ctx.entity,
        header: &ctx.header,
        profiles: &ctx.profiles,
        style: ctx.style,
        sign: ctx.sign.as_ref(),
        rows: &ctx.rows,
        totals: &ctx.totals,
        wanted: wanted(ctx.entity),
    }
}

/// `map` entries for an enumerated field: the column's values that name an allowed value
/// (`Anruf` → `call`), and the values not understood.
pub(super) fn enum_map(
    allowed: &[&str],
    p: &Profile,
) -> (Vec<(String, &'static str)>, Vec<String>) {
    let (mut map, mut unknown) = (Vec::new(), Vec::new());
    for v in p.distinct.keys() {
        if allowed.contains(&v.as_str()) {
            continue;
        }
        match ENUM_WORDS
            .iter()
            .find(|(w, c)| fold(w) == fold(v) && allowed.contains(c))
        {
            Some((_, c)) => map.push((v.clone(), *c)),
            None => unknown.push(v.clone()),
        }
    }
    (map, unknown)
}

/// A column naming the document kind (`Belegart` with `RE`/`GU`), for a `when` hint.
pub(super) fn kind_column<'a>(v: &'a View) -> Option<&'a Profile> {
    v.profiles
        .iter()
        .find(|p| score(&fold(&p.name), KIND_COLUMNS) >= 80 && (2..=8).contains(&p.distinct.len()))
}

#[cfg(test)]
#[path = "propose_tests.rs"]
mod tests;
