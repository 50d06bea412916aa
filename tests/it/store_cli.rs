//! The store from the command line: only `serve`, `sync` and `migrate` change the schema
//! (read-only commands say "store needs migration"), `migrate --status / --dry-run`,
//! `backup`/`restore` into the other store kind, and store secrets from files that never show.

use kontor::testing::TempPg;
use std::path::Path;
use std::process::Command;

fn kontor(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(args)
        .current_dir(dir)
        .env_remove("KONTOR_STORE__URL")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_commands_never_migrate_and_an_upgrade_is_explicit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("kontor.toml"),
        "[store]\nurl = \"sqlite://kontor.db\"\n",
    )
    .unwrap();

    // No store yet: read-only commands do not create one.
    let (code, out) = kontor(d, &["runs"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("there is no store at") && out.contains("kontor migrate"),
        "{out}"
    );
    assert!(!d.join("kontor.db").exists());

    // A store of the previous release (migrations up to 0004).
    let url = format!("sqlite://{}?mode=rwc", d.join("kontor.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::migrate!("./migrations/sqlite")
        .run_to(4, &pool)
        .await
        .unwrap();
    pool.close().await;
    let pending = sqlx::migrate!("./migrations/sqlite")
        .iter()
        .filter(|m| m.version > 4)
        .count();
    let needs = format!(
        "store needs migration: run `kontor migrate` ({pending} pending: 0005 audit customer, "
    );
    let needs = needs.as_str();
    for args in [
        &["runs"][..],
        &["customer", "Müller"],
        &["lookup", "0221 4711"],
        &["quarantine", "list"],
        &["token", "list"],
    ] {
        let (code, out) = kontor(d, args, &[]);
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(out.contains(needs), "{args:?}: {out}");
    }
    let (code, out) = kontor(d, &["check"], &[]);
    assert_eq!(code, 0, "config errors only: {out}");
    assert!(out.contains(needs), "{out}");
    let (code, out) = kontor(d, &["migrate", "--status"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("0004 front office") && out.contains("applied"),
        "{out}"
    );
    assert!(
        out.contains("0005 audit customer") && out.contains("pending"),
        "{out}"
    );
    let (code, out) = kontor(d, &["migrate", "--dry-run"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("-- 0005 audit customer") && out.contains("CREATE INDEX audit_log_customer"),
        "{out}"
    );
    let (code, _) = kontor(d, &["migrate", "--status"], &[]);
    assert_eq!(code, 1, "a dry run changes nothing");

    // A backup before the upgrade (at version 4), then the upgrade.
    let (code, out) = kontor(d, &["backup", "before-upgrade.jsonl.gz"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("schema version 4"), "{out}");
    let (code, out) = kontor(d, &["backup", "before-upgrade.jsonl.gz"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("exists already"), "{out}");
    let (code, out) = kontor(d, &["migrate"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("applied 0005 audit customer") && out.contains("is up to date"),
        "{out}"
    );
    let (code, out) = kontor(d, &["migrate", "--status"], &[]);
    assert_eq!(code, 0, "{out}");
    let up_to_date = format!(
        "up to date (schema version {})",
        crate::common::latest_schema()
    );
    assert!(out.contains(&up_to_date), "{out}");
    let (code, out) = kontor(
        d,
        &["token", "create", "--role", "sales", "--name", "Kasse"],
        &[],
    );
    assert_eq!(code, 0, "{out}");

    // The old backup restores into a new PostgreSQL database at its own version; the store
    // then says it needs migration until `kontor migrate`.
    let pg = TempPg::create().await.unwrap();
    let env = [("KONTOR_STORE__URL", pg.url.as_str())];
    let (code, out) = kontor(d, &["restore", "before-upgrade.jsonl.gz"], &env);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("`kontor migrate` upgrades it"), "{out}");
    let (code, out) = kontor(d, &["runs"], &env);
    assert!(code == 1 && out.contains(needs), "{out}");
    let (code, out) = kontor(d, &["migrate"], &env);
    assert_eq!(code, 0, "{out}");
    let (code, out) = kontor(
        d,
        &["token", "create", "--role", "ops", "--name", "Ops"],
        &env,
    );
    assert_eq!(code, 0, "{out}");
    // The current store (with its token) moves to PostgreSQL too — but only into an empty one.
    let (code, out) = kontor(d, &["backup", "now.jsonl"], &[]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = kontor(d, &["restore", "now.jsonl"], &env);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the store is not empty: api_tokens (1 rows)"),
        "{out}"
    );
    let pg2 = TempPg::create().await.unwrap();
    let env2 = [("KONTOR_STORE__URL", pg2.url.as_str())];
    let (code, out) = kontor(d, &["restore", "now.jsonl"], &env2);
    assert_eq!(code, 0, "{out}");
    let (code, out) = kontor(d, &["token", "list"], &env2);
    assert!(code == 0 && out.contains("Kasse"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_secrets_come_from_files_and_never_show() {
    const PASSWORD: &str = "g3heim:@/%Pässwort";
    let pg = TempPg::create().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("secrets")).unwrap();
    std::fs::write(d.join("secrets/pg-password"), format!("{PASSWORD}\n")).unwrap();
    // The test server trusts local connections: the password is sent and ignored.
    std::fs::write(
        d.join("kontor.toml"),
        format!(
            "[store]\nurl = \"{}\"\npassword_file = \"secrets/pg-password\"\n",
            pg.url
        ),
    )
    .unwrap();
    let (code, out) = kontor(d, &["migrate"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("postgres://postgres@127.0.0.1"), "{out}");
    let (code, out) = kontor(d, &["backup", "b.jsonl"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(PASSWORD) && !out.contains("g3heim"), "{out}");

    // The whole URL from a file; an unreachable server: the error shows no password.
    std::fs::write(
        d.join("secrets/store-url"),
        "postgres://kontor:g3heim-url@127.0.0.1:1/kontor\n",
    )
    .unwrap();
    std::fs::write(
        d.join("kontor.toml"),
        "[store]\nurl_file = \"secrets/store-url\"\n",
    )
    .unwrap();
    for args in [
        &["runs"][..],
        &["migrate"],
        &["migrate", "--status"],
        &["backup", "c.jsonl"],
        &["restore", "b.jsonl"],
    ] {
        let (code, out) = kontor(d, args, &[("KONTOR_LOG", "trace")]);
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(
            !out.contains("g3heim"),
            "{args:?} shows the password: {out}"
        );
        assert!(
            out.contains("127.0.0.1:1") || out.contains("store-url"),
            "{args:?}: {out}"
        );
    }

    // Mistakes name the file or the key, never a value.
    std::fs::write(
        d.join("kontor.toml"),
        "[store]\nurl = \"postgres://kontor@db/kontor\"\npassword_file = \"secrets/missing\"\n",
    )
    .unwrap();
    let (code, out) = kontor(d, &["runs"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("[store] password_file") && out.contains("secrets/missing"),
        "{out}"
    );
    std::fs::write(
        d.join("kontor.toml"),
        "[store]\nurl = \"postgres://kontor:inline@db/kontor\"\npassword_file = \"secrets/pg-password\"\n",
    )
    .unwrap();
    let (code, out) = kontor(d, &["runs"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("has a password already") && !out.contains(PASSWORD),
        "{out}"
    );
    std::fs::write(
        d.join("kontor.toml"),
        "[store]\nurl = \"sqlite://k.db\"\nurl_file = \"secrets/store-url\"\n",
    )
    .unwrap();
    let (code, out) = kontor(d, &["check"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("kontor.toml:") && out.contains("give either url or url_file"),
        "{out}"
    );
}
