//! The `kontor` binary end to end on temporary workspaces.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) fn kontor(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(args)
        .current_dir(dir)
        .env_remove("KONTOR_CONFIG")
        .env("KONTOR_LOG", "warn")
        .output()
        .expect("run kontor")
}

pub(crate) fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A workspace with the repository's mappings and the given connectors.
fn workspace(connectors: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("mappings");
    std::fs::create_dir(&m).unwrap();
    for f in std::fs::read_dir(repo().join("mappings"))
        .unwrap()
        .flatten()
    {
        if f.path().extension().is_some_and(|e| e == "toml") {
            std::fs::copy(f.path(), m.join(f.file_name())).unwrap();
        }
    }
    std::fs::create_dir(dir.path().join("inbox")).unwrap();
    std::fs::write(
        dir.path().join("kontor.toml"),
        format!("[store]\nurl = \"sqlite://kontor.db\"\n\n{connectors}"),
    )
    .unwrap();
    dir
}

fn copy_fixture(dir: &Path, from: &str, to: &str) {
    std::fs::copy(
        repo().join("tests/fixtures").join(from),
        dir.join("inbox").join(to),
    )
    .unwrap();
}

const DATEV: &str = r#"
[[connector]]
name = "datev-buchungen"
kind = "csv"
path = "inbox/EXTF_Buchungsstapel*.csv"
mapping = "mappings/datev-buchungsstapel.toml"
min_age_seconds = 0

[[connector]]
name = "datev-debitoren"
kind = "csv"
path = "inbox/EXTF_Stammdaten*.csv"
mapping = "mappings/datev-debitoren.toml"
min_age_seconds = 0
"#;

#[test]
fn datev_samples_sync_with_amounts_signs_dates_and_umlauts_and_resync_is_a_no_op() {
    let ws = workspace(DATEV);
    copy_fixture(
        ws.path(),
        "datev/EXTF_Buchungsstapel.csv",
        "EXTF_Buchungsstapel.csv",
    );
    copy_fixture(
        ws.path(),
        "datev/EXTF_Stammdaten.csv",
        "EXTF_Stammdaten.csv",
    );
    let out = kontor(ws.path(), &["sync", "--all"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("read=2 inserted=1 updated=0 unchanged=0 quarantined=0 skipped=1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("read=4 inserted=1 updated=0 unchanged=0 quarantined=0 skipped=3"),
        "{stdout}"
    );

    let db = ws.path().join("kontor.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = kontor::store::open(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let inv = store
            .record("datev-buchungen", "invoice", "RE201802-135")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(inv.data["gross"]["amount"], "5950.00");
        assert_eq!(inv.data["issue_date"], "2018-02-22");
        assert_eq!(inv.customer_no.as_deref(), Some("10000"));
        assert_eq!(
            inv.position.as_deref(),
            Some("inbox/EXTF_Buchungsstapel.csv:4")
        );
        let cust = store
            .record("datev-debitoren", "customer", "10000")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cust.data["name"], "Sabine Mustermann");
        assert_eq!(cust.data["address"]["city"], "Köln");
    });

    let again = kontor(ws.path(), &["sync", "--all"]);
    let (stdout, _) = text(&again);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        stdout.matches("inserted=0 updated=0").count(),
        2,
        "{stdout}"
    );

    let runs = kontor(ws.path(), &["runs", "--json"]);
    let lines: Vec<serde_json::Value> = text(&runs)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|r| r["status"] == "ok"));
}

#[test]
fn datev_credit_notes_get_the_sign_from_the_s_h_flag() {
    let ws = workspace(DATEV);
    // A DATEV export with an invoice, a credit note and a payment for one debtor.
    let header =
        std::fs::read(repo().join("tests/fixtures/datev/EXTF_Buchungsstapel.csv")).unwrap();
    let head: Vec<&[u8]> = header.split(|b| *b == b'\n').take(2).collect();
    let cols = String::from_utf8_lossy(head[1]).split(';').count();
    let row = |vals: &[(usize, &str)]| {
        let mut fields = vec![String::new(); cols];
        for (i, v) in vals {
            fields[*i] = (*v).to_owned();
        }
        fields.join(";")
    };
    let text_rows = [
        row(&[
            (0, "1.190,00"),
            (1, "S"),
            (6, "10000"),
            (7, "8400"),
            (9, "0102"),
            (10, "RE-7"),
        ]),
        row(&[
            (0, "119,00"),
            (1, "H"),
            (6, "10000"),
            (7, "8400"),
            (9, "1502"),
            (10, "GS-1"),
            (11, "RE-7"),
        ]),
        row(&[
            (0, "1.071,00"),
            (1, "H"),
            (6, "10000"),
            (7, "1200"),
            (9, "2002"),
            (10, "RE-7"),
        ]),
    ];
    let mut file = Vec::new();
    file.extend_from_slice(head[0]);
    file.push(b'\n');
    file.extend_from_slice(head[1]);
    file.push(b'\n');
    file.extend_from_slice(text_rows.join("\r\n").as_bytes());
    std::fs::write(ws.path().join("inbox/EXTF_Buchungsstapel_2.csv"), file).unwrap();
    let out = kontor(ws.path(), &["sync", "datev-buchungen"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        // The payment (credit against the bank, RE-7 in Belegfeld 1) is a payment record.
        stdout.contains("read=3 inserted=3 updated=0 unchanged=0 quarantined=0 skipped=0"),
        "{stdout}"
    );
    let preview = kontor(ws.path(), &["preview", "datev-buchungen", "--limit", "10"]);
    let recs: Vec<serde_json::Value> = text(&preview)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cn = recs.iter().find(|r| r["entity"] == "credit_note").unwrap();
    assert_eq!(cn["gross"]["amount"], "119.00");
    assert_eq!(cn["invoice_ref"], "RE-7");
    assert_eq!(cn["issue_date"], "2018-02-15");
    assert_eq!(
        cn["source"]["position"],
        "inbox/EXTF_Buchungsstapel_2.csv:4"
    );
    let paid = recs.iter().find(|r| r["entity"] == "payment").unwrap();
    assert_eq!(
        (
            &paid["invoice_ref"],
            &paid["date"],
            &paid["amount"]["amount"]
        ),
        (
            &serde_json::json!("RE-7"),
            &serde_json::json!("2018-02-20"),
            &serde_json::json!("1071.00")
        )
    );
}

const INVOICES: &str = r#"
[[connector]]
name = "op"
kind = "csv"
path = "inbox"
mapping = "mappings/wawi-offene-posten.toml"
min_age_seconds = 0
# several independent files, each loaded (open items are snapshots by default)
mode = "incremental"
"#;

fn invoice_file(rows: usize, broken: &[usize]) -> String {
    let mut s = String::from(
        "Belegnr;Belegart;Kundennr;Belegdatum;Fällig am;Netto;MwSt;Brutto;Offen;Währung;Bezug\r\n",
    );
    for i in 1..=rows {
        if broken.contains(&i) {
            s.push_str(&format!(
                "RE-{i};RE;00{i};32.13.2026;;1,00;0,19;kaputt;1,19;EUR;\r\n"
            ));
        } else {
            s.push_str(&format!(
                "RE-{i};RE;00{i};01.11.2026;01.12.2026;1,00;0,19;1,19;1,19;EUR;\r\n"
            ));
        }
    }
    s
}

#[test]
fn broken_rows_go_to_quarantine_the_rest_loads_and_replay_after_a_fix() {
    let ws = workspace(INVOICES);
    let csv = invoice_file(40, &[7, 23]);
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&csv);
    std::fs::write(ws.path().join("inbox/op.csv"), bytes).unwrap();
    let out = kontor(ws.path(), &["sync", "op"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(
        stdout.contains("read=40 inserted=38 updated=0 unchanged=0 quarantined=2"),
        "{stdout}"
    );
    let list = kontor(ws.path(), &["quarantine", "list"]);
    let (l, _) = text(&list);
    assert_eq!(l.lines().count(), 2, "{l}");
    assert!(l.contains("inbox/op.csv:8 [Brutto]: gross: `kaputt` is not a number; issue_date: `32.13.2026` is not a date"), "{l}");
    assert!(l.contains("inbox/op.csv:24"), "{l}");
    let id = l.split_whitespace().next().unwrap().to_owned();
    let show = kontor(ws.path(), &["quarantine", "show", &id]);
    assert!(
        text(&show)
            .0
            .contains("raw:       RE-7;RE;007;32.13.2026;;1,00;0,19;kaputt;1,19;EUR;"),
        "{}",
        text(&show).0
    );

    // Replay with the mapping unchanged: still rejected.
    let r = kontor(ws.path(), &["quarantine", "replay"]);
    assert_eq!(r.status.code(), Some(3), "{:?}", text(&r));
    // Ops relax the mapping (no issue date needed, broken amounts as null is not allowed for
    // gross, so give a default): now the rows load.
    let m = ws.path().join("mappings/wawi-offene-posten.toml");
    let fixed = std::fs::read_to_string(&m)
        .unwrap()
        .replacen("issue_date = { column = \"Belegdatum\", date = \"%d.%m.%Y\" }", "issue_date = { column = \"Belegdatum\", date = \"%d.%m.%Y\", on_error = \"null\" }", 1)
        .replacen("gross = { column = \"Brutto\", decimal = \"de\", required = true }", "gross = { column = \"Brutto\", decimal = \"de\", required = true, on_error = \"null\", default = \"0\" }", 1);
    std::fs::write(&m, fixed).unwrap();
    // The store runs the configuration it knows (other nodes may share it): the edited
    // mapping is named, nothing is loaded until it is made the cluster's.
    let r = kontor(ws.path(), &["quarantine", "replay"]);
    let (rs, re) = text(&r);
    assert_eq!(r.status.code(), Some(1), "{rs}{re}");
    assert!(
        re.contains("connector `op`: its mapping mappings/wawi-offene-posten.toml differs")
            && re.contains("--take-over-config"),
        "{re}"
    );
    let r = kontor(ws.path(), &["quarantine", "replay", "--take-over-config"]);
    let (rs, re) = text(&r);
    assert_eq!(r.status.code(), Some(0), "{rs}{re}");
    assert!(rs.contains("op: read=2 inserted=2"), "{rs}");
    assert!(
        text(&kontor(ws.path(), &["quarantine", "list"]))
            .0
            .is_empty()
    );
}

#[test]
fn a_file_with_too_many_bad_rows_loads_nothing() {
    let ws = workspace(INVOICES);
    std::fs::write(ws.path().join("inbox/a.csv"), invoice_file(10, &[1, 2, 3])).unwrap();
    std::fs::write(
        ws.path().join("inbox/b.csv"),
        invoice_file(5, &[]).replace("RE-", "RB-"),
    )
    .unwrap();
    let out = kontor(ws.path(), &["sync", "op"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("inbox/a.csv: refused, 3 of 10 rows rejected (30% > 10%); nothing of this file was loaded"), "{stderr}");
    assert!(stdout.contains("read=15 inserted=5"), "{stdout}");
    // The refused file stays refused until it or the mapping changes; the good one is done.
    let again = kontor(ws.path(), &["sync", "op"]);
    assert!(
        text(&again).0.contains("read=0 inserted=0"),
        "{:?}",
        text(&again)
    );
}

#[test]
fn config_and_mapping_errors_name_file_line_and_key() {
    let ws = workspace(
        r#"
[[connector]]
name = "op"
kind = "csv"
path = "inbox"
mapping = "mappings/broken.toml"
encodign = "utf-8"
"#,
    );
    std::fs::write(ws.path().join("mappings/broken.toml"), "[[target]]\nentity = \"invoice\"\n[target.fields]\nnumber = \"Nr\"\ncustomer_no = { column = \"Kd\", decimal = \"de\" }\ngros = \"B\"\n").unwrap();
    let out = kontor(ws.path(), &["check"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains(
            "mappings/broken.toml:5:15: `customer_no`: `decimal` only applies to numbers and money"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("mappings/broken.toml:6:1: `gros` is not a field of invoice"),
        "{stdout}"
    );

    std::fs::write(ws.path().join("mappings/broken.toml"), "[[target]]\nentity = \"invoice\"\n[target.fields]\nnumber = \"Nr\"\ncustomer_no = \"Kd\"\n").unwrap();
    let out = kontor(ws.path(), &["check"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("kontor.toml:10:1: unknown field `encodign`"),
        "{stdout}"
    );

    let out = kontor(ws.path(), &["sync", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("no connector `nope`"),
        "{:?}",
        text(&out)
    );
}

#[test]
fn missing_files_and_unreachable_databases_are_one_clear_message() {
    let ws = workspace(
        "[[connector]]\nname = \"op\"\nkind = \"csv\"\npath = \"inbox/none.csv\"\nmapping = \"mappings/wawi-offene-posten.toml\"\n",
    );
    let out = kontor(ws.path(), &["sync", "op"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("inbox/none.csv: no such file or folder"),
        "{stderr}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(["sync", "op"])
        .current_dir(ws.path())
        .env(
            "KONTOR_STORE__URL",
            "postgres://kontor:secret@127.0.0.1:1/kontor",
        )
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("cannot open the store postgres://kontor:***@127.0.0.1:1/kontor"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let out = kontor(
        Path::new("/"),
        &["--config", "/nonexistent/kontor.toml", "check"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out)
            .1
            .contains("/nonexistent/kontor.toml:1:1: cannot read the config"),
        "{:?}",
        text(&out)
    );
}

#[test]
fn privacy_erase_lists_first_and_erases_only_with_the_confirmed_count() {
    let ws = workspace(
        "[[connector]]\nname = \"wawi-kunden\"\nkind = \"csv\"\npath = \"inbox/kunden.csv\"\n\
         mapping = \"mappings/wawi-kunden.toml\"\nmin_age_seconds = 0\n",
    );
    copy_fixture(ws.path(), "wawi/kunden.csv", "kunden.csv");
    assert_eq!(kontor(ws.path(), &["sync", "--all"]).status.code(), Some(0));
    // Vague: refused.
    let out = kontor(ws.path(), &["privacy", "erase", "--name", "e"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(
        text(&out).1.contains("give the full name"),
        "{:?}",
        text(&out)
    );
    // Without --confirm: the list, nothing erased (exit 2).
    let args = ["privacy", "erase", "--email", "Info@Mueller-Soehne.de"];
    let out = kontor(ws.path(), &args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("anonymise records"), "{stdout}");
    let total = stdout
        .split("total=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert!(stderr.contains(&format!("--confirm {total}")), "{stderr}");
    let shown = kontor(ws.path(), &["customer", "00042", "--json"]);
    assert!(text(&shown).0.contains("info@mueller-soehne.de"));
    // A wrong count erases nothing; the listed one does.
    let wrong = kontor(ws.path(), &[&args[..], &["--confirm", "99"]].concat());
    assert_eq!(wrong.status.code(), Some(1), "{:?}", text(&wrong));
    let out = kontor(ws.path(), &[&args[..], &["--confirm", &total]].concat());
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(text(&out).0.contains(&format!("erased: total={total}")));
    let shown = kontor(ws.path(), &["customer", "00042", "--json"]);
    assert!(
        !text(&shown).0.contains("info@mueller-soehne.de"),
        "{:?}",
        text(&shown)
    );
}

#[test]
fn connectors_lists_every_profile_and_init_writes_a_stanza() {
    let dir = tempfile::tempdir().unwrap();
    let o = kontor(dir.path(), &["connectors", "--json"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = v["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, kontor_rest::PROFILES);
    let kinds: Vec<&str> = v["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    for k in ["csv", "xml", "rest", "plugin"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    let erp = &v["profiles"][0];
    assert_eq!(erp["streams"][0]["entities"][0], "customer", "{erp}");

    let cfg = dir.path().join("kontor.toml");
    std::fs::write(&cfg, "[store]\nurl = \"sqlite://k.db\"\n").unwrap();
    let o = kontor(
        dir.path(),
        &["init", "--profile", "weclapp", "--out", "kontor.toml"],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let written = std::fs::read_to_string(&cfg).unwrap();
    let t: toml::Table = toml::from_str(&written).unwrap_or_else(|e| panic!("{written}\n{e}"));
    let c = &t["connector"][0];
    assert_eq!(c["profile"].as_str(), Some("weclapp"));
    assert_eq!(c["name"].as_str(), Some("weclapp"));
    assert_eq!(
        c["auth"]["key_env"].as_str(),
        Some("WECLAPP_TOKEN"),
        "secrets by reference: {written}"
    );
    assert!(written.starts_with("[store]"), "appended: {written}");
    // The same name again is refused and the file left as it was.
    let o = kontor(
        dir.path(),
        &["init", "--profile", "weclapp", "--out", "kontor.toml"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("exists already"), "{:?}", text(&o));
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), written);
    let o = kontor(dir.path(), &["init", "--profile", "odoo"]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o).1;
    assert!(
        err.contains("unknown profile `odoo`")
            && kontor_rest::PROFILES.iter().all(|p| err.contains(p)),
        "{err}"
    );
}
