//! Mistakes caught before the first sync (issue 20 item 2): `kontor check` reads the real
//! files' headers, date patterns people write are understood or named, `preview` groups
//! its errors and fails when nothing would load.

use crate::common::nodes::{connectors_toml, run, workspace};
use std::path::Path;

const OP: &str = "wawi-offene-posten";

/// The open-items workspace (no store is created: check and preview never write).
fn open_items() -> tempfile::TempDir {
    workspace("sqlite://kontor.db", &connectors_toml(&[OP], ""))
}

fn mapping(dir: &Path) -> std::path::PathBuf {
    dir.join("mappings/wawi-offene-posten.toml")
}

fn edit_mapping(dir: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(mapping(dir)).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(mapping(dir), text.replace(from, to)).unwrap();
}

/// The export now calls the customer number `Kto-Nr.` (the file is cp1252: bytes replaced).
fn rename_header_column(dir: &Path) {
    let f = dir.join("inbox").join(OP).join("offene_posten.csv");
    let bytes = std::fs::read(&f).unwrap();
    let at = bytes.windows(8).position(|w| w == b"Kundennr").unwrap();
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(b"Kto-Nr.");
    out.extend_from_slice(&bytes[at + 8..]);
    std::fs::write(&f, out).unwrap();
}

fn line_of(dir: &Path, needle: &str) -> usize {
    std::fs::read_to_string(mapping(dir))
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap()
        + 1
}

#[test]
fn check_names_a_mapped_column_missing_from_the_real_header_with_a_suggestion() {
    let ws = open_items();
    let dir = ws.path();
    rename_header_column(dir);
    // The typo of the issue: `Kto-Nr` for the export's `Kto-Nr.`.
    edit_mapping(dir, "\"Kundennr\"", "\"Kto-Nr\"");
    let line = line_of(dir, "customer_no = { column = \"Kto-Nr\"");
    let (code, out, err) = run(dir, &["check"]);
    assert_eq!(code, 1, "{out}{err}");
    let msg = out
        .lines()
        .find(|l| l.contains("`Kto-Nr`"))
        .unwrap_or_else(|| panic!("no diagnostic for Kto-Nr: {out}"));
    for want in [
        format!("mappings/wawi-offene-posten.toml:{line}:"),
        format!("connector `{OP}` (kontor.toml:"),
        "(`customer_no`)".into(),
        format!("is not in the header of inbox/{OP}/offene_posten.csv"),
        "did you mean `Kto-Nr.`?".into(),
        "headers are: `Belegnr`, `Belegart`, `Kto-Nr.`, `Belegdatum`".into(),
    ] {
        assert!(msg.contains(&want), "`{want}` missing in: {msg}");
    }
    // Once per column, although both targets read it.
    assert_eq!(out.matches("`Kto-Nr`").count(), 1, "{out}");

    // Fixed as suggested: check passes.
    edit_mapping(dir, "\"Kto-Nr\"", "\"Kto-Nr.\"");
    let (code, out, err) = run(dir, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn date_patterns_as_people_write_them_are_understood_or_named_in_strftime() {
    let ws = open_items();
    let dir = ws.path();
    edit_mapping(dir, "date = \"%d.%m.%Y\"", "date = \"TT.MM.JJJJ\"");
    let (code, out, err) = run(dir, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(dir, &["preview", OP, "--limit", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("\"issue_date\":\"2026-10-02\"")
            && out.contains("\"due_date\":\"2026-11-01\""),
        "{out}{err}"
    );
    assert!(
        !err.contains("rejected, ") || err.contains(" 0 rejected"),
        "{err}"
    );

    // `mm` is minutes as often as months: rejected, naming the strftime form.
    edit_mapping(dir, "date = \"TT.MM.JJJJ\"", "date = \"dd.mm.yyyy\"");
    let (code, out, err) = run(dir, &["check"]);
    assert_eq!(code, 1, "{out}{err}");
    let line = line_of(dir, "dd.mm.yyyy");
    assert!(
        out.contains(&format!("mappings/wawi-offene-posten.toml:{line}:"))
            && out.contains("date format `dd.mm.yyyy` is ambiguous")
            && out.contains("`%d.%m.%Y`"),
        "{out}"
    );
}

#[test]
fn preview_groups_identical_errors_and_fails_when_nothing_would_load() {
    let ws = open_items();
    let dir = ws.path();
    rename_header_column(dir);
    edit_mapping(dir, "\"Kundennr\"", "\"Kto-Nr\"");
    let (code, out, err) = run(dir, &["preview", OP]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    // The file: what the sync would do, where the mapping says it, the headers.
    assert!(
        err.contains(&format!("inbox/{OP}/offene_posten.csv: a sync refuses this file: column `Kto-Nr` of `customer_no`"))
            && err.contains("did you mean `Kto-Nr.`?"),
        "{err}"
    );
    // Nine identical row errors: printed once, then counted, with the real headers.
    let row_error = "customer_no: column `Kto-Nr` not found in the header";
    assert_eq!(err.matches(row_error).count(), 2, "{err}");
    assert!(
        err.contains(&format!(
            "9 rows: Kto-Nr: {row_error}; headers are: `Belegnr`, `Belegart`, `Kto-Nr.`"
        )),
        "{err}"
    );
    assert!(err.contains("0 record(s) shown, 9 rejected"), "{err}");

    // Fixed: exit 0, and a truncated preview says how much there is.
    edit_mapping(dir, "\"Kto-Nr\"", "\"Kto-Nr.\"");
    let (code, out, err) = run(dir, &["preview", OP, "--limit", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(err.contains("2 of 9 record(s) shown, 0 rejected"), "{err}");
    let (code, _, err) = run(dir, &["preview", OP]);
    assert_eq!(code, 0);
    assert!(err.contains("9 record(s) shown, 0 rejected"), "{err}");
}

fn export(dir: &Path) -> std::path::PathBuf {
    dir.join("inbox").join(OP).join("offene_posten.csv")
}

/// The diagnostics of `kontor check` that name the export.
fn about_export(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.contains(&format!("inbox/{OP}/offene_posten.csv")))
        .collect()
}

#[test]
fn check_names_the_delimiter_of_a_file_read_with_the_wrong_one() {
    let ws = open_items();
    let dir = ws.path();
    edit_mapping(dir, "delimiter = \";\"", "delimiter = \",\"");
    let (code, out, err) = run(dir, &["check"]);
    assert_eq!(code, 1, "{out}{err}");
    let found = about_export(&out);
    assert_eq!(found.len(), 1, "{out}");
    for want in [
        format!("connector `{OP}`"),
        "the file looks `;`-separated: set delimiter = \";\"".into(),
    ] {
        assert!(
            found[0].contains(&want),
            "`{want}` missing in: {}",
            found[0]
        );
    }

    // Fixed as suggested: check passes.
    edit_mapping(dir, "delimiter = \",\"", "delimiter = \";\"");
    let (code, out, err) = run(dir, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn check_names_a_tab_separated_file_once_not_per_column() {
    let ws = open_items();
    let dir = ws.path();
    let bytes: Vec<u8> = std::fs::read(export(dir))
        .unwrap()
        .into_iter()
        .map(|b| if b == b';' { b'\t' } else { b })
        .collect();
    std::fs::write(export(dir), bytes).unwrap();
    let (code, out, err) = run(dir, &["check"]);
    assert_eq!(code, 1, "{out}{err}");
    let found = about_export(&out);
    assert_eq!(found.len(), 1, "{out}");
    assert!(
        found[0].contains("header has 1 column")
            && found[0].contains("the file looks tab-separated: set delimiter = \"\\t\""),
        "{}",
        found[0]
    );
    assert!(!out.contains("is not in the header"), "{out}");
}

#[test]
fn check_names_the_line_the_column_names_are_on_below_a_title_line() {
    let ws = open_items();
    let dir = ws.path();
    let mut bytes = b"Offene Posten, Stand 04.12.2026\r\n".to_vec();
    bytes.extend(std::fs::read(export(dir)).unwrap());
    std::fs::write(export(dir), bytes).unwrap();
    let (code, out, err) = run(dir, &["check"]);
    assert_eq!(code, 1, "{out}{err}");
    let found = about_export(&out);
    assert_eq!(found.len(), 1, "{out}");
    assert!(
        found[0].contains("the column names seem to be on line 2 (skip_lines = 1)"),
        "{}",
        found[0]
    );

    // Fixed as suggested: check passes.
    edit_mapping(
        dir,
        "delimiter = \";\"",
        "delimiter = \";\"\nskip_lines = 1",
    );
    let (code, out, err) = run(dir, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
}
