//! The `kontor` binary with e-invoices and DATEV sources: what `check`, `preview` and `runs`
//! tell ops.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kontor(dir: &Path, args: &[&str]) -> (String, String, i32) {
    let o: Output = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(args)
        .current_dir(dir)
        .env_remove("KONTOR_CONFIG")
        .env("KONTOR_LOG", "warn")
        .output()
        .expect("run kontor");
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_preview_and_runs_tell_ops_about_einvoices_and_datev_systems() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["rechnungen", "datev", "fibu"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    let fx = repo().join("tests/fixtures");
    let bad = std::fs::read_to_string(fx.join("xrechnung/01.01a-INVOICE_uncefact.xml"))
        .unwrap()
        .replace(
            "<ram:GrandTotalAmount>336.9</ram:GrandTotalAmount>",
            "<ram:GrandTotalAmount>337.9</ram:GrandTotalAmount>",
        );
    std::fs::write(d.join("rechnungen/summen.xml"), bad).unwrap();
    std::fs::copy(
        fx.join("zugferd/MustangBeispiel20221026.pdf"),
        d.join("rechnungen/mustang.pdf"),
    )
    .unwrap();
    for sub in ["datev", "fibu"] {
        std::fs::copy(
            fx.join("datev/EXTF_Buchungsstapel.csv"),
            d.join(sub).join("EXTF_Buchungsstapel.csv"),
        )
        .unwrap();
    }
    let mapping = repo().join("mappings/datev-buchungsstapel.toml");
    std::fs::write(
        d.join("kontor.toml"),
        format!(
            "[store]\nurl = \"sqlite://kontor.db\"\n\n\
             [[connector]]\nname = \"eingang\"\nkind = \"xml\"\npath = \"rechnungen\"\n\n\
             [[connector]]\nname = \"datev-buchungen\"\nkind = \"csv\"\npath = \"datev\"\nmin_age_seconds = 0\nmapping = \"{m}\"\n\n\
             [[connector]]\nname = \"fibu\"\nkind = \"csv\"\nsystem = \"fibu\"\npath = \"fibu\"\nmin_age_seconds = 0\nmapping = \"{m}\"\n",
            m = mapping.display()
        ),
    )
    .unwrap();

    // Before any sync: the note about own_vat_ids, once.
    let (out, err, code) = kontor(d, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    let notes = out.lines().filter(|l| l.contains("own_vat_ids")).count();
    assert_eq!(notes, 1, "{out}");

    // preview shows the warning beside the records.
    let (out, err, _) = kontor(d, &["preview", "eingang"]);
    assert!(
        err.contains("warning: ") && err.contains("BR-CO-15"),
        "{err}"
    );
    assert!(out.contains("mustang.pdf#factur-x.xml:"), "{out}");

    let (_, err, code) = kontor(d, &["sync", "--all"]);
    assert_eq!(code, 0, "{err}");
    let (out, _, _) = kontor(d, &["runs", "--json", "--connector", "eingang"]);
    let run: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(run["warnings"], 1, "{run}");
    let (out, _, _) = kontor(d, &["runs"]);
    assert!(out.lines().next().unwrap().contains("warnings"), "{out}");

    // The DATEV connector took its system from the files; the other one, with the same
    // numbers under another system, is pointed out.
    let (out, err, code) = kontor(d, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.contains("same customer numbers") && l.contains("`fibu`"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("`datev:1001:456`") && line.contains("`fibu`"),
        "{line}"
    );
}
