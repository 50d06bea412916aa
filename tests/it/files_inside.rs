//! Files stay inside (issue 21, finding 3 and the file modes of finding 8): a symlink in an
//! inbox that points outside it is refused unread and quarantined with the reason, a connector
//! path that leaves the config's folder fails `kontor check` and the sync, the store's files
//! are the owner's only, and secret files others can read are warned about.

use std::path::Path;
use std::process::{Command, Output};

fn kontor(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(args)
        .current_dir(dir)
        .env_remove("KONTOR_CONFIG")
        .env("KONTOR_LOG", "warn")
        .output()
        .expect("run kontor")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn config(dir: &Path, path: &str, extra: &str) {
    std::fs::write(
        dir.join("kontor.toml"),
        format!(
            "[store]\nurl = \"sqlite://daten/kontor.db\"\n\n[[connector]]\nname = \"op\"\nkind = \"csv\"\n\
             path = \"{path}\"\nmapping = \"{}/mappings/wawi-offene-posten.toml\"\nmin_age_seconds = 0\nmode = \"incremental\"\n{extra}",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
}

#[cfg(unix)]
#[test]
fn symlinks_and_paths_leaving_the_inbox_are_refused_and_store_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path().join("kontor");
    std::fs::create_dir_all(dir.join("inbox")).unwrap();
    let good = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wawi/offene_posten.csv"),
    )
    .unwrap();
    std::fs::write(dir.join("inbox/op.csv"), good).unwrap();
    // A file elsewhere (an export of another department) and /etc/passwd, linked in.
    std::fs::write(
        ws.path().join("gehaelter.csv"),
        "Name;Gehalt\nGEHEIMER WERT;1\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(ws.path().join("gehaelter.csv"), dir.join("inbox/g.csv")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("inbox/p.csv")).unwrap();
    config(&dir, "inbox/", "");

    let out = kontor(&dir, &["check"]);
    let t = text(&out);
    assert!(
        t.contains("inbox/g.csv points to") && t.contains("/etc/passwd, outside the inbox"),
        "{t}"
    );
    let out = kontor(&dir, &["sync", "op"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "two files refused: {t}");
    assert!(t.contains("inserted=9"), "the real file loads: {t}");
    let list = text(&kontor(&dir, &["quarantine", "list"]));
    assert!(list.ends_with("2 of 2 open rows shown\n"), "{list}");
    assert!(list.contains("outside the inbox"), "{list}");
    for id in list
        .lines()
        .filter(|l| l.contains("outside the inbox"))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
    {
        let show = text(&kontor(&dir, &["quarantine", "show", &id]));
        assert!(
            !show.contains("GEHEIMER WERT") && !show.contains("root:"),
            "{show}"
        );
    }
    // The store: folder and files for the owner only.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.join("daten")), 0o700);
    for f in std::fs::read_dir(dir.join("daten")).unwrap().flatten() {
        if f.path().is_file() {
            assert_eq!(mode(&f.path()), 0o600, "{}", f.path().display());
        }
    }

    // Paths that leave the config's folder: `check` names the key, the sync refuses.
    for path in ["../../../../etc/passwd", "/etc/", "inbox/../../"] {
        config(&dir, path, "");
        let out = kontor(&dir, &["check"]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{path}: {t}");
        assert!(t.contains("outside the config's folder"), "{path}: {t}");
        assert_ne!(kontor(&dir, &["sync", "op"]).status.code(), Some(0));
    }
    // An allow-listed root is fine.
    std::fs::create_dir_all(ws.path().join("exports")).unwrap();
    let root = ws.path().join("exports");
    config(&dir, &format!("{}/", root.display()), "");
    assert_eq!(kontor(&dir, &["check"]).status.code(), Some(1));
    let extra = format!("\n[sync]\nallowed_roots = [\"{}\"]\n", root.display());
    std::fs::write(
        dir.join("kontor.toml"),
        std::fs::read_to_string(dir.join("kontor.toml")).unwrap() + &extra,
    )
    .unwrap();
    let t = text(&kontor(&dir, &["check"]));
    assert!(!t.contains("outside the config's folder"), "{t}");

    // A secret file others can read is warned about.
    config(&dir, "inbox/", "");
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::write(dir.join("secrets/erp"), "geheim").unwrap();
    std::fs::set_permissions(
        dir.join("secrets/erp"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::write(
        dir.join("kontor.toml"),
        std::fs::read_to_string(dir.join("kontor.toml")).unwrap()
            + "\n[[connector]]\nname = \"erp\"\nkind = \"rest\"\nbase_url = \"http://127.0.0.1:9\"\nprofile = \"erpnext\"\n\
               auth = { kind = \"token\", token_file = \"secrets/erp\" }\n",
    )
    .unwrap();
    let t = text(&kontor(&dir, &["check"]));
    assert!(
        t.contains("secret file secrets/erp is readable by group or others (mode 644)"),
        "{t}"
    );
}
