//! `kontor mapping new --from FILE --entity E`: a mapping proposed from an unfamiliar export,
//! read by the CSV connector's own reader, plus a fixture from its first rows.

use super::Cli;
use anyhow::{Context, bail};
use clap::Subcommand;
use kontor::mapping::Mapping;
use kontor::mapping::propose::{Sample, propose};
use kontor::model::Entity;
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum MappingCmd {
    /// Propose a mapping for a flat-file export: encoding, delimiter, header, decimal and date
    /// formats are read from the file, each field of the entity matched to the most likely
    /// column; to stdout, or to --out with a fixture of the first rows next to it.
    New {
        /// The export (CSV/TXT).
        #[arg(long)]
        from: PathBuf,
        /// customer, invoice (open items), credit_note, order, order_line, stock (item),
        /// contact_person (contact), activity, delivery, supplier, supplier_invoice, …
        #[arg(long)]
        entity: String,
        /// Write the mapping here (and `<name>.fixtures/first-rows.csv` with the expected
        /// records beside it) instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overwrite --out and its fixture.
        #[arg(long)]
        force: bool,
        /// Rows read to decide formats and types.
        #[arg(long, default_value_t = 5000)]
        rows: usize,
    },
}

/// Rows of the fixture made from the start of the export.
const FIXTURE_ROWS: usize = 5;

pub async fn run(_cli: &Cli, cmd: &MappingCmd) -> anyhow::Result<i32> {
    match cmd {
        MappingCmd::New {
            from,
            entity,
            out,
            force,
            rows,
        } => new(from, entity, out.as_deref(), *force, *rows).await,
    }
}

/// An entity by name, or by the names ops use for it.
pub fn entity_arg(name: &str) -> anyhow::Result<Entity> {
    let n = name.trim().to_lowercase().replace('-', "_");
    let alias = match n.as_str() {
        "item" | "items" | "stock_level" | "lager" => "stock",
        "contact" | "contacts" => "contact_person",
        "open_items" | "open_item" | "invoices" => "invoice",
        "customers" => "customer",
        "orders" => "order",
        "quotes" | "quotation" | "quotations" | "angebot" | "angebote" => "quote",
        other => other,
    };
    Entity::parse(alias).with_context(|| {
        let names: Vec<&str> = Entity::ALL.iter().map(|e| e.as_str()).collect();
        format!(
            "unknown entity `{name}` (one of {}; also item, contact)",
            names.join(", ")
        )
    })
}

async fn new(
    from: &Path,
    entity: &str,
    out: Option<&Path>,
    force: bool,
    rows: usize,
) -> anyhow::Result<i32> {
    let entity = entity_arg(entity)?;
    let fixture_dir = out.map(|o| o.with_extension("fixtures"));
    let fixture = fixture_dir.as_ref().map(|d| d.join("first-rows.csv"));
    if !force {
        for p in out.iter().copied().chain(fixture.as_deref()) {
            if p.exists() {
                bail!("{} exists; --force overwrites it", p.display());
            }
        }
    }
    let sniffed = kontor_csv::sniff::sniff(from, rows.max(2))
        .with_context(|| format!("cannot read {}", from.display()))?;
    if sniffed.records.is_empty() {
        bail!(
            "{} has no rows: a proposal needs the column names and some data rows",
            from.display()
        );
    }
    if let Some(stream) = &sniffed.stream {
        super::note(
            tracing::Level::WARN,
            &format!(
                "{} is a DATEV file ({stream}): the shipped mappings datev-buchungsstapel and datev-debitoren read it",
                from.display()
            ),
        );
    }
    let sample = Sample {
        file: from.display().to_string(),
        encoding: sniffed.encoding.to_owned(),
        bom: sniffed.bom,
        delimiter: sniffed.delimiter,
        records: sniffed.records,
        complete: sniffed.complete,
    };
    let p = propose(&sample, entity);
    let matched: Vec<String> = p
        .matched
        .iter()
        .map(|(f, c)| format!("{f} ← {c}"))
        .collect();
    let mut summary = vec![format!(
        "{}: matched {}",
        from.display(),
        if matched.is_empty() {
            "nothing".into()
        } else {
            matched.join(", ")
        }
    )];
    if !p.unmatched_fields.is_empty() {
        summary.push(format!("no column for: {}", p.unmatched_fields.join(", ")));
    }
    if !p.unused_columns.is_empty() {
        summary.push(format!("columns not read: {}", p.unused_columns.join(", ")));
    }
    if !sniffed.broken.is_empty() {
        summary.push(format!(
            "{} row(s) the reader refuses (first: line {}: {})",
            sniffed.broken.len(),
            sniffed.broken[0].0,
            sniffed.broken[0].1
        ));
    }
    let Some(out) = out else {
        print!("{}", p.text);
        for s in summary {
            super::note(tracing::Level::INFO, &s);
        }
        return Ok(0);
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
    }
    std::fs::write(out, &p.text).with_context(|| format!("{}", out.display()))?;
    summary.push(format!("wrote {}", out.display()));
    if !p.denied_columns.is_empty() {
        // The fixture is the export's first rows byte for byte: it would copy them.
        summary.push(format!(
            "no fixture written: the export has personal data on the deny-list ({}); write one without it",
            p.denied_columns.join(", ")
        ));
    } else if let (Some(dir), Some(fixture)) = (fixture_dir, fixture) {
        summary.push(write_fixture(from, out, &dir, &fixture, &sample, p.data_start).await?);
    }
    summary.push(format!(
        "next: review the TODOs, add the connector to kontor.toml and run `kontor check`:\n{}",
        connector_snippet(from, out)
    ));
    for s in summary {
        super::note(tracing::Level::INFO, &s);
    }
    Ok(0)
}

/// The first rows of the export, byte for byte (encoding and header as they are), and the
/// records the proposed mapping makes of them.
async fn write_fixture(
    from: &Path,
    mapping_path: &Path,
    dir: &Path,
    fixture: &Path,
    sample: &Sample,
    data_start: usize,
) -> anyhow::Result<String> {
    let bytes = std::fs::read(from).with_context(|| format!("{}", from.display()))?;
    // Lines before the record after the fixture's last row.
    let cut = sample
        .records
        .get(data_start + FIXTURE_ROWS)
        .map(|(line, _)| line.saturating_sub(1) as usize);
    let keep: Vec<&[u8]> = match cut {
        Some(n) => bytes.split_inclusive(|b| *b == b'\n').take(n).collect(),
        None => vec![&bytes[..]],
    };
    std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
    std::fs::write(fixture, keep.concat()).with_context(|| format!("{}", fixture.display()))?;
    let label = mapping_path.display().to_string();
    let expected = dir.join("first-rows.expected.jsonl");
    match Mapping::load(mapping_path, &label, kontor::registry::builtin_mapping) {
        Ok(m) => {
            let records = super::check::read_and_map(&m, fixture)
                .await
                .map_err(anyhow::Error::msg)?;
            let text: String = records.iter().map(|v| format!("{v}\n")).collect();
            std::fs::write(&expected, text).with_context(|| format!("{}", expected.display()))?;
            Ok(format!(
                "wrote {} and {} ({} record(s) expected; check them)",
                fixture.display(),
                expected.display(),
                records.len()
            ))
        }
        Err(d) => Ok(format!(
            "wrote {}; once the mapping compiles ({}), `kontor test-mappings --bless {}` writes its expected records",
            fixture.display(),
            d.first().map(|d| d.message.as_str()).unwrap_or_default(),
            mapping_path.display()
        )),
    }
}

/// The `[[connector]]` block to add for the export: a dated file name becomes a pattern (the
/// next day's export has another name), and `system` says whose customer numbers these are —
/// an ops person's second export of the same ERP must share it, or nothing joins.
fn connector_snippet(from: &Path, mapping: &Path) -> String {
    let file = from
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pattern = kontor::sync::undated_pattern(&file);
    let dated = pattern.is_some();
    let pattern_name = pattern.unwrap_or(file);
    let path = from.with_file_name(&pattern_name);
    let stem = pattern_name
        .rsplit_once('.')
        .map_or(pattern_name.as_str(), |(s, _)| s);
    let mut name = String::new();
    for c in stem.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('-') && !name.is_empty() {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-');
    let mut s = String::from("  [[connector]]\n");
    s += &format!(
        "  name = \"{}\"\n",
        if name.is_empty() { "export" } else { name }
    );
    s += "  kind = \"csv\"\n";
    s += &format!(
        "  path = \"{}\"{}\n",
        path.display(),
        if dated {
            "    # every day's file; applied oldest first"
        } else {
            ""
        }
    );
    s += &format!("  mapping = \"{}\"\n", mapping.display());
    s += "  system = \"wawi\"    # the ERP whose customer numbers these are: the same on all its connectors";
    s
}

#[cfg(test)]
mod tests {
    use super::connector_snippet;
    use std::path::Path;

    #[test]
    fn a_dated_export_becomes_a_pattern_and_the_system_is_named() {
        let s = connector_snippet(
            Path::new("in/OP-Liste_20261202.csv"),
            Path::new("m/op.toml"),
        );
        assert!(s.contains("name = \"op-liste\""), "{s}");
        assert!(s.contains("path = \"in/OP-Liste_*.csv\""), "{s}");
        assert!(s.contains("mapping = \"m/op.toml\""), "{s}");
        assert!(s.contains("system = \"wawi\""), "{s}");
        let s = connector_snippet(Path::new("kunden.csv"), Path::new("m/kunden.toml"));
        assert!(s.contains("path = \"kunden.csv\"\n"), "{s}");
        assert!(s.contains("name = \"kunden\""), "{s}");
    }
}
