//! Backup and restore: a store moves SQLite → PostgreSQL → SQLite (and the other way) with
//! every table identical; a backup taken while a writer commits is consistent; restore refuses
//! stores with data or another schema version and damaged files, and then commits nothing.

use chrono::{DateTime, Utc};
use kontor::store::backup::{backup, restore};
use kontor::store::*;
use kontor::testing::{TempGuard, TempPg, temp_store};
use serde_json::{Value, json};

mod support;
use support::*;

both_backends!(
    a_store_moves_to_the_other_kind_and_back_with_every_table,
    a_backup_taken_while_a_writer_commits_is_consistent,
    restore_refuses_data_other_versions_and_damaged_files,
    every_column_type_round_trips_exactly,
);

async fn a_store_moves_to_the_other_kind_and_back_with_every_table(backend: &str) {
    let w = busy_world(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kontor.jsonl.gz");
    let s = backup(w._guard.url(), &file).await.unwrap();
    assert_eq!(
        (s.backend.as_str(), s.schema_version),
        (backend, crate::common::latest_schema())
    );
    let (_, source) = read_dump(&file);
    for t in [
        "api_tokens",
        "identity_decisions",
        "activities",
        "reminders",
        "tickets",
        "audit_log",
        "sync_runs",
        "checkpoints",
        "quarantine",
        "records",
        "customer_keys",
        "tombstones",
        "schedule_slots",
        "customer_aliases",
    ] {
        assert!(!source[t].1.is_empty(), "{t} has rows in the source");
    }

    // Into the other kind: a brand-new database (PostgreSQL: no schema at all).
    let (moved, guard): (DynStore, TempGuard) = if backend == "sqlite" {
        let pg = TempPg::create().await.unwrap();
        restore(&pg.url, &file).await.unwrap();
        (
            open_with(&pg.url, Open::Current).await.unwrap(),
            TempGuard::Pg(pg),
        )
    } else {
        let d = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", d.path().join("moved.db").display());
        restore(&url, &file).await.unwrap();
        (
            open_with(&url, Open::Current).await.unwrap(),
            TempGuard::Dir(d, url),
        )
    };
    let (_, target) = dump(guard.url(), dir.path(), "moved.jsonl").await;
    let pg_types = if backend == "postgres" {
        &source
    } else {
        &target
    };
    assert_eq!(
        source.keys().collect::<Vec<_>>(),
        target.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    let (a, b) = (normalized(&source, pg_types), normalized(&target, pg_types));
    for (t, rows) in &a {
        assert_eq!(rows, &b[t], "table {t}");
    }
    assert_eq!(api_view(&w.store).await, api_view(&moved).await);
    // Derived indexes are rebuilt (SQLite's complaint search) and ids are not reused.
    let (cols, rows) = &source["tickets"];
    let terms_at = cols.iter().position(|(c, _)| c == "terms").unwrap();
    let terms: Vec<String> = rows[0][terms_at]
        .as_str()
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert!(!moved.tickets_matching(&terms, 5).await.unwrap().is_empty());
    let max_id = |t: &str| {
        source[t]
            .1
            .iter()
            .filter_map(|r| r[0].as_i64())
            .max()
            .unwrap()
    };
    let new_run = moved.start_run("extra", "node-b").await.unwrap();
    assert!(new_run > max_id("sync_runs"), "{new_run}");

    // And back into a new store of the source kind: exactly the source (to the microsecond
    // where PostgreSQL was in between), plus the run added on the way.
    let moved_file = dir.path().join("moved-2.jsonl");
    backup(guard.url(), &moved_file).await.unwrap();
    let (fresh, back) = temp_store(backend).await.unwrap();
    drop(fresh);
    restore(back.url(), &moved_file).await.unwrap();
    let (_, round) = dump(back.url(), dir.path(), "round.jsonl").await;
    let (a, b) = if backend == "postgres" {
        (source.clone(), round.clone())
    } else {
        (normalized(&source, &target), normalized(&round, &target))
    };
    for (t, (_, rows)) in &a {
        let extra = usize::from(t == "sync_runs");
        assert_eq!(rows.len() + extra, b[t].1.len(), "table {t}");
        assert!(rows.iter().all(|r| b[t].1.contains(r)), "table {t}");
    }
}

/// A writer that holds the backup at its first write until the test opens the gate.
struct Gate {
    entered: Option<tokio::sync::oneshot::Sender<()>>,
    open: std::sync::mpsc::Receiver<()>,
    out: std::fs::File,
}

impl std::io::Write for Gate {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(entered) = self.entered.take() {
            let _ = entered.send(());
            let _ = self.open.recv();
        }
        self.out.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Two tables that a writer fills in one transaction each (`aa_feed` is read before any
/// kontor table, `zz_feed` after all of them). The backup is held half-way while the writer
/// commits: both tables must still come from the same moment.
async fn a_backup_taken_while_a_writer_commits_is_consistent(backend: &str) {
    async fn prepared(kind: &str) -> TempGuard {
        let (_store, g) = temp_store(kind).await.unwrap();
        for sql in [
            "CREATE TABLE aa_feed (n BIGINT PRIMARY KEY, pad TEXT NOT NULL)",
            "CREATE TABLE zz_feed (n BIGINT PRIMARY KEY)",
        ] {
            exec(kind, g.url(), sql, None).await;
        }
        g
    }
    async fn exec(kind: &str, url: &str, sql: &str, n: Option<i64>) {
        if kind == "sqlite" {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
            for part in sql.split(';') {
                sqlx::query(sqlx::AssertSqlSafe(part.to_owned()))
                    .bind(n)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            for part in sql.split(';') {
                sqlx::query(sqlx::AssertSqlSafe(part.to_owned()))
                    .bind(n)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
        }
    }
    const PAIR: &str = "INSERT INTO aa_feed (n, pad) VALUES ($1, repeat('x', 2000));INSERT INTO zz_feed (n) VALUES ($1)";
    const PAIR_SQLITE: &str = "INSERT INTO aa_feed (n, pad) VALUES ($1, printf('%2000s', 'x'));INSERT INTO zz_feed (n) VALUES ($1)";
    let pair = if backend == "sqlite" {
        PAIR_SQLITE
    } else {
        PAIR
    };
    let g = prepared(backend).await;
    let url = g.url().to_owned();
    // ~6 MB before `zz_feed`: more than the backup buffers, so it waits at the gate mid-way.
    let prefill = if backend == "sqlite" {
        "INSERT INTO aa_feed (n, pad) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3000) SELECT n, printf('%2000s', 'x') FROM s;\
         INSERT INTO zz_feed (n) SELECT n FROM aa_feed"
    } else {
        "INSERT INTO aa_feed (n, pad) SELECT n, repeat('x', 2000) FROM generate_series(1, 3000) n;INSERT INTO zz_feed (n) SELECT n FROM aa_feed"
    };
    exec(backend, &url, prefill, None).await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.jsonl");
    let (entered_tx, entered) = tokio::sync::oneshot::channel();
    let (open_tx, open) = std::sync::mpsc::channel();
    let gate = Gate {
        entered: Some(entered_tx),
        open,
        out: std::fs::File::create(&file).unwrap(),
    };
    let backup_task = {
        let url = url.clone();
        tokio::spawn(async move { kontor::store::backup::backup_to(&url, Box::new(gate)).await })
    };
    entered.await.unwrap();
    // The backup is under way (its snapshot taken, `aa_feed` being read): 20 more pairs.
    for n in 3001..=3020 {
        exec(backend, &url, pair, Some(n)).await;
    }
    open_tx.send(()).unwrap();
    let s = backup_task.await.unwrap().unwrap();
    assert!(s.rows >= 6000, "{s:?}");

    let (_, tables) = read_dump(&file);
    assert_eq!(
        tables["aa_feed"].1.len(),
        3000,
        "the rows of the moment the backup began"
    );
    assert_eq!(
        tables["zz_feed"].1.len(),
        3000,
        "zz_feed from the same moment as aa_feed"
    );
    let target = prepared(other(backend)).await;
    restore(target.url(), &file).await.unwrap();
    let restored = open_with(target.url(), Open::Current).await.unwrap();
    assert_eq!(restored.count_records(None).await.unwrap(), 0);
}

async fn restore_refuses_data_other_versions_and_damaged_files(backend: &str) {
    let (store, guard) = temp_store(backend).await.unwrap();
    store
        .create_token("kasse", "sales", None, "hash-1")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.jsonl");
    backup(guard.url(), &file).await.unwrap();

    let err = restore(guard.url(), &file).await.unwrap_err().to_string();
    assert!(
        err.contains("the store is not empty: api_tokens (1 rows)"),
        "{err}"
    );

    // A store at another schema version (an older one here) is refused with both versions.
    let (old_url, _old) = blank(backend).await;
    match backend {
        "sqlite" => {
            let pool = sqlx::SqlitePool::connect(&format!("{old_url}?mode=rwc"))
                .await
                .unwrap();
            sqlx::migrate!("./migrations/sqlite")
                .run_to(4, &pool)
                .await
                .unwrap();
        }
        _ => {
            let pool = sqlx::PgPool::connect(&old_url).await.unwrap();
            sqlx::migrate!("./migrations/postgres")
                .run_to(4, &pool)
                .await
                .unwrap();
        }
    }
    let err = restore(&old_url, &file).await.unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "is at schema version 4 and the backup at {}",
            crate::common::latest_schema()
        )),
        "{err}"
    );

    // A file cut short or changed restores nothing; the intact file then restores.
    let text = std::fs::read_to_string(&file).unwrap();
    let (target_url, _t) = blank(backend).await;
    let cut = dir.path().join("cut.jsonl");
    std::fs::write(&cut, &text[..text.trim_end().rfind('\n').unwrap() + 1]).unwrap();
    let err = restore(&target_url, &cut).await.unwrap_err().to_string();
    assert!(err.contains("incomplete"), "{err}");
    let changed = dir.path().join("changed.jsonl");
    std::fs::write(&changed, text.replace("\"kasse\"", "\"kassa\"")).unwrap();
    let err = restore(&target_url, &changed)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("checksum does not match"), "{err}");
    let newer = dir.path().join("newer.jsonl");
    let applied = text
        .find("\"migrations\":[")
        .expect("the header lists its migrations");
    let end = applied + text[applied..].find(']').unwrap();
    let mut newer_text = text.clone();
    newer_text.insert_str(end, ",9999");
    std::fs::write(&newer, newer_text).unwrap();
    let err = restore(&target_url, &newer).await.unwrap_err().to_string();
    assert!(err.contains("comes from a newer kontor"), "{err}");
    let not_a_backup = dir.path().join("x.csv");
    std::fs::write(&not_a_backup, "Kundennr;Name\n").unwrap();
    let err = restore(&target_url, &not_a_backup)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a kontor backup"), "{err}");
    restore(&target_url, &file).await.unwrap();
    let restored = open_with(&target_url, Open::Current).await.unwrap();
    assert_eq!(restored.tokens().await.unwrap().len(), 1);
}

/// A table a later migration might add, with every kind of column, in both stores; the
/// backup includes it without being told.
async fn every_column_type_round_trips_exactly(backend: &str) {
    const SQLITE: &str = "CREATE TABLE zz_types (id INTEGER PRIMARY KEY, b BLOB, d TEXT, j TEXT, day TEXT, ts TEXT, flag INTEGER, r REAL, t TEXT)";
    const PG: &str = "CREATE TABLE zz_types (id BIGINT PRIMARY KEY, b BYTEA, d NUMERIC, j JSONB, day DATE, ts TIMESTAMPTZ, flag BOOLEAN, r DOUBLE PRECISION, t TEXT)";
    async fn prepared(kind: &str) -> (DynStore, TempGuard) {
        let (store, g) = temp_store(kind).await.unwrap();
        if kind == "sqlite" {
            let pool = sqlx::SqlitePool::connect(g.url()).await.unwrap();
            sqlx::query(SQLITE).execute(&pool).await.unwrap();
        } else {
            let pool = sqlx::PgPool::connect(g.url()).await.unwrap();
            sqlx::query(PG).execute(&pool).await.unwrap();
        }
        (store, g)
    }
    let (_s, g) = prepared(backend).await;
    let blob: Vec<u8> = (0..=255).collect();
    let text = "Zeile 1\nZeile 2\t\\N „Anführung“ \r 😀";
    let insert = "INSERT INTO zz_types VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)";
    let ts: DateTime<Utc> = "2026-05-01T10:11:12.123456Z".parse().unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    let dec = "12345678901234567890.123456789";
    let j = json!({"a": [1, "ü", {"b": null}], "n": 1.5});
    if backend == "sqlite" {
        let pool = sqlx::SqlitePool::connect(g.url()).await.unwrap();
        sqlx::query(insert)
            .bind(&blob)
            .bind(dec)
            .bind(j.to_string())
            .bind(day)
            .bind(ts)
            .bind(true)
            .bind(0.1 + 0.2)
            .bind(text)
            .execute(&pool)
            .await
            .unwrap();
    } else {
        let pool = sqlx::PgPool::connect(g.url()).await.unwrap();
        sqlx::query("INSERT INTO zz_types VALUES (1, $1, $2::numeric, $3::jsonb, $4, $5, $6, $7, $8), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
            .bind(&blob).bind(dec).bind(j.to_string()).bind(day).bind(ts).bind(true).bind(0.1 + 0.2).bind(text)
            .execute(&pool).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("types.jsonl");
    backup(g.url(), &file).await.unwrap();
    let (_o, og) = prepared(other(backend)).await;
    restore(og.url(), &file).await.unwrap();
    let (_b, bg) = prepared(backend).await;
    let file2 = dir.path().join("types-2.jsonl");
    backup(og.url(), &file2).await.unwrap();
    restore(bg.url(), &file2).await.unwrap();

    // Read back through sqlx, typed as kontor reads them, in all three stores.
    async fn row(
        kind: &str,
        url: &str,
    ) -> (
        Vec<u8>,
        String,
        Value,
        chrono::NaiveDate,
        DateTime<Utc>,
        bool,
        f64,
        String,
    ) {
        use sqlx::Row;
        if kind == "sqlite" {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let r = sqlx::query("SELECT * FROM zz_types WHERE id = 1")
                .fetch_one(&pool)
                .await
                .unwrap();
            let nulls = sqlx::query("SELECT * FROM zz_types WHERE id = 2")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert!((1..9).all(|i| {
                nulls
                    .try_get_raw(i)
                    .map(|v| sqlx::ValueRef::is_null(&v))
                    .unwrap()
            }));
            (
                r.get("b"),
                r.get("d"),
                serde_json::from_str(&r.get::<String, _>("j")).unwrap(),
                r.get("day"),
                r.get("ts"),
                r.get("flag"),
                r.get("r"),
                r.get("t"),
            )
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let r = sqlx::query("SELECT b, d::text AS d, j::text AS j, day, ts, flag, r, t FROM zz_types WHERE id = 1").fetch_one(&pool).await.unwrap();
            let nulls: i64 = sqlx::query_scalar("SELECT count(*) FROM zz_types WHERE id = 2 AND b IS NULL AND d IS NULL AND j IS NULL AND day IS NULL AND ts IS NULL AND flag IS NULL AND r IS NULL AND t IS NULL").fetch_one(&pool).await.unwrap();
            assert_eq!(nulls, 1);
            (
                r.get("b"),
                r.get("d"),
                serde_json::from_str(&r.get::<String, _>("j")).unwrap(),
                r.get("day"),
                r.get("ts"),
                r.get("flag"),
                r.get("r"),
                r.get("t"),
            )
        }
    }
    let want = (
        blob,
        dec.to_owned(),
        j,
        day,
        ts,
        true,
        0.1 + 0.2,
        text.to_owned(),
    );
    assert_eq!(row(backend, g.url()).await, want);
    assert_eq!(row(other(backend), og.url()).await, want);
    assert_eq!(row(backend, bg.url()).await, want);
}
