//! The connector kinds kontor knows, and the built-in mappings they ship. This is the only
//! place that names connector crates.

use kontor_connector::BuildFn;

/// `(kind, build function)`.
pub fn kinds() -> Vec<(&'static str, BuildFn)> {
    vec![
        (kontor_csv::KIND, kontor_csv::build),
        ("xml", kontor_xml::build),
        (kontor_rest::KIND, kontor_rest::build),
        (kontor_sql::KIND, kontor_sql::build),
        (kontor_plugin::KIND, kontor_plugin::build),
    ]
}

/// `(kind, what it reads)`, for `kontor connectors`.
pub fn kind_descriptions() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            kontor_csv::KIND,
            "CSV/TXT exports in a folder (cp1252/UTF-8, `;`, German numbers and dates), by file, \
             once each; snapshots of open items",
        ),
        (
            "xml",
            "XRechnung/UBL/CII e-invoices, ZUGFeRD/Factur-X PDFs, openTRANS orders and \
             invoices in a folder",
        ),
        (
            kontor_rest::KIND,
            "REST/OData APIs page by page, incrementally by a modification time; built-in \
             profiles below",
        ),
        (
            kontor_sql::KIND,
            "a shop's or WaWi's own MariaDB/MySQL or PostgreSQL database: your SELECT per \
             stream, incrementally by an updated_at or row-version column, read-only",
        ),
        (
            kontor_plugin::KIND,
            "Singer taps (or any program writing Singer messages) as a subprocess",
        ),
    ]
}

/// The built-in REST profiles with what they read.
pub fn profiles() -> Vec<kontor_rest::ProfileInfo> {
    kontor_rest::profile_infos()
}

pub fn build_fn(kind: &str) -> Option<BuildFn> {
    kinds()
        .into_iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, f)| f)
}

/// Built-in mapping text by name.
pub fn builtin_mapping(name: &str) -> Option<&'static str> {
    let sets: [&[(&str, &str)]; 2] = [kontor_xml::BUILTIN_MAPPINGS, kontor_rest::BUILTIN_MAPPINGS];
    sets.iter()
        .flat_map(|s| s.iter())
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// The connector kind that reads fixture input files with this extension, and its settings to
/// read exactly that file.
pub fn fixture_reader(path: &std::path::Path) -> Option<(&'static str, toml::Table)> {
    let ext = path.extension()?.to_string_lossy().to_lowercase();
    let mut t = toml::Table::new();
    t.insert(
        "path".into(),
        toml::Value::String(path.display().to_string()),
    );
    match ext.as_str() {
        "csv" | "txt" => {
            t.insert("min_age_seconds".into(), toml::Value::Integer(0));
            Some((kontor_csv::KIND, t))
        }
        "xml" => Some(("xml", t)),
        _ => None,
    }
}
