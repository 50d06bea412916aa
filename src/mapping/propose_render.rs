//! The text of a proposed mapping (`kontor mapping new`): the format of `mappings/*.toml`,
//! with comments for what was detected, what is left to decide, and `[[test]]` cases made
//! from the first rows by the proposed mapping itself.

use super::fixtures::outcome_json;
use super::propose::{Sample, View, enum_map, kind_column};
use super::{ColumnCache, Mapping, Outcome, no_builtins};
use crate::model::{Entity, FieldType};
use kontor_connector::{Fields, Position, RawRecord, Row};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

/// A TOML string.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A TOML key: bare when it can be.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_owned()
    } else {
        q(k)
    }
}

fn delimiter_text(d: u8) -> &'static str {
    match d {
        b'\t' => "\"\\t\"",
        b',' => "\",\"",
        b'|' => "\"|\"",
        _ => "\";\"",
    }
}

fn kind_of(p: &super::propose::Profile) -> &'static str {
    if p.filled == 0 {
        "empty"
    } else if p.dates.is_some() {
        "date"
    } else if p.numeric {
        "number"
    } else {
        "text"
    }
}

/// The documents whose amounts an S/H column signs.
fn signed(entity: Entity) -> bool {
    matches!(
        entity,
        Entity::Invoice | Entity::CreditNote | Entity::SupplierInvoice | Entity::Order
    )
}

fn field_spec(v: &View, name: &str, ty: FieldType, cols: &[usize], required: bool) -> String {
    let p = &v.profiles[cols[0]];
    let col = q(&v.header[cols[0]]);
    if ty == FieldType::Phones && cols.len() > 1 {
        let list: Vec<String> = cols.iter().map(|c| q(&v.header[*c])).collect();
        return format!("{{ list = [{}] }}", list.join(", "));
    }
    let mut opts: Vec<String> = Vec::new();
    match ty {
        FieldType::Money | FieldType::Decimal if p.numeric => {
            opts.push(format!("decimal = \"{}\"", v.style));
        }
        FieldType::Date => match p.dates.as_deref() {
            Some([one]) => opts.push(format!("date = {}", q(one))),
            Some(many) => {
                let l: Vec<String> = many.iter().map(|d| q(d)).collect();
                opts.push(format!("date = [{}]", l.join(", ")));
            }
            None => {}
        },
        FieldType::Enum(allowed) => {
            let (map, _) = enum_map(allowed, p);
            if !map.is_empty() {
                let m: Vec<String> = map
                    .iter()
                    .map(|(from, to)| format!("{} = {}", key(from), q(to)))
                    .collect();
                opts.push(format!("map = {{ {} }}", m.join(", ")));
            }
        }
        _ => {}
    }
    // A column that already carries its sign (`119,00-`) is not signed again by S/H.
    if ty == FieldType::Money
        && signed(v.entity)
        && !p.negative
        && let Some((c, credit)) = v.sign
    {
        opts.push(format!(
            "negate = {{ column = {}, equals = {} }}",
            q(&v.header[*c]),
            q(credit)
        ));
    }
    if required {
        opts.push("required = true".into());
    } else if matches!(ty, FieldType::Phone | FieldType::Phones) {
        // A mistyped phone number must not cost the whole customer row.
        opts.push("on_error = \"null\"".into());
    }
    let _ = name;
    if opts.is_empty() {
        col
    } else {
        format!("{{ column = {col}, {} }}", opts.join(", "))
    }
}

/// The mapping text.
pub(super) fn render(
    sample: &Sample,
    v: &View,
    assigned: &BTreeMap<&'static str, Vec<usize>>,
    first: usize,
    has_header: bool,
) -> String {
    let def = v.entity.def();
    let mut o = String::new();
    let file_name = std::path::Path::new(&sample.file)
        .file_name()
        .map_or(sample.file.clone(), |f| f.to_string_lossy().into_owned());
    let _ = writeln!(
        o,
        "# Proposed by `kontor mapping new` from {} as `{}`: review every line, then run\n\
         # `kontor check` and `kontor test-mappings`. The format: docs/mapping-format.md.",
        sample.file, v.entity
    );
    let mut dates: Vec<&str> = v
        .profiles
        .iter()
        .filter_map(|p| p.dates.as_ref())
        .flatten()
        .copied()
        .collect();
    dates.sort();
    dates.dedup();
    let rows = if sample.complete {
        format!("{} data row(s)", v.rows.len())
    } else {
        format!("the first {} data row(s) looked at", v.rows.len())
    };
    let _ = writeln!(
        o,
        "# Found: encoding {}{}, delimiter {}, {}, {rows}, decimals {}{}.",
        sample.encoding,
        if sample.bom { " (with BOM)" } else { "" },
        delimiter_text(sample.delimiter),
        if has_header {
            format!("column names on line {}", sample.records[first].0)
        } else {
            "no line of column names".into()
        },
        if v.style == "de" {
            "like 1.234,56 (de)"
        } else {
            "like 1,234.56 (en)"
        },
        if dates.is_empty() {
            String::new()
        } else {
            format!(", dates {}", dates.join(" "))
        }
    );
    let _ = writeln!(
        o,
        "description = {}\n",
        q(&format!(
            "{} from {file_name} (proposed by kontor mapping new)",
            v.entity
        ))
    );

    // Rows that are no records: empty key, total lines.
    let key_col = def.key.first().and_then(|k| assigned.get(k)).map(|c| c[0]);
    let mut skip = Vec::new();
    if let Some(k) = key_col {
        let empty_key = v
            .rows
            .iter()
            .chain(v.totals)
            .any(|(_, r)| r[k].trim().is_empty());
        if empty_key {
            skip.push(format!("{{ column = {}, empty = true }}", q(&v.header[k])));
        }
    }
    if let Some((_, total)) = v.totals.first() {
        let re = regex::Regex::new(super::propose::TOTAL_WORDS).ok();
        if let Some(c) = total
            .iter()
            .position(|c| re.as_ref().is_some_and(|r| r.is_match(c.trim())))
            && !key_col.is_some_and(|k| total[k].trim().is_empty())
        {
            skip.push(format!(
                "{{ column = {}, matches = \"(?i)^(summe|gesamt|total)\" }}",
                q(&v.header[c])
            ));
        }
    }
    if !skip.is_empty() {
        let _ = writeln!(
            o,
            "# Rows of the export that are no records (a total line):"
        );
        let _ = writeln!(o, "skip_if = [ {} ]\n", skip.join(", "));
    }

    let _ = writeln!(o, "[source]");
    let _ = writeln!(o, "encoding = {}", q(&sample.encoding));
    let _ = writeln!(o, "delimiter = {}", delimiter_text(sample.delimiter));
    if first > 0 {
        // The reader skips records: empty lines do not count.
        let _ = writeln!(o, "skip_lines = {first}    # lines before the column names");
    }
    if !has_header {
        let _ = writeln!(
            o,
            "header = false    # refer to columns by position: column = 3"
        );
    }
    let _ = writeln!(o, "\n[[target]]\nentity = \"{}\"", v.entity);
    let used: Vec<usize> = assigned
        .values()
        .flatten()
        .copied()
        .chain(v.sign.map(|s| s.0))
        .collect();
    if let Some(p) = kind_column(v).filter(|p| {
        !used
            .iter()
            .any(|i| v.header.get(*i).is_some_and(|h| *h == p.name))
    }) {
        let vals: Vec<String> = p
            .distinct
            .iter()
            .map(|(val, n)| format!("{val} ({n})"))
            .collect();
        let own: &[&str] = match v.entity {
            Entity::Invoice => &["RE", "R", "AR", "Rechnung", "Invoice"],
            Entity::CreditNote => &["GU", "G", "GS", "Gutschrift", "Credit Note"],
            Entity::Order => &["AU", "AB", "Auftrag", "Order"],
            Entity::Quote => &["AN", "ANG", "Angebot", "Quote"],
            _ => &[],
        };
        let first_val = p
            .distinct
            .keys()
            .find(|k| own.iter().any(|o| o.eq_ignore_ascii_case(k)))
            .or_else(|| p.distinct.iter().max_by_key(|(_, n)| **n).map(|(k, _)| k))
            .cloned()
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "# TODO decide: `{}` has {}; to take only some rows as {}:\n\
             # when = [ {{ column = {}, equals = {} }} ]",
            p.name,
            vals.join(", "),
            v.entity,
            q(&p.name),
            q(&first_val)
        );
    }
    let _ = writeln!(o, "[target.fields]");
    let mut todo = Vec::new();
    for (name, ty) in &v.wanted {
        let required = def.key.contains(name) || def.required.contains(name);
        match assigned.get(name) {
            Some(cols) => {
                let spec = field_spec(v, name, *ty, cols, required);
                let mut line = format!("{} = {spec}", key(name));
                if let FieldType::Enum(allowed) = ty {
                    let (_, unknown) = enum_map(allowed, &v.profiles[cols[0]]);
                    if !unknown.is_empty() {
                        let _ = write!(
                            line,
                            "    # TODO map these values to {}: {}",
                            allowed.join("|"),
                            unknown.join(", ")
                        );
                    }
                }
                let _ = writeln!(o, "{line}");
            }
            None => todo.push((name, ty, required)),
        }
    }
    if !todo.is_empty() {
        let _ = writeln!(
            o,
            "# TODO no column found for these fields (map them if the export has them):"
        );
        for (name, ty, required) in todo {
            let _ = writeln!(
                o,
                "# {} = \"…\"    # {}{}",
                key(name),
                type_name(*ty),
                if required { ", needed" } else { "" }
            );
        }
    }
    let unused: Vec<usize> = (0..v.header.len()).filter(|i| !used.contains(i)).collect();
    if !unused.is_empty() && has_header {
        let names: Vec<String> = unused
            .iter()
            .map(|i| {
                let kind = if super::is_denied_name(&super::synonyms::fold(&v.header[*i])) {
                    "personal data on the deny-list: never stored"
                } else {
                    kind_of(&v.profiles[*i])
                };
                format!("{} ({kind})", q(&v.header[*i]))
            })
            .collect();
        let _ = writeln!(o, "# Columns not read: {}", names.join(", "));
        let example = &v.header[unused[0]];
        let extra: String = super::synonyms::fold(example);
        if !extra.is_empty() && !super::is_denied_name(&extra) {
            let _ = writeln!(
                o,
                "# To keep one with the record: \"extra.{extra}\" = {}",
                q(example)
            );
        }
    }
    let tests = tests(&o, &file_name, v);
    o.push_str(&tests);
    o
}

fn type_name(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Id => "id",
        FieldType::Date => "date",
        FieldType::Money => "money",
        FieldType::Decimal => "decimal",
        FieldType::Int => "whole number",
        FieldType::Email => "e-mail",
        FieldType::Phone | FieldType::Phones => "phone",
        FieldType::Vat => "VAT id",
        FieldType::Gln => "GLN",
        FieldType::Country => "country",
        FieldType::Currency => "currency",
        FieldType::Enum(_) => "one of a list",
        _ => "text",
    }
}

/// `[[test]]` cases: the first two rows and the first total line, with what the proposed
/// mapping makes of them (nothing when it does not compile yet).
fn tests(text: &str, file_name: &str, v: &View) -> String {
    let Ok(mapping) = Mapping::from_text("proposal", "proposal", text, no_builtins) else {
        return String::new();
    };
    let header = Arc::new(v.header.to_vec());
    let mut cache = ColumnCache::default();
    let mut out = String::new();
    let cases = v.rows.iter().take(2).chain(v.totals.iter().take(1));
    for (line, values) in cases {
        let rec = RawRecord {
            fields: Fields::Row {
                header: header.clone(),
                values: values.iter().map(String::as_str).collect::<Row>(),
            },
            position: Position::line(Arc::from(file_name), *line),
            context: Arc::default(),
            stream: None,
        };
        let outcome = mapping.apply(&rec, &mut cache);
        let input: Vec<String> = v
            .header
            .iter()
            .zip(values.iter())
            // Personal data on the deny-list is not copied into the mapping file.
            .filter(|(h, _)| !super::is_denied_name(&super::synonyms::fold(h)))
            .map(|(h, val)| format!("{} = {}", key(h), q(val)))
            .collect();
        let _ = writeln!(
            out,
            "\n[[test]]\nname = {}\ninput = {{ {} }}",
            q(&format!("{file_name} line {line}")),
            input.join(", ")
        );
        match &outcome {
            Outcome::Skipped => out.push_str("skipped = true\n"),
            Outcome::Rejected(r) => {
                let _ = writeln!(out, "reject = {}", q(&r.reason));
            }
            Outcome::Records(_) => {
                for rec in outcome_json(&outcome) {
                    out.push_str("[[test.expect]]\n");
                    if let serde_json::Value::Object(mut m) = rec {
                        if let Some(e) = m.remove("entity") {
                            let _ = writeln!(out, "entity = {e}");
                        }
                        for (k, val) in m {
                            if let Some(t) = json_to_toml(&val) {
                                let _ = writeln!(out, "{} = {t}", key(&k));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn json_to_toml(v: &serde_json::Value) -> Option<toml::Value> {
    use serde_json::Value as J;
    Some(match v {
        J::Null => return None,
        J::Bool(b) => toml::Value::Boolean(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::String(n.to_string()),
        },
        J::String(s) => toml::Value::String(s.clone()),
        J::Array(a) => toml::Value::Array(a.iter().filter_map(json_to_toml).collect()),
        J::Object(m) => toml::Value::Table(
            m.iter()
                .filter_map(|(k, v)| json_to_toml(v).map(|t| (k.clone(), t)))
                .collect(),
        ),
    })
}
