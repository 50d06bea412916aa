//! Command line: parsing, logging, dispatch. Exit codes: 0 ok, 1 failed, 3 done with
//! quarantined rows (sync).

mod args;
mod backup;
mod bench;
mod bench_api;
mod bench_cti;
mod bench_reload;
mod check;
mod check_data;
mod check_layout;
mod connector;
mod connectors;
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
mod wrk;

pub use args::{BenchCmd, Cli, Command, LogFormat};
use kontor::config::{self, Config};
use kontor::diag::Diagnostic;
use kontor::store::Open;
use std::io::IsTerminal;

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
        Command::TestMappings(a) => check::test_mappings(&cli, a).await,
        Command::Mapping(cmd) => mapping::run(&cli, cmd).await,
        Command::Preview(a) => preview::preview(&cli, a).await,
        Command::Sync(a) => sync::sync(&cli, a).await,
        Command::Runs(a) => runs::runs(&cli, a).await,
        Command::Records(a) => records::records(&cli, a).await,
        Command::Quarantine(cmd) => quarantine::run(&cli, cmd).await,
        Command::Connector(cmd) => connector::run(&cli, cmd).await,
        Command::Connectors { json } => connectors::list(*json),
        Command::Init { profile, name, out } => {
            connectors::init(profile, name.as_deref(), out.as_deref())
        }
        Command::Customer(a) => customer::customer(&cli, a).await,
        Command::Lookup(a) => customer::lookup(&cli, a).await,
        Command::Item(a) => item::item(&cli, a).await,
        Command::Identity(cmd) => identity::run(&cli, cmd).await,
        Command::Token(cmd) => token::run(&cli, cmd).await,
        Command::User(cmd) => user::run(&cli, cmd).await,
        Command::Privacy(cmd) => front::privacy(&cli, cmd).await,
        Command::Reminders(cmd) => front::reminders(&cli, cmd).await,
        Command::Serve { listen } => serve::run(&cli, listen.as_deref()).await,
        Command::Health(a) => serve::health(&cli, a).await,
        Command::Conformance { connector, json } => conformance(&cli, connector, *json).await,
        Command::Migrate(a) => backup::migrate(&cli, a).await,
        Command::Backup { file } => backup::backup(&cli, file).await,
        Command::Restore { file } => backup::restore(&cli, file).await,
        Command::Demo(a) => demo::demo(&cli, a).await,
        Command::Bench(b) => match &b.what {
            None => bench::bench(&cli, b).await,
            Some(BenchCmd::Api(a)) => bench_api::bench_api(&cli, a).await,
            Some(BenchCmd::Cti(a)) => bench_cti::bench_cti(&cli, a).await,
            Some(BenchCmd::BaselineServer { store, listen }) => {
                bench_api::baseline_server(store, listen).await
            }
        },
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
    match cli.log_format {
        Some(LogFormat::Json) => true,
        Some(LogFormat::Human) => false,
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
