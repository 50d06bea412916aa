//! `kontor bench` as documented (docs/benchmarks.md): a small run on both stores. Found while
//! measuring issue 22: the generated file lies beside the benchmark's workspace, which the
//! file-root check refused, so every `kontor bench` failed at its first sync.

use crate::cli_e2e::{kontor, text};
use std::path::Path;

/// `kontor bench --rows 3000` on both stores with `extra` flags, kept in `dir`: checks that it
/// succeeds and that each backend's table has every `steps` row ("step | rows"); returns its
/// output.
fn bench(dir: &Path, extra: &[&str], steps: &[&str]) -> String {
    let mut args = vec!["bench", "--rows", "3000", "--backends", "sqlite,postgres"];
    args.extend_from_slice(extra);
    args.extend(["--dir", dir.to_str().unwrap()]);
    let out = kontor(dir, &args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    for backend in ["sqlite", "postgres"] {
        for step in steps {
            assert!(
                stdout.contains(&format!("| {backend} | {step} |")),
                "{backend} {step}: {stdout}"
            );
        }
    }
    stdout
}

#[test]
fn kontor_bench_syncs_the_generated_export_into_both_stores() {
    let dir = tempfile::tempdir().unwrap();
    bench(
        dir.path(),
        &[],
        &[
            "first sync | 3000",
            "re-sync, unchanged file | 3000",
            "re-sync --reprocess (all rows unchanged) | 3000",
            "increment: 100 rows changed (a second file) | 100",
        ],
    );
    // The 120-column DATEV Buchungsstapel (issue 17): the EXTF header line is not CSV, the
    // raw importers skip it; the increment is the payments of the first 100 postings' 95
    // invoices (every 20th posting is a credit note).
    let datev = dir.path().join("datev");
    std::fs::create_dir_all(&datev).unwrap();
    let stdout = bench(
        &datev,
        &["--export", "datev"],
        &[
            "first sync | 3000",
            "re-sync, unchanged file | 3000",
            "increment: 95 rows changed (a second file) | 95",
        ],
    );
    // The raw importers read the same file (where this machine has them; a failed import
    // fails the benchmark).
    for (tool, raw) in [
        ("sqlite3", "raw `sqlite3 .import`"),
        ("psql", "raw `psql \\copy`"),
    ] {
        let here = std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if here {
            assert!(
                stdout.contains(&format!("{raw} (baseline) | 3000 |")),
                "{stdout}"
            );
        }
    }
    // A backend it does not know is refused by the parser, naming the ones it knows.
    let out = kontor(
        dir.path(),
        &["bench", "--rows", "10", "--backends", "mysql"],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("sqlite") && stderr.contains("postgres"),
        "{stderr}"
    );
}
