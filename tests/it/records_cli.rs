//! `kontor records` (issue 20 item 7) on both stores: stored records with provenance,
//! filtered, counted, closed ones on request — "did yesterday's invoice arrive?" without SQL.

use crate::common::nodes::{connectors_toml, run, workspace};

both_backends!(records_lists_and_counts_with_provenance_and_closed_ones_on_request);

const OP: &str = "wawi-offene-posten";

async fn records_lists_and_counts_with_provenance_and_closed_ones_on_request(backend: &str) {
    let (_store, guard) = kontor::testing::temp_store(backend).await.unwrap();
    let ws = workspace(guard.url(), &connectors_toml(&[OP], "mode = \"snapshot\""));
    let dir = ws.path();
    let (code, out, err) = run(dir, &["sync", OP]);
    assert_eq!(code, 0, "{out}{err}");

    // RE-2026-1001 was paid: today's export lacks it.
    let file = dir.join("inbox").join(OP).join("offene_posten.csv");
    let bytes = std::fs::read(&file).unwrap();
    let kept: Vec<&[u8]> = bytes
        .split_inclusive(|b| *b == b'\n')
        .filter(|l| !l.starts_with(b"RE-2026-1001;"))
        .collect();
    std::fs::write(&file, kept.concat()).unwrap();
    let (code, out, err) = run(dir, &["sync", OP]);
    assert_eq!(code, 0, "{out}{err}");

    let args = |extra: &[&str]| {
        let mut a = vec![
            "records",
            "--connector",
            OP,
            "--entity",
            "invoice",
            "--customer-no",
            "00042",
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(str::to_owned).collect::<Vec<String>>()
    };
    let call = |extra: &[&str]| {
        let a = args(extra);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run(dir, &refs)
    };

    // Open records only, with connector, position, run and sync time.
    let (code, out, err) = call(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("synced (UTC)"), "{out}");
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert!(
        rows[0].contains("RE-2026-1002")
            && rows[0].contains(&format!("inbox/{OP}/offene_posten.csv:"))
            && rows[0].ends_with("open"),
        "{out}"
    );
    assert!(
        err.contains("1 record(s) (open; --closed also lists closed ones)"),
        "{err}"
    );

    // --closed: the paid invoice too, closed and kept.
    let (code, out, _) = call(&["--closed"]);
    assert_eq!(code, 0);
    let paid = out
        .lines()
        .find(|l| l.contains("RE-2026-1001"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(paid.contains(" closed 20"), "{paid}");

    // Counts.
    assert_eq!(call(&["--count"]).1.trim(), "1");
    assert_eq!(call(&["--count", "--closed"]).1.trim(), "2");
    let (_, out, _) = run(dir, &["records", "--count", "--json", "--closed"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap(),
        serde_json::json!({"count": 9})
    );

    // JSON lines with provenance; the first sync's run loaded the paid invoice.
    let (code, out, _) = call(&["--closed", "--json"]);
    assert_eq!(code, 0);
    let recs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 2, "{out}");
    let paid = recs
        .iter()
        .find(|r| r["external_id"] == "RE-2026-1001")
        .unwrap();
    assert_eq!(paid["connector"], OP);
    assert_eq!(paid["customer_no"], "00042");
    assert_eq!(paid["data"]["number"], "RE-2026-1001");
    assert!(
        paid["closed_at"].is_string() && paid["synced_at"].is_string(),
        "{paid}"
    );
    assert!(paid["run_id"].as_i64().is_some(), "{paid}");
    assert_eq!(
        paid["position"].as_str().unwrap(),
        format!("inbox/{OP}/offene_posten.csv:2")
    );

    // --limit: the rest is counted.
    let (code, out, err) = run(dir, &["records", "--connector", OP, "--limit", "3"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(err.contains("3 of 8 record(s) shown"), "{err}");

    // An unknown entity is named, not an empty list.
    let (code, _, err) = run(dir, &["records", "--entity", "invoices"]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown entity `invoices`"), "{err}");
}
