//! The command line as clap parses it: every command, flag and argument.

use super::{
    backup, bench, bench_api, bench_cti, check, connector, customer, demo, front, identity, item,
    mapping, preview, quarantine, records, runs, serve, sync, token, user,
};
use clap::{Parser, Subcommand, ValueEnum};
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
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Make this configuration the cluster's when it differs from the one the store records
    /// (commands that change shared data, and `serve`, refuse otherwise).
    #[arg(long, global = true)]
    pub take_over_config: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written (`--log-format`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

/// A store kind the benchmarks measure (`--backends`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate the config and every mapping; print each problem as file:line:col: message.
    Check,
    /// Run the mapping fixtures; print a diff for each failing case.
    TestMappings(check::TestMappingsArgs),
    /// Mapping files: propose one for an unfamiliar export (`mapping new`).
    #[command(subcommand)]
    Mapping(mapping::MappingCmd),
    /// Read and map without writing: canonical records as JSON lines on stdout, rejects on stderr.
    Preview(preview::PreviewArgs),
    /// One sync run per connector.
    Sync(sync::SyncArgs),
    /// Recent sync runs.
    Runs(runs::RunsArgs),
    /// Stored records with provenance (connector, source position, synced at, run), newest
    /// first; read-only.
    Records(records::RecordsArgs),
    /// Rejected rows: list, show, replay after a mapping fix, dismiss refused files.
    #[command(subcommand)]
    Quarantine(quarantine::QuarantineCmd),
    /// The connector kinds and built-in REST profiles, with what each reads (entities,
    /// increment, rate limit).
    Connectors {
        #[arg(long)]
        json: bool,
    },
    /// Print a commented `[[connector]]` stanza for a built-in profile (`--out FILE` appends
    /// it to a kontor.toml).
    Init {
        #[arg(long)]
        profile: String,
        /// Connector name (default: the profile's).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Connectors' stored data: list, rename, retire.
    #[command(subcommand)]
    Connector(connector::ConnectorCmd),
    /// Search customers; with one hit (or --id) the merged view.
    Customer(customer::CustomerArgs),
    /// Stock per warehouse of an item: by number (leading zeros kept; also its start), EAN or
    /// words of its name; read-only. Exit 1 when nothing matches.
    Item(item::ItemArgs),
    /// Caller-ID lookup: the customers a phone number belongs to.
    Lookup(customer::LookupArgs),
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
    Health(serve::HealthArgs),
    /// Apply store migrations (`serve` and `sync` do it too; other commands never change the
    /// schema and say "store needs migration" instead).
    Migrate(backup::MigrateArgs),
    /// Write a consistent backup of the store (also while `kontor serve` writes): every table,
    /// portable between SQLite and PostgreSQL; gzip when FILE ends in .gz, `-` for stdout.
    Backup { file: PathBuf },
    /// Restore a backup into an empty store of either kind (a new SQLite file or an empty
    /// PostgreSQL database); all or nothing.
    Restore { file: PathBuf },
    /// Build a demo workspace from bundled sample exports (DATEV/WaWi CSV, XRechnung and
    /// openTRANS XML, a mocked ERPNext), sync it into a fresh SQLite store, print one merged
    /// customer.
    Demo(demo::DemoArgs),
    /// Benchmark: sync a generated invoice export into each backend (rows/s, peak RSS) next
    /// to the raw `sqlite3 .import` / `psql \copy` of the same file; `bench api`: the HTTP
    /// API under load.
    #[command(args_conflicts_with_subcommands = true)]
    Bench(bench::BenchArgs),
}

#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Merged view, caller-ID and search of `kontor serve` under load from `wrk` (a second
    /// process), next to a plain one-query axum handler over the same database.
    Api(bench_api::ApiBenchArgs),
    /// How fast calls reach the desks: `--streams` desks on the event stream while a PBX
    /// posts `--rate` calls per second (webhook → event latency, the webhook's round trip).
    Cti(bench_cti::CtiBenchArgs),
    /// The benchmark's baseline server (one route, one query).
    #[command(hide = true)]
    BaselineServer {
        #[arg(long)]
        store: String,
        #[arg(long)]
        listen: String,
    },
}
