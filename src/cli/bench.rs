//! `kontor bench`: sync throughput and peak memory on a generated German invoice export,
//! side by side with the raw `sqlite3 .import` and `psql \copy` of the same file.

use super::Cli;
use super::args::{BackendKind, BenchCmd};
use kontor::bench::pg::TempPg;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Wall time, peak RSS (KiB) and exit code of a child process.
struct Measured {
    wall: Duration,
    max_rss_kib: i64,
    code: i32,
}

fn measure(cmd: &mut Command) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is a child of this process that has not been waited for yet.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r < 0 {
        anyhow::bail!("wait4: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok(Measured {
        wall: started.elapsed(),
        max_rss_kib: usage.ru_maxrss,
        code,
    })
}

fn kontor_sync(dir: &Path, connector: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap_or_else(|_| PathBuf::from("kontor")));
    c.arg("sync")
        .arg(connector)
        .args(extra)
        .current_dir(dir)
        .env("KONTOR_LOG", "error")
        .stdout(std::process::Stdio::null());
    c
}

/// What the benchmark syncs (`--export`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// A WaWi invoice journal: 12 columns (`kontor::bench::write_invoice_export`).
    Invoices,
    /// A DATEV EXTF Buchungsstapel: 120 columns (`kontor::bench::datev`).
    Datev,
}

/// The names an export's benchmark uses.
struct ExportFiles {
    /// The connector (and its mapping file's name).
    connector: &'static str,
    /// The generated export.
    file: &'static str,
    /// The connector's file pattern: the export and its increment.
    pattern: &'static str,
    /// The increment's file.
    increment: &'static str,
    /// The mapping's text.
    mapping: &'static str,
}

impl ExportKind {
    fn files(self) -> ExportFiles {
        match self {
            ExportKind::Invoices => ExportFiles {
                connector: "rechnungen",
                file: "rechnungen.csv",
                pattern: "rechnungen*.csv",
                increment: "rechnungen-bezahlt.csv",
                mapping: kontor::bench::INVOICE_MAPPING,
            },
            ExportKind::Datev => ExportFiles {
                connector: "buchungen",
                file: "EXTF_Buchungsstapel.csv",
                pattern: "EXTF_Buchungsstapel*.csv",
                increment: "EXTF_Buchungsstapel-zahlungen.csv",
                mapping: kontor::bench::datev::MAPPING,
            },
        }
    }

    /// Lines before the column names, which the raw importers skip.
    fn preamble(self) -> usize {
        match self {
            ExportKind::Invoices => 0,
            ExportKind::Datev => kontor::bench::datev::PREAMBLE_LINES,
        }
    }

    /// Writes `rows` rows at `path`; returns the file's size.
    fn write(self, path: &Path, rows: u64) -> std::io::Result<u64> {
        match self {
            ExportKind::Invoices => kontor::bench::write_invoice_export(path, rows, None),
            ExportKind::Datev => kontor::bench::datev::write_buchungsstapel(path, rows, 50_000),
        }
    }

    /// The increment beside `data`: what the next export of the day's changes brings for its
    /// first `n` rows (invoices paid); returns its rows.
    fn write_increment(self, data: &Path, n: u64) -> anyhow::Result<(PathBuf, u64)> {
        let path = data.with_file_name(self.files().increment);
        let rows = match self {
            ExportKind::Invoices => {
                write_paid(data, &path, n)?;
                n
            }
            ExportKind::Datev => kontor::bench::datev::write_payments(data, &path, n)?,
        };
        Ok((path, rows))
    }
}

fn write_workspace(
    dir: &Path,
    store_url: &str,
    data: &Path,
    export: ExportKind,
) -> anyhow::Result<()> {
    let ExportFiles {
        connector,
        pattern,
        mapping,
        ..
    } = export.files();
    std::fs::create_dir_all(dir.join("mappings"))?;
    std::fs::write(dir.join(format!("mappings/{connector}.toml")), mapping)?;
    std::fs::write(
        dir.join("kontor.toml"),
        format!(
            "[store]\nurl = \"{store_url}\"\n\n[sync]\nallowed_roots = [\"{}\"]\n\n\
             [[connector]]\nname = \"{connector}\"\nkind = \"csv\"\npath = \"{}\"\n\
             mapping = \"mappings/{connector}.toml\"\nmin_age_seconds = 0\nmode = \"incremental\"\n",
            // The generated file is beside the workspace, not in it; later files of the
            // connector (the increment, see [`ExportKind::write_increment`]) are increments.
            data.parent().unwrap_or(data).display(),
            data.with_file_name(pattern).display()
        ),
    )?;
    Ok(())
}

/// Rows of the increment step.
const INCREMENT: u64 = 100;

/// The invoice journal's increment at `path`: the first `n` invoices of `data` again, now
/// paid (`Offen` 0,00) — what a WaWi's export of the day's changes looks like.
fn write_paid(data: &Path, path: &Path, n: u64) -> anyhow::Result<()> {
    use std::io::BufRead;
    let mut out = Vec::new();
    let lines = std::io::BufReader::new(std::fs::File::open(data)?).split(b'\n');
    for (i, line) in lines.take(n as usize + 1).enumerate() {
        let line = line?;
        if i == 0 {
            out.extend_from_slice(&line);
        } else {
            // Column 11 of 12 is the open amount.
            let mut cols: Vec<&[u8]> = line.split(|b| *b == b';').collect();
            if cols.len() == 12 {
                cols[10] = b"0,00";
            }
            out.extend_from_slice(&cols.join(&b';'));
        }
        out.push(b'\n');
    }
    std::fs::write(path, out)?;
    Ok(())
}

/// Columns of the file's header line (after `preamble` lines).
fn columns(data: &Path, preamble: usize) -> anyhow::Result<usize> {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(std::fs::File::open(data)?).split(b'\n');
    let header = lines.nth(preamble).transpose()?.unwrap_or_default();
    Ok(header.iter().filter(|b| **b == b';').count() + 1)
}

fn rate(rows: u64, d: Duration) -> String {
    format!("{:.0}", rows as f64 / d.as_secs_f64())
}

fn mib(kib: i64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The columns a sync writes for every record (what the floor's raw import loads).
const STORED: &str = "connector, entity, external_id, customer_no, ref_no, data, hash, position, run_id, synced_at, first_seen_at";

/// Prints a result row.
fn row(backend: &str, step: &str, n: u64, m: &Measured) {
    println!(
        "| {backend} | {step} | {n} | {:.2}s | {} | {} |",
        m.wall.as_secs_f64(),
        rate(n, m.wall),
        mib(m.max_rss_kib)
    );
}

/// The floor's step: the raw tool loading the records kontor stored (`n` rows from `csv`)
/// into an index-less table — less than the store's own writes (no indexes, no upsert).
fn floor_step(tool: &str, n: u64, csv: &Path) -> anyhow::Result<String> {
    Ok(format!(
        "raw `{tool}` of the {n} records kontor stored ({:.0} MB as CSV; floor)",
        std::fs::metadata(csv)?.len() as f64 / 1e6
    ))
}

/// The rows a raw tool's table holds, as the tool counts them (`program args… "SELECT
/// count(*) …"`): what its import loaded, whatever the file's quoting.
fn loaded(program: &str, args: &[&str]) -> anyhow::Result<u64> {
    let out = Command::new(program).args(args).output()?;
    if !out.status.success() {
        anyhow::bail!("{program}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

/// `sqlite3 .import` of `file` into a new, index-less table of a new database `db`.
fn sqlite_import(db: &Path, file: &Path, separator: &str, skip: usize) -> anyhow::Result<Measured> {
    let _ = std::fs::remove_file(db);
    let mut c = Command::new("sqlite3");
    c.arg(db)
        .args([
            "-cmd",
            ".mode csv",
            "-cmd",
            &format!(".separator {separator}"),
        ])
        .arg(format!(".import --skip {skip} '{}' t", file.display()));
    let m = measure(&mut c)?;
    if m.code != 0 {
        anyhow::bail!(
            "sqlite3 .import of {} exited with {}",
            file.display(),
            m.code
        );
    }
    Ok(m)
}

/// Runs one psql command.
fn psql(url: &str, command: &str) -> anyhow::Result<Measured> {
    let mut c = Command::new("psql");
    c.arg(url).arg("-qc").arg(command);
    let m = measure(&mut c)?;
    if m.code != 0 {
        anyhow::bail!("psql exited with {}: {command}", m.code);
    }
    Ok(m)
}

/// `psql \copy` of `from` (CSV with `options`) into a new table of `cols` text columns.
fn psql_copy(
    url: &str,
    table: &str,
    cols: usize,
    from: &str,
    options: &str,
) -> anyhow::Result<Measured> {
    let defs: Vec<String> = (1..=cols).map(|i| format!("c{i} text")).collect();
    psql(url, &format!("CREATE TABLE {table} ({})", defs.join(", ")))?;
    psql(
        url,
        &format!("\\copy {table} FROM {from} WITH (FORMAT csv, {options})"),
    )
}

/// `kontor bench` (the sync benchmark, or `bench api` / `bench cti`).
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: Option<BenchCmd>,
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Backends to measure (PostgreSQL: a throwaway database on $KONTOR_TEST_PG_URL).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres"
    )]
    pub backends: Vec<BackendKind>,
    /// Keep the generated file and stores here instead of a temporary folder.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// What to sync: a 12-column invoice journal, or a 120-column DATEV Buchungsstapel.
    #[arg(long, value_enum, default_value = "invoices")]
    pub export: ExportKind,
}

pub async fn bench(_cli: &Cli, a: &BenchArgs) -> anyhow::Result<i32> {
    let (rows, backends, dir, export) = (a.rows, &a.backends, a.dir.as_deref(), a.export);
    let tmp = tempfile::tempdir()?;
    let root = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&root)?;
    let data = root.join(export.files().file);
    let t = Instant::now();
    let bytes = export.write(&data, rows)?;
    eprintln!(
        "generated {rows} rows of {} ({:.1} MB, Windows-1252, `;`, decimal comma) in {:.1}s",
        data.display(),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    println!("| backend | step | rows | wall | rows/s | peak RSS MiB |");
    println!("|---|---|---:|---:|---:|---:|");
    for kind in backends {
        let backend = kind.as_str();
        let (url, _guard) = match kind {
            BackendKind::Sqlite => (
                format!(
                    "sqlite://{}",
                    root.join(format!("bench-{rows}.db")).display()
                ),
                None,
            ),
            BackendKind::Postgres => {
                let pg = TempPg::create().await?;
                (pg.url.clone(), Some(pg))
            }
        };
        let ws = root.join(format!("ws-{backend}"));
        write_workspace(&ws, &url, &data, export)?;
        let _ = std::fs::remove_file(data.with_file_name(export.files().increment));
        // (step, rows it syncs, flags, whether the increment file lies beside the export)
        for (step, n, extra, increment) in [
            ("first sync", rows, &[][..], false),
            ("re-sync, unchanged file", rows, &[][..], false),
            (
                "re-sync --reprocess (all rows unchanged)",
                rows,
                &["--reprocess"][..],
                false,
            ),
            // Into the full store: the first 100 invoices paid, in a second file.
            ("increment", INCREMENT, &[][..], true),
        ] {
            let (mut step, mut n) = (step.to_owned(), n);
            let increment = if increment {
                let (path, rows) = export.write_increment(&data, n)?;
                (step, n) = (
                    format!("increment: {rows} rows changed (a second file)"),
                    rows,
                );
                Some(path)
            } else {
                None
            };
            let m = measure(&mut kontor_sync(&ws, export.files().connector, extra))?;
            if let Some(path) = increment {
                std::fs::remove_file(path)?;
            }
            if m.code != 0 {
                anyhow::bail!("{backend} {step}: kontor sync exited with {}", m.code);
            }
            row(backend, &step, n, &m);
        }
        match backend {
            "sqlite" if have("sqlite3") => {
                let raw = root.join("raw.db");
                let m = sqlite_import(&raw, &data, ";", export.preamble())?;
                row("sqlite", "raw `sqlite3 .import` (baseline)", rows, &m);
                // The floor: the same tool loading what kontor stored.
                let store = root.join(format!("bench-{rows}.db"));
                let csv = root.join("records.csv");
                let mut dump = Command::new("sqlite3");
                dump.args(["-csv", "-header"])
                    .arg(&store)
                    .arg(format!("SELECT {STORED} FROM records"))
                    .stdout(std::fs::File::create(&csv)?);
                if measure(&mut dump)?.code != 0 {
                    anyhow::bail!("sqlite3: the records could not be exported");
                }
                let floor = root.join("floor.db");
                let m = sqlite_import(&floor, &csv, ",", 0)?;
                let db = floor.display().to_string();
                let n = loaded("sqlite3", &[&db, "SELECT count(*) FROM t"])?;
                row("sqlite", &floor_step("sqlite3 .import", n, &csv)?, n, &m);
                std::fs::remove_file(&csv)?;
                std::fs::remove_file(&floor)?;
            }
            "postgres" if have("psql") => {
                let cols = columns(&data, export.preamble())?;
                // The EXTF header line is not CSV: `tail` leaves it out, in a pipe beside psql.
                let from = match export.preamble() {
                    0 => format!("'{}'", data.display()),
                    n => format!("PROGRAM 'tail -n +{} \"{}\"'", n + 1, data.display()),
                };
                let m = psql_copy(
                    &url,
                    "raw_import",
                    cols,
                    &from,
                    "DELIMITER ';', HEADER, ENCODING 'WIN1252'",
                )?;
                row("postgres", "raw `psql \\copy` (baseline)", rows, &m);
                let csv = root.join("records.csv");
                psql(
                    &url,
                    &format!(
                        "\\copy (SELECT {STORED} FROM records) TO '{}' WITH (FORMAT csv, HEADER)",
                        csv.display()
                    ),
                )?;
                let m = psql_copy(
                    &url,
                    "raw_records",
                    STORED.split(',').count(),
                    &format!("'{}'", csv.display()),
                    "HEADER",
                )?;
                let n = loaded("psql", &[&url, "-tAc", "SELECT count(*) FROM raw_records"])?;
                row("postgres", &floor_step("psql \\copy", n, &csv)?, n, &m);
                std::fs::remove_file(&csv)?;
            }
            _ => eprintln!("{backend}: no raw import tool found; baseline skipped"),
        }
    }
    Ok(0)
}
