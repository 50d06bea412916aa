//! The command line as clap parses it: every command, flag and argument.

use super::{connector, front, identity, mapping, quarantine, token, user};
use clap::{Parser, Subcommand};
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
    /// How fast calls reach the desks: `--streams` desks on the event stream while a PBX
    /// posts `--rate` calls per second (webhook → event latency, the webhook's round trip).
    Cti {
        #[arg(long, default_value_t = 50)]
        rate: u32,
        #[arg(long, default_value_t = 200)]
        streams: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
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
