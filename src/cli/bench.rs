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

fn kontor_sync(dir: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap_or_else(|_| PathBuf::from("kontor")));
    c.arg("sync")
        .arg("rechnungen")
        .args(extra)
        .current_dir(dir)
        .env("KONTOR_LOG", "error")
        .stdout(std::process::Stdio::null());
    c
}

fn write_workspace(dir: &Path, store_url: &str, data: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("mappings"))?;
    std::fs::write(
        dir.join("mappings/rechnungen.toml"),
        kontor::bench::INVOICE_MAPPING,
    )?;
    std::fs::write(
        dir.join("kontor.toml"),
        format!(
            "[store]\nurl = \"{store_url}\"\n\n[sync]\nallowed_roots = [\"{}\"]\n\n\
             [[connector]]\nname = \"rechnungen\"\nkind = \"csv\"\npath = \"{}\"\n\
             mapping = \"mappings/rechnungen.toml\"\nmin_age_seconds = 0\nmode = \"incremental\"\n",
            // The generated file is beside the workspace, not in it; later files of the
            // connector (`rechnungen-*.csv`, see [`write_paid`]) are increments.
            data.parent().unwrap_or(data).display(),
            data.with_file_name("rechnungen*.csv").display()
        ),
    )?;
    Ok(())
}

/// Rows of the increment step.
const INCREMENT: u64 = 100;

/// Where the increment lies: beside `data`, matched by the connector's `rechnungen*.csv`.
fn paid_path(data: &Path) -> PathBuf {
    data.with_file_name("rechnungen-bezahlt.csv")
}

/// The increment at `path`: the first `n` invoices of `data` again, now paid (`Offen` 0,00) —
/// what a WaWi's export of the day's changes looks like.
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
}

pub async fn bench(_cli: &Cli, a: &BenchArgs) -> anyhow::Result<i32> {
    let (rows, backends, dir) = (a.rows, &a.backends, a.dir.as_deref());
    let tmp = tempfile::tempdir()?;
    let root = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&root)?;
    let data = root.join("rechnungen.csv");
    let t = Instant::now();
    let bytes = kontor::bench::write_invoice_export(&data, rows, None)?;
    eprintln!(
        "generated {rows} rows ({:.1} MB, Windows-1252, `;`, decimal comma) in {:.1}s",
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
        write_workspace(&ws, &url, &data)?;
        let paid = paid_path(&data);
        let _ = std::fs::remove_file(&paid);
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
            // Into the full store: 100 invoices paid, in a second file.
            (
                "increment: 100 rows changed (a second file)",
                INCREMENT,
                &[][..],
                true,
            ),
        ] {
            if increment {
                write_paid(&data, &paid, n)?;
            }
            let m = measure(&mut kontor_sync(&ws, extra))?;
            if increment {
                std::fs::remove_file(&paid)?;
            }
            if m.code != 0 {
                anyhow::bail!("{backend} {step}: kontor sync exited with {}", m.code);
            }
            println!(
                "| {backend} | {step} | {n} | {:.2}s | {} | {} |",
                m.wall.as_secs_f64(),
                rate(n, m.wall),
                mib(m.max_rss_kib)
            );
        }
        match backend {
            "sqlite" if have("sqlite3") => {
                let raw = root.join("raw.db");
                let _ = std::fs::remove_file(&raw);
                let mut c = Command::new("sqlite3");
                c.arg(&raw)
                    .args(["-cmd", ".mode csv", "-cmd", ".separator ;"])
                    .arg(format!(".import '{}' t", data.display()));
                let m = measure(&mut c)?;
                println!(
                    "| sqlite | raw `sqlite3 .import` (baseline) | {rows} | {:.2}s | {} | {} |",
                    m.wall.as_secs_f64(),
                    rate(rows, m.wall),
                    mib(m.max_rss_kib)
                );
            }
            "postgres" if have("psql") => {
                let cols: Vec<String> = (1..=12).map(|i| format!("c{i} text")).collect();
                let mut create = Command::new("psql");
                create
                    .arg(&url)
                    .arg("-qc")
                    .arg(format!("CREATE TABLE raw_import ({})", cols.join(", ")));
                measure(&mut create)?;
                let mut c = Command::new("psql");
                c.arg(&url).arg("-qc").arg(format!("\\copy raw_import FROM '{}' WITH (FORMAT csv, DELIMITER ';', HEADER, ENCODING 'WIN1252')", data.display()));
                let m = measure(&mut c)?;
                println!(
                    "| postgres | raw `psql \\copy` (baseline) | {rows} | {:.2}s | {} | {} |",
                    m.wall.as_secs_f64(),
                    rate(rows, m.wall),
                    mib(m.max_rss_kib)
                );
            }
            _ => eprintln!("{backend}: no raw import tool found; baseline skipped"),
        }
    }
    Ok(0)
}
