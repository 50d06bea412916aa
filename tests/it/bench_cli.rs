//! `kontor bench` as documented (docs/benchmarks.md): a small run on both stores. Found while
//! measuring issue 22: the generated file lies beside the benchmark's workspace, which the
//! file-root check refused, so every `kontor bench` failed at its first sync.

use crate::cli_e2e::{kontor, text};

#[test]
fn kontor_bench_syncs_the_generated_export_into_both_stores() {
    let dir = tempfile::tempdir().unwrap();
    let out = kontor(
        dir.path(),
        &[
            "bench",
            "--rows",
            "3000",
            "--backends",
            "sqlite,postgres",
            "--dir",
            dir.path().to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    for backend in ["sqlite", "postgres"] {
        for step in [
            "first sync",
            "re-sync, unchanged file",
            "re-sync --reprocess (all rows unchanged)",
        ] {
            assert!(
                stdout.contains(&format!("| {backend} | {step} | 3000 |")),
                "{backend} {step}: {stdout}"
            );
        }
        assert!(
            stdout.contains(&format!(
                "| {backend} | increment: 100 rows changed (a second file) | 100 |"
            )),
            "{backend} increment: {stdout}"
        );
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
