//! Command line: parsing, logging, dispatch. Exit codes: 0 ok, 1 failed, 3 done with
//! quarantined rows (sync).

mod backup;
mod bench;
mod bench_api;
mod check;
mod check_data;
mod check_layout;
mod connector;
mod customer;
mod demo;
mod front;
mod identity;
mod item;
mod mapping;
mod preview;
mod progress;
mod quarantine;
mod records;
mod runs;
mod serve;
mod sync;
mod token;
mod user;

use clap::{Parser, Subcommand};
use kontor::config::{self, Config};
use kontor::diag::Diagnostic;
use kontor::store::Open;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "kontor",
    version,
    about = "ERP/WaWi data for the front office: sync, merge, look up"
)]
pub struct Cli {
    /// Config file (default: $KONTOR_CONFIG or ./kontor.toml).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Log format: human (default on a terminal) or json.
    #[arg(long, global = true, value_parser = ["human", "json"])]
    pub log_format: Option<String>,
    /// Make this configuration the cluster's when it differs from the one the store records
    /// (commands that change shared data, and `serve`, refuse otherwise).
    #[arg(long, global = true)]
    pub take_over_config: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate the config and every mapping; print each problem as file:line:col: message.
    Check,
    /// Run the mapping fixtures; print a diff for each failing case.
    TestMappings {
        /// Mapping files (default: all configured mappings and mappings/*.toml).
        files: Vec<PathBuf>,
        /// Write the current output of fixture-folder cases as their expected output
        /// (review the diff before committing it).
        #[arg(long)]
        bless: bool,
    },
    /// Mapping files: propose one for an unfamiliar export (`mapping new`).
    #[command(subcommand)]
    Mapping(mapping::MappingCmd),
    /// Read and map without writing: canonical records as JSON lines on stdout, rejects on stderr.
    Preview {
        connector: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Read this file instead of the connector's path.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Compare with the store instead: how many records a sync would insert, update,
        /// leave, close or quarantine, with field-level samples (old → new).
        #[arg(long)]
        diff: bool,
        /// Field changes to show with --diff.
        #[arg(long, default_value_t = 10)]
        samples: usize,
        /// --diff as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// One sync run per connector.
    Sync {
        connectors: Vec<String>,
        #[arg(long)]
        all: bool,
        /// Read files again although they were loaded already.
        #[arg(long)]
        reprocess: bool,
        /// Load a snapshot although it is much smaller than what is open now (min_snapshot_ratio),
        /// and read files refused earlier again.
        #[arg(long)]
        force: bool,
    },
    /// Recent sync runs.
    Runs {
        #[arg(long)]
        connector: Option<String>,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Stored records with provenance (connector, source position, synced at, run), newest
    /// first; read-only.
    Records {
        #[arg(long)]
        connector: Option<String>,
        #[arg(long)]
        entity: Option<String>,
        #[arg(long)]
        customer_no: Option<String>,
        /// Also records that left their source (paid, deleted, missing from a snapshot).
        #[arg(long)]
        closed: bool,
        /// Only how many.
        #[arg(long)]
        count: bool,
        /// One JSON object per record (with `--count`: `{"count": N}`).
        #[arg(long)]
        json: bool,
        /// 0 = all.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Rejected rows: list, show, replay after a mapping fix, dismiss refused files.
    #[command(subcommand)]
    Quarantine(quarantine::QuarantineCmd),
    /// Connectors' stored data: list, rename, retire.
    #[command(subcommand)]
    Connector(connector::ConnectorCmd),
    /// Search customers; with one hit (or --id) the merged view.
    Customer {
        /// Customer number, name, city, VAT ID, phone, e-mail, invoice or order number.
        query: String,
        /// QUERY is a customer id.
        #[arg(long)]
        id: bool,
        #[arg(long)]
        json: bool,
    },
    /// Stock per warehouse of an item: by number (leading zeros kept; also its start), EAN or
    /// words of its name; read-only. Exit 1 when nothing matches.
    Item {
        query: String,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Caller-ID lookup: the customers a phone number belongs to.
    Lookup {
        number: String,
        #[arg(long)]
        json: bool,
    },
    /// Identity resolution: suggestions, merge, split.
    #[command(subcommand)]
    Identity(identity::IdentityCmd),
    /// API tokens.
    #[command(subcommand)]
    Token(token::TokenCmd),
    /// People who sign in to the web page: local accounts (argon2id), lockout, sessions.
    #[command(subcommand)]
    User(user::UserCmd),
    /// Data protection: erase or export a person, apply retention.
    #[command(subcommand)]
    Privacy(front::PrivacyCmd),
    /// Reminders: suggest now, list what is due.
    #[command(subcommand)]
    Reminders(front::RemindersCmd),
    /// Serve the HTTP API.
    Serve {
        /// Address to listen on (default: [server] listen).
        #[arg(long)]
        listen: Option<String>,
    },
    /// The connector conformance kit against a configured connector (scratch stores only).
    Conformance {
        connector: String,
        #[arg(long)]
        json: bool,
    },
    /// Ask the local server's /healthz (container health checks): exit 0 when healthy, 2
    /// when degraded, 1 when it does not answer.
    Health {
        /// host:port (default: [server] listen).
        #[arg(long)]
        addr: Option<String>,
        /// Exit 0 whenever the server answers, degraded or not (a liveness check: restarting
        /// a node does not mend a refused file or a stale source).
        #[arg(long)]
        live: bool,
    },
    /// Apply store migrations (`serve` and `sync` do it too; other commands never change the
    /// schema and say "store needs migration" instead).
    Migrate {
        /// Show applied and pending migrations; exit 1 when the store needs migration.
        #[arg(long, conflicts_with = "dry_run")]
        status: bool,
        /// Print the SQL of the pending migrations without running it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a consistent backup of the store (also while `kontor serve` writes): every table,
    /// portable between SQLite and PostgreSQL; gzip when FILE ends in .gz, `-` for stdout.
    Backup { file: PathBuf },
    /// Restore a backup into an empty store of either kind (a new SQLite file or an empty
    /// PostgreSQL database); all or nothing.
    Restore { file: PathBuf },
    /// Build a demo workspace from bundled sample exports (DATEV/WaWi CSV, XRechnung and
    /// openTRANS XML, a mocked ERPNext), sync it into a fresh SQLite store, print one merged
    /// customer.
    Demo {
        /// Workspace folder (default: ./kontor-demo); its store is replaced on every run.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Then serve the API (and print a demo token) until Ctrl-C.
        #[arg(long)]
        serve: bool,
        /// Address for --serve.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Benchmark: sync a generated invoice export into each backend (rows/s, peak RSS) next
    /// to the raw `sqlite3 .import` / `psql \copy` of the same file; `bench api`: the HTTP
    /// API under load.
    #[command(args_conflicts_with_subcommands = true)]
    Bench {
        #[command(subcommand)]
        what: Option<BenchCmd>,
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Backends to measure (PostgreSQL: a throwaway database on $KONTOR_TEST_PG_URL).
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
        /// Keep the generated file and stores here instead of a temporary folder.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Merged view, caller-ID and search of `kontor serve` under load from `wrk` (a second
    /// process), next to a plain one-query axum handler over the same database.
    Api {
        #[arg(long, default_value_t = 100_000)]
        customers: u64,
        #[arg(long, default_value_t = 5_000_000)]
        documents: u64,
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
        /// Seconds per measured phase.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Concurrent connections of the load generator; each phase runs at each.
        #[arg(long, value_delimiter = ',', default_value = "4,8,32")]
        connections: Vec<u32>,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// The benchmark's baseline server (one route, one query).
    #[command(hide = true)]
    BaselineServer {
        #[arg(long)]
        store: String,
        #[arg(long)]
        listen: String,
    },
}

/// Libraries whose debug output drowns kontor's: kept at `warn` unless `KONTOR_LOG` names
/// them itself.
const NOISY: &[&str] = &[
    "rustls",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "tower",
    "tower_http",
    "mio",
    "want",
    "tokio_util",
    "quick_xml",
];

/// The log filter: `KONTOR_LOG` (default `info`). A bare level (`debug`) applies to kontor's
/// own crates, with the others at `warn`; directives (`kontor=debug,sqlx=info`) are taken as
/// they are, the noisy libraries kept at `warn` unless named.
pub fn log_filter(spec: Option<&str>) -> String {
    let spec = spec
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("info");
    let levels = ["trace", "debug", "info", "warn", "error", "off"];
    let mut out = if levels.contains(&spec.to_ascii_lowercase().as_str()) {
        format!(
            "warn,kontor={spec},kontor_connector={spec},kontor_csv={spec},kontor_xml={spec},kontor_rest={spec},kontor_plugin={spec}"
        )
    } else {
        spec.to_owned()
    };
    for n in NOISY {
        let named = spec
            .split(',')
            .any(|d| d.trim().split(['=', '[', ':']).next() == Some(n));
        if !named {
            out.push_str(&format!(",{n}=warn"));
        }
    }
    out
}

pub fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let spec = std::env::var("KONTOR_LOG").ok();
    let filter = EnvFilter::try_new(log_filter(spec.as_deref())).unwrap_or_else(|e| {
        eprintln!("KONTOR_LOG: {e}; using the default");
        EnvFilter::new(log_filter(None))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json_logs(cli) {
        JSON.store(true, std::sync::atomic::Ordering::Relaxed);
        // Every line carries the fields of its spans (a run's connector and id, the unit).
        builder
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .flatten_event(true)
            .init();
    } else {
        builder
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .init();
    }
}

pub async fn main(cli: Cli) -> i32 {
    let result = match &cli.command {
        Command::Check => check::check(&cli).await,
        Command::TestMappings { files, bless } => check::test_mappings(&cli, files, *bless).await,
        Command::Mapping(cmd) => mapping::run(&cli, cmd).await,
        Command::Preview {
            connector,
            limit,
            file,
            diff,
            samples,
            json,
        } => {
            let d = diff.then_some(preview::DiffArgs {
                samples: *samples,
                json: *json,
            });
            preview::preview(&cli, connector, *limit, file.as_deref(), d).await
        }
        Command::Sync {
            connectors,
            all,
            reprocess,
            force,
        } => sync::sync(&cli, connectors, *all, *reprocess, *force).await,
        Command::Runs {
            connector,
            json,
            limit,
        } => runs::runs(&cli, connector.as_deref(), *json, *limit).await,
        Command::Records {
            connector,
            entity,
            customer_no,
            closed,
            count,
            json,
            limit,
        } => {
            let a = records::RecordsArgs {
                filter: kontor::store::RecordFilter {
                    connector: connector.clone(),
                    entity: entity.clone(),
                    customer_no: customer_no.clone(),
                    closed: *closed,
                },
                count: *count,
                json: *json,
                limit: *limit,
            };
            records::records(&cli, &a).await
        }
        Command::Quarantine(cmd) => quarantine::run(&cli, cmd).await,
        Command::Connector(cmd) => connector::run(&cli, cmd).await,
        Command::Customer { query, id, json } => customer::customer(&cli, query, *id, *json).await,
        Command::Lookup { number, json } => customer::lookup(&cli, number, *json).await,
        Command::Item { query, json, limit } => item::item(&cli, query, *json, *limit).await,
        Command::Identity(cmd) => identity::run(&cli, cmd).await,
        Command::Token(cmd) => token::run(&cli, cmd).await,
        Command::User(cmd) => user::run(&cli, cmd).await,
        Command::Privacy(cmd) => front::privacy(&cli, cmd).await,
        Command::Reminders(cmd) => front::reminders(&cli, cmd).await,
        Command::Serve { listen } => serve::run(&cli, listen.as_deref()).await,
        Command::Health { addr, live } => serve::health(&cli, addr.as_deref(), *live).await,
        Command::Conformance { connector, json } => conformance(&cli, connector, *json).await,
        Command::Migrate { status, dry_run } => backup::migrate(&cli, *status, *dry_run).await,
        Command::Backup { file } => backup::backup(&cli, file).await,
        Command::Restore { file } => backup::restore(&cli, file).await,
        Command::Demo { dir, serve, listen } => {
            demo::demo(&cli, dir.as_deref(), serve.then_some(listen.as_str())).await
        }
        Command::Bench {
            what: None,
            rows,
            backends,
            dir,
        } => bench::bench(&cli, *rows, backends, dir.as_deref()).await,
        Command::Bench {
            what:
                Some(BenchCmd::Api {
                    customers,
                    documents,
                    backends,
                    seconds,
                    connections,
                    dir,
                }),
            ..
        } => {
            let args = bench_api::ApiBenchArgs {
                customers: *customers,
                documents: *documents,
                backends: backends.clone(),
                seconds: *seconds,
                connections: connections.clone(),
                dir: dir.clone(),
            };
            bench_api::bench_api(&cli, &args).await
        }
        Command::Bench {
            what: Some(BenchCmd::BaselineServer { store, listen }),
            ..
        } => bench_api::baseline_server(store, listen).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if json_logs(&cli) {
                tracing::error!("{e:#}");
            } else {
                eprintln!("error: {e:#}");
            }
            1
        }
    }
}

/// Whether log lines are JSON (`--log-format json`, or `KONTOR_LOG_JSON` off a terminal).
pub fn json_logs(cli: &Cli) -> bool {
    match cli.log_format.as_deref() {
        Some("json") => true,
        Some(_) => false,
        None => !std::io::stderr().is_terminal() && std::env::var_os("KONTOR_LOG_JSON").is_some(),
    }
}

/// Set once the log format is known: stderr notes become log lines.
static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A line for the operator on stderr; in JSON mode a log line like every other.
pub fn banner(_cli: &Cli, text: &str) {
    note(tracing::Level::INFO, text);
}

/// A status line on stderr (human mode: as written; JSON mode: a log line of `level`).
pub fn note(level: tracing::Level, text: &str) {
    if !JSON.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("{text}");
    } else if level == tracing::Level::ERROR {
        tracing::error!("{}", text.trim());
    } else if level == tracing::Level::WARN {
        tracing::warn!("{}", text.trim());
    } else {
        tracing::info!("{}", text.trim());
    }
}

/// Loads the config or prints its problems.
pub fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let path = config::locate(cli.config.as_deref());
    Config::load(&path).map_err(|d| anyhow::anyhow!(diags_text(&d)))
}

pub fn diags_text(d: &[Diagnostic]) -> String {
    d.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Opens the store for a command that only reads: it must exist at this kontor's schema
/// version (never migrated here: "store needs migration: run `kontor migrate`").
pub async fn open_store(cfg: &Config) -> anyhow::Result<kontor::store::DynStore> {
    open_store_as(cfg, Open::Current).await
}

/// Opens the store as `mode` says; only `serve`, `sync` and `migrate` pass [`Open::Migrate`].
pub async fn open_store_as(cfg: &Config, mode: Open) -> anyhow::Result<kontor::store::DynStore> {
    let url = cfg.store.connect_url().map_err(anyhow::Error::msg)?;
    Ok(kontor::store::open_with(&url, mode).await?)
}

/// Commands that change shared data (sync, identity decisions, lifecycle, retention) run
/// only with the cluster's configuration: a partial or outdated configuration must change
/// nothing. Records this one when the store has none; `--take-over-config` makes it the
/// cluster's.
pub async fn cluster_gate(
    cli: &Cli,
    cfg: &Config,
    store: &kontor::store::DynStore,
) -> anyhow::Result<()> {
    use kontor::cluster::{Fingerprint, Verdict, reconcile};
    let ours = Fingerprint::of(cfg);
    let node = format!("{} (kontor cli)", kontor::sync::node_name());
    match reconcile(store, cfg, &ours, &node, cli.take_over_config).await? {
        v @ Verdict::Differs { .. } => anyhow::bail!(v.refusal().unwrap_or_default()),
        Verdict::TookOver { differences, .. } => {
            note(
                tracing::Level::WARN,
                &format!(
                    "this configuration is the cluster's now (--take-over-config): {}; nodes running another one change nothing until they load it (SIGHUP)",
                    differences.join("; ")
                ),
            );
            Ok(())
        }
        Verdict::Recorded | Verdict::Same => Ok(()),
    }
}

async fn conformance(cli: &Cli, name: &str, json: bool) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    let Some(c) = cfg.connector(name) else {
        anyhow::bail!("no connector `{name}` in {}", cfg.label);
    };
    let report = kontor::conformance::run(&cfg, c).await;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for c in &report.checks {
            let v = match c.verdict {
                kontor::conformance::Verdict::Pass => "PASS",
                kontor::conformance::Verdict::Fail => "FAIL",
                kontor::conformance::Verdict::Skip => "skip",
            };
            println!("{v}  {:<55} {}", c.name, c.detail);
        }
    }
    Ok(if report.failed() { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn a_bare_level_is_kontors_and_the_noisy_libraries_stay_at_warn() {
        let f = log_filter(Some("debug"));
        assert!(
            f.starts_with("warn,kontor=debug,kontor_connector=debug,kontor_csv=debug"),
            "{f}"
        );
        assert!(
            f.contains(",rustls=warn") && f.contains(",hyper=warn"),
            "{f}"
        );
        assert_eq!(log_filter(None), log_filter(Some("info")));
        // Directives are taken as written; a library named there keeps its level.
        let f = log_filter(Some("kontor=trace,rustls=debug"));
        assert!(f.starts_with("kontor=trace,rustls=debug,"), "{f}");
        assert!(!f.contains("rustls=warn") && f.contains("h2=warn"), "{f}");
        for spec in [None, Some("debug"), Some("kontor::sync=debug,sqlx=info")] {
            assert!(
                tracing_subscriber::EnvFilter::try_new(log_filter(spec)).is_ok(),
                "{spec:?}"
            );
        }
    }
}
