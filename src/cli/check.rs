//! `kontor check` and `kontor test-mappings`.

use super::{Cli, load_config};
use kontor::config::Config;
use kontor::diag::Diagnostic;
use kontor::mapping::{Mapping, fixtures};
use kontor::registry;
use kontor::sync::prepare;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `kontor test-mappings`.
#[derive(clap::Args, Debug)]
pub struct TestMappingsArgs {
    /// Mapping files (default: all configured mappings and mappings/*.toml).
    pub files: Vec<PathBuf>,
    /// Write the current output of fixture-folder cases as their expected output
    /// (review the diff before committing it).
    #[arg(long)]
    pub bless: bool,
}

pub async fn check(cli: &Cli) -> anyhow::Result<i32> {
    let cfg = match load_config(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return Ok(1);
        }
    };
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut checked = BTreeSet::new();
    let mut modes = Vec::new();
    for c in &cfg.connectors {
        if let Some(m) = &c.mapping {
            checked.insert(cfg.path(m));
        }
        match prepare(&cfg, c) {
            Ok(p) => {
                modes.extend(mode_lines(&p));
                match p.connector.check().await {
                    Ok(warnings) => diags.extend(warnings.into_iter().map(|w| Diagnostic {
                        warning: true,
                        ..cfg.connector_diag(c.index, &["name".into()], format!("{}: {w}", c.name))
                    })),
                    Err(e) => diags.push(cfg.connector_diag(
                        c.index,
                        &["name".into()],
                        format!("{}: {e}", c.name),
                    )),
                }
            }
            Err(d) => diags.extend(d),
        }
    }
    let mut mappings = 0;
    for path in mapping_files(&cfg) {
        mappings += 1;
        if checked.contains(&path) {
            continue;
        }
        if let Err(d) = Mapping::load(&path, &rel(&cfg, &path), registry::builtin_mapping) {
            diags.extend(d);
        }
    }
    diags.extend(super::check_data::real_headers(&cfg).await);
    diags.extend(own_party_note(&cfg));
    let store = match existing_store(&cfg).await {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            None
        }
    };
    let named = match &store {
        Some(s) => s.source_systems().await.unwrap_or_default(),
        None => Vec::new(),
    };
    diags.extend(check_xref(&cfg, &named));
    diags.extend(shared_secrets(&cfg));
    if let Some(store) = &store {
        diags.extend(dropped_fields(&cfg, store).await);
        diags.extend(system_notes(&cfg, store, &named).await);
    }
    diags.extend(super::connector::unconfigured(&cfg).await);
    for d in &diags {
        println!("{d}");
    }
    for m in &modes {
        println!("{m}");
    }
    let errors = diags.iter().filter(|d| !d.warning).count();
    if errors > 0 {
        eprintln!("{errors} error(s)");
        return Ok(1);
    }
    eprintln!(
        "ok: {} connector(s), {mappings} mapping file(s)",
        cfg.connectors.len()
    );
    Ok(0)
}

/// `mode: CONNECTOR ENTITY snapshot|incremental — why`, one line per entity.
fn mode_lines(p: &kontor::sync::Prepared) -> Vec<String> {
    p.modes
        .iter()
        .map(|m| {
            format!(
                "mode: {} {} {} — {}",
                p.cfg.name,
                m.entity,
                if m.snapshot {
                    "snapshot"
                } else {
                    "incremental"
                },
                m.why
            )
        })
        .collect()
}

/// Secret files (`*_file` settings) and the SQLite store readable by group or others.
fn shared_secrets(cfg: &Config) -> Vec<Diagnostic> {
    fn files(t: &toml::Table, key: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
        for (k, v) in t {
            key.push(k.clone());
            match v {
                toml::Value::String(s) if k.ends_with("_file") => {
                    out.push((key.clone(), s.clone()))
                }
                toml::Value::Table(t) => files(t, key, out),
                _ => {}
            }
            key.pop();
        }
    }
    let mut out = Vec::new();
    for c in &cfg.connectors {
        let mut found = Vec::new();
        files(&c.settings, &mut Vec::new(), &mut found);
        for (key, rel) in found {
            if let Some(mode) = kontor::sys::shared_mode(&cfg.path(&rel)) {
                out.push(Diagnostic {
                    warning: true,
                    ..cfg.connector_diag(
                        c.index,
                        &key,
                        format!("secret file {rel} is readable by group or others (mode {mode:03o}): chmod 600 {rel}"),
                    )
                });
            }
        }
    }
    if let Some(db) = cfg.store.url.strip_prefix("sqlite://") {
        let db = db.split('?').next().unwrap_or_default();
        if let Some(mode) = kontor::sys::shared_mode(Path::new(db)) {
            out.push(Diagnostic {
                file: cfg.label.clone(),
                line: 1,
                col: 1,
                message: format!("store file {db} is readable by group or others (mode {mode:03o}): chmod 600 {db}*"),
                warning: true,
            });
        }
    }
    out
}

/// Warnings for a mapping that no longer fills a field the merged view shows while stored
/// records of its connector have it (the next sync would remove it). Needs an existing store;
/// without one there is nothing to compare.
async fn dropped_fields(cfg: &Config, store: &kontor::store::DynStore) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for c in &cfg.connectors {
        let Ok(p) = prepare(cfg, c) else { continue };
        for (e, shown) in kontor::view::shown::SHOWN {
            let (e, entity) = (*e, e.as_str());
            let mapped: BTreeSet<String> =
                p.mappings.all().flat_map(|m| m.field_names(e)).collect();
            if mapped.is_empty() {
                continue;
            }
            let Ok(sample) = store.records(Some(&c.name), Some(entity), 200).await else {
                continue;
            };
            for field in *shown {
                let have = sample
                    .iter()
                    .filter(|r| r.data.get(*field).is_some())
                    .count();
                if have > 0
                    && !mapped.contains(*field)
                    && !(*field == "lines" && mapped.iter().any(|m| m.starts_with("lines")))
                {
                    let label = c
                        .mapping
                        .clone()
                        .unwrap_or_else(|| "the built-in mapping".into());
                    out.push(Diagnostic {
                        warning: true,
                        ..cfg.connector_diag(
                            c.index,
                            &["mapping".into()],
                            format!(
                                "{}: {label} no longer fills `{field}` of {entity} records, which the merged view shows; \
                                 {have} stored record(s) have it and the next sync removes it (`kontor preview {} --diff` shows the effect)",
                                c.name, c.name
                            ),
                        )
                    });
                }
            }
        }
    }
    out
}

/// The store, when there is one already (a check never creates it).
pub(super) async fn existing_store(
    cfg: &Config,
) -> Result<Option<kontor::store::DynStore>, Diagnostic> {
    let Ok(url) = cfg.store.connect_url() else {
        return Ok(None);
    };
    if let Some(path) = url.strip_prefix("sqlite://")
        && !Path::new(path.split('?').next().unwrap_or(path)).exists()
    {
        return Ok(None);
    }
    // `check` never changes the schema: an old store is reported, not migrated.
    match kontor::store::open_with(&url, kontor::store::Open::Current).await {
        Ok(s) => Ok(Some(s)),
        Err(e @ kontor::store::StoreError::Schema(_)) => Err(Diagnostic {
            file: cfg.label.clone(),
            line: 1,
            col: 1,
            message: format!("{}: {e}", cfg.store.label()),
            warning: true,
        }),
        Err(_) => Ok(None),
    }
}

/// Once: without `[identity] own_vat_ids` (or `own_glns`) every e-invoice counts as sent.
fn own_party_note(cfg: &Config) -> Option<Diagnostic> {
    let id = &cfg.identity;
    let xml = cfg.connectors.iter().find(|c| c.kind == "xml")?;
    if !(id.own_vat_ids.is_empty() && id.own_glns.is_empty()) {
        return None;
    }
    Some(Diagnostic {
        warning: true,
        ..cfg.connector_diag(
            xml.index,
            &["kind".into()],
            "note: [identity] own_vat_ids (or own_glns) is not set, so every e-invoice is read as sent by us: \
             its buyer becomes a customer. Set own_vat_ids = [\"DE…\"] so that invoices to us are read as \
             supplier invoices (their seller a supplier), never as a customer's open item"
                .to_owned(),
        )
    })
}

/// Connectors whose files named several systems, and connectors of different systems that
/// deliver the same customer numbers (two exports of one DATEV client under two systems do not
/// join).
async fn system_notes(
    cfg: &Config,
    store: &kontor::store::DynStore,
    named: &[kontor::store::SourceSystem],
) -> Vec<Diagnostic> {
    let systems = kontor::identity::run::systems_of(cfg, named);
    let mut out = Vec::new();
    for c in &cfg.connectors {
        let mine: Vec<&kontor::store::SourceSystem> =
            named.iter().filter(|n| n.connector == c.name).collect();
        if mine.len() > 1 && !c.system_set {
            let list: Vec<String> = mine
                .iter()
                .map(|n| format!("{} ({})", n.system, n.label))
                .collect();
            out.push(Diagnostic {
                warning: true,
                ..cfg.connector_diag(
                    c.index,
                    &["name".into()],
                    format!(
                        "{}: its files name several systems: {}; it uses the first. Give each client's files their own connector (or set `system`)",
                        c.name,
                        list.join(", ")
                    ),
                )
            });
        }
    }
    let Ok(shared) = store.shared_customer_numbers().await else {
        return out;
    };
    for s in shared {
        let (Some(sa), Some(sb)) = (systems.get(&s.a), systems.get(&s.b)) else {
            continue;
        };
        if sa == sb {
            continue;
        }
        let Some(c) = cfg.connector(&s.b) else {
            continue;
        };
        out.push(Diagnostic {
            warning: true,
            ..cfg.connector_diag(
                c.index,
                &["system".into()],
                format!(
                    "{} (system `{sb}`) and {} (system `{sa}`) deliver {} of the same customer numbers (e.g. {}) under different systems, \
                     so they do not join; if the numbers are the same customers, give both connectors one `system`",
                    s.b, s.a, s.count, s.example
                ),
            )
        });
    }
    out
}

/// Cross-reference files load, and name only configured systems.
fn check_xref(cfg: &Config, named: &[kontor::store::SourceSystem]) -> Vec<Diagnostic> {
    let effective = kontor::identity::run::systems_of(cfg, named);
    let systems: BTreeSet<&str> = effective.values().map(String::as_str).collect();
    let mut out = Vec::new();
    for x in &cfg.identity.xref {
        match kontor::identity::xref::load(&cfg.path(x), x) {
            Ok(rows) => {
                let named: BTreeSet<&str> =
                    rows.iter().flatten().map(|k| k.system.as_str()).collect();
                for s in named.difference(&systems) {
                    out.push(Diagnostic {
                        file: x.clone(),
                        line: 1,
                        col: 1,
                        message: format!(
                            "system `{s}` is not the system of any connector (set `system = \"{s}\"` on its connectors)"
                        ),
                        warning: false,
                    });
                }
            }
            Err(d) => out.push(d),
        }
    }
    out
}

fn rel(cfg: &Config, p: &Path) -> String {
    p.strip_prefix(&cfg.base_dir)
        .unwrap_or(p)
        .display()
        .to_string()
}

/// Configured mappings and every `mappings/*.toml` beside the config.
fn mapping_files(cfg: &Config) -> Vec<PathBuf> {
    let mut out: BTreeSet<PathBuf> = cfg
        .connectors
        .iter()
        .filter_map(|c| c.mapping.as_ref())
        .map(|m| cfg.path(m))
        .collect();
    if let Ok(rd) = std::fs::read_dir(cfg.path("mappings")) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml") {
                out.insert(p);
            }
        }
    }
    out.into_iter().collect()
}

pub async fn test_mappings(cli: &Cli, a: &TestMappingsArgs) -> anyhow::Result<i32> {
    let TestMappingsArgs { files, bless } = a;
    let bless = *bless;
    let (files, base): (Vec<PathBuf>, PathBuf) = if files.is_empty() {
        let cfg = load_config(cli)?;
        (mapping_files(&cfg), cfg.base_dir.clone())
    } else {
        (files.to_vec(), PathBuf::from("."))
    };
    let (mut passed, mut failed) = (0, 0);
    for path in files {
        let label = path
            .strip_prefix(&base)
            .unwrap_or(&path)
            .display()
            .to_string();
        let label = label.strip_prefix("./").map(str::to_owned).unwrap_or(label);
        let mapping = match Mapping::load(&path, &label, registry::builtin_mapping) {
            Ok(m) => m,
            Err(d) => {
                failed += 1;
                println!("FAIL {label}: the mapping does not compile");
                for x in d {
                    println!("  {x}");
                }
                continue;
            }
        };
        let mut results = fixtures::run_inline(&mapping);
        results.extend(folder_cases(&mapping, &path, bless).await);
        for r in results {
            match r.failure {
                None => {
                    passed += 1;
                    println!("ok   {} {}", r.location, r.name);
                }
                Some(diff) => {
                    failed += 1;
                    println!("FAIL {} {}", r.location, r.name);
                    for line in diff.lines() {
                        println!("  {line}");
                    }
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed > 0 { 1 } else { 0 })
}

/// Cases in `<mapping>.fixtures/`: an input file read by the real connector, compared with
/// `<case>.expected.jsonl`.
async fn folder_cases(mapping: &Mapping, path: &Path, bless: bool) -> Vec<fixtures::CaseResult> {
    let dir = path.with_extension("fixtures");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut inputs: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| !p.to_string_lossy().ends_with(".expected.jsonl") && p.is_file())
        .collect();
    inputs.sort();
    let mut out = Vec::new();
    for input in inputs {
        let name = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let location = input.display().to_string();
        let failure = match run_folder_case(mapping, &input, bless).await {
            Ok(None) => None,
            Ok(Some(diff)) => Some(diff),
            Err(e) => Some(e),
        };
        out.push(fixtures::CaseResult {
            name,
            location,
            failure,
        });
    }
    out
}

async fn run_folder_case(
    mapping: &Mapping,
    input: &Path,
    bless: bool,
) -> Result<Option<String>, String> {
    let expected_path = PathBuf::from(format!(
        "{}.expected.jsonl",
        input.with_extension("").display()
    ));
    if bless {
        let actual = read_and_map(mapping, input).await?;
        let text: String = actual.iter().map(|v| format!("{v}\n")).collect();
        std::fs::write(&expected_path, text)
            .map_err(|e| format!("{}: {e}", expected_path.display()))?;
        eprintln!("wrote {}", expected_path.display());
    }
    let expected_text = std::fs::read_to_string(&expected_path)
        .map_err(|e| format!("{}: {e}", expected_path.display()))?;
    let expected: Vec<serde_json::Value> = expected_text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{}: {e}", expected_path.display())))
        .collect::<Result<_, _>>()?;
    let actual = read_and_map(mapping, input).await?;
    Ok(fixtures::diff(&expected, &actual))
}

/// Reads a file with the connector for its extension and maps it; rejects appear as
/// `{"rejected": {…}}`, skipped rows are left out.
pub async fn read_and_map(
    mapping: &Mapping,
    input: &Path,
) -> Result<Vec<serde_json::Value>, String> {
    let (kind, settings) = registry::fixture_reader(input)
        .ok_or_else(|| format!("{}: no connector reads this kind of file", input.display()))?;
    let build = registry::build_fn(kind).ok_or("no such connector kind")?;
    let connector = build(kontor_connector::ConnectorSpec {
        name: "fixture".into(),
        settings,
        source: mapping.source.clone(),
        base_dir: PathBuf::from("."),
        batch_size: 500,
        own: Default::default(),
    })
    .map_err(|e| e.to_string())?;
    let set = kontor::sync::MappingSet::single(mapping.clone());
    let mut cache = kontor::mapping::ColumnCache::default();
    let mut out = Vec::new();
    for unit in connector.discover().await.map_err(|e| e.to_string())? {
        let mut reader = connector
            .open(&unit, None)
            .await
            .map_err(|e| e.to_string())?;
        while let Some(batch) = reader.next_batch().await.map_err(|e| e.to_string())? {
            for item in batch.items {
                out.extend(fixture_json(&set, item, &mut cache));
            }
        }
    }
    Ok(out)
}

fn fixture_json(
    set: &kontor::sync::MappingSet,
    item: kontor_connector::Item,
    cache: &mut kontor::mapping::ColumnCache,
) -> Vec<serde_json::Value> {
    use kontor::mapping::Outcome;
    use kontor_connector::Item;
    match item {
        Item::Reject(r) => vec![
            serde_json::json!({"rejected": {"line": r.position.line, "field": r.field, "reason": r.reason}}),
        ],
        Item::Record(rec) => match set
            .for_stream(rec.stream.as_deref())
            .map(|m| m.apply(&rec, cache))
        {
            Some(Outcome::Skipped) => Vec::new(),
            Some(Outcome::Rejected(rej)) => vec![
                serde_json::json!({"rejected": {"line": rec.position.line, "field": rej.field, "reason": rej.reason}}),
            ],
            Some(o) => fixtures::outcome_json(&o),
            None => vec![
                serde_json::json!({"rejected": {"line": rec.position.line, "reason": "no mapping for this stream"}}),
            ],
        },
    }
}
