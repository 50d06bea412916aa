//! A mapping edit, before it is applied: `kontor preview --diff` compares the source through the
//! edited mapping with the store (nothing written), and `kontor check` warns when the edit
//! drops a field the merged view shows.

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn kontor(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(args)
        .current_dir(dir)
        .env("KONTOR_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn preview_diff_shows_a_mapping_edit_and_check_warns_about_a_dropped_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("inbox")).unwrap();
    std::fs::create_dir_all(d.join("mappings")).unwrap();
    std::fs::copy(
        repo().join("tests/fixtures/wawi/kunden.csv"),
        d.join("inbox/kunden.csv"),
    )
    .unwrap();
    let mapping = std::fs::read_to_string(repo().join("mappings/wawi-kunden.toml")).unwrap();
    std::fs::write(d.join("mappings/kunden.toml"), &mapping).unwrap();
    std::fs::write(
        d.join("kontor.toml"),
        "[store]\nurl = \"sqlite://k.db\"\n[[connector]]\nname = \"kunden\"\nkind = \"csv\"\npath = \"inbox/kunden.csv\"\n\
         mapping = \"mappings/kunden.toml\"\nmin_age_seconds = 0\n",
    )
    .unwrap();
    let (code, _, err) = kontor(d, &["sync", "kunden"]);
    assert_eq!(code, 0, "{err}");

    // Unchanged mapping: everything unchanged.
    let (code, out, err) = kontor(d, &["preview", "kunden", "--diff", "--json"]);
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (
            r["insert"].as_u64(),
            r["update"].as_u64(),
            r["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(7)),
        "{r}"
    );

    // The edit: e-mail no longer mapped, payment terms from another column.
    let edited = mapping.replace("email = \"E-Mail\"\n", "").replace(
        "payment_terms_days = \"Zahlungsziel (Tage)\"",
        "payment_terms_days = { value = \"14\" }",
    );
    assert_ne!(edited, mapping);
    std::fs::write(d.join("mappings/kunden.toml"), &edited).unwrap();
    let (code, out, err) = kontor(
        d,
        &["preview", "kunden", "--diff", "--json", "--samples", "50"],
    );
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (
            r["insert"].as_u64(),
            r["update"].as_u64(),
            r["unchanged"].as_u64()
        ),
        (Some(0), Some(7), Some(0)),
        "{r}"
    );
    let samples = r["samples"].as_array().unwrap();
    let email = samples
        .iter()
        .find(|s| s["external_id"] == "00042" && s["field"] == "email")
        .expect("email change of 00042");
    assert_eq!(
        (email["old"].as_str(), email["new"].is_null()),
        (Some("info@mueller-soehne.de"), true)
    );
    let terms = samples
        .iter()
        .find(|s| s["external_id"] == "00042" && s["field"] == "payment_terms_days")
        .expect("payment terms change");
    assert_eq!(
        (terms["old"].as_i64(), terms["new"].as_i64()),
        (Some(30), Some(14))
    );
    // Nothing was written: a sync would still change the 7.
    let (_, out, _) = kontor(d, &["preview", "kunden", "--diff", "--json"]);
    let again: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(again["update"], 7);
    // The human form.
    let (_, out, _) = kontor(d, &["preview", "kunden", "--diff"]);
    assert!(
        out.starts_with("read=7 insert=0 update=7 unchanged=0 close=0 quarantine=0"),
        "{out}"
    );
    assert!(
        out.contains("customer 00042  email: \"info@mueller-soehne.de\" → null"),
        "{out}"
    );

    // `kontor check` warns: the merged view shows the e-mail, stored records have it.
    let (code, out, err) = kontor(d, &["check"]);
    assert_eq!(code, 0, "a warning, not an error: {out}{err}");
    assert!(
        out.contains("no longer fills `email` of customer records")
            && out.contains("7 stored record(s)"),
        "{out}"
    );
    assert!(!out.contains("`payment_terms_days`"), "still filled: {out}");
}
