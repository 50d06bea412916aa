//! Column types against the real servers: exact decimals and dates, NULL, integers, text;
//! floats as text; read-only transactions with a statement timeout; the URL's password never
//! in an error.

mod common;
mod support;

use common::{connector, read, try_connector};
use serde_json::json;
use support::{Server, TempDb};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_columns_map_exactly() {
    let db = TempDb::create(Server::Maria).await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, big BIGINT UNSIGNED, amount DECIMAL(12,2), \
         huge DECIMAL(40,10), day DATE, zero_day DATE, at DATETIME(6), ts TIMESTAMP(6) NULL, \
         price DOUBLE, name VARCHAR(50), note TEXT, flag TINYINT(1), doc JSON, raw VARBINARY(4), \
         tod TIME, kind ENUM('a','b'), yr YEAR, extra TEXT, code VARCHAR(10) COLLATE utf8mb4_bin, \
         updated_at DATETIME(6) NOT NULL);\
         SET SESSION sql_mode = '';\
         INSERT INTO t VALUES (1, 18446744073709551615, 1234.50, \
         123456789012345678901234567890.0123456789, '2026-02-28', '0000-00-00', \
         '2026-03-01 09:05:00.000120', '2026-03-01 12:00:00', 19.99, 'Müller & Söhne', NULL, 1, \
         '{\"a\": [1, 2.50]}', X'00ff10', '08:30:00', 'b', 2026, NULL, 'Ab-1', '2026-03-01 10:00:00');\
         INSERT INTO t (id, extra, updated_at) VALUES (2, 'kein json', '2026-03-01 10:00:01')",
    )
    .await;
    let c = connector(
        &db,
        r#"
[[stream]]
name = "t"
query = "SELECT * FROM t"
increment = "updated_at"
key = "id"
json_columns = ["doc", "extra"]
"#,
        "",
    );
    let r = read(&*c, "t", None, 10).await.unwrap();
    assert_eq!(r.records.len(), 1, "{:?}", r.rejects);
    let row = &r.records[0];
    assert_eq!(row["id"], json!(1));
    assert_eq!(row["big"].to_string(), "18446744073709551615");
    assert_eq!(row["amount"], "1234.50");
    assert_eq!(row["huge"], "123456789012345678901234567890.0123456789");
    assert_eq!(row["day"], "2026-02-28");
    assert_eq!(row["zero_day"], json!(null), "zero dates read as NULL");
    assert_eq!(row["at"], "2026-03-01 09:05:00.000120");
    assert_eq!(row["ts"], "2026-03-01T12:00:00Z");
    assert_eq!(row["price"], "19.99");
    assert_eq!(row["name"], "Müller & Söhne");
    assert_eq!(row["note"], json!(null));
    assert_eq!(row["flag"], json!(1));
    assert_eq!(row["doc"]["a"][1].to_string(), "2.50");
    assert_eq!(row["raw"], "00ff10");
    assert_eq!(row["tod"], "08:30:00");
    assert_eq!(row["kind"], "b");
    assert_eq!(row["yr"], json!(2026));
    assert_eq!(row["updated_at"], "2026-03-01 10:00:00");
    assert_eq!(row["extra"], json!(null));
    assert_eq!(row["code"], "Ab-1", "text with a _bin collation stays text");
    // The row whose JSON column holds no JSON is rejected with the column named.
    assert_eq!(r.rejects.len(), 1);
    assert!(r.rejects[0].contains("`extra`"), "{:?}", r.rejects);
    // kontor check warns about the float.
    let warnings = c.check().await.unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`price`") && w.contains("DECIMAL")),
        "{warnings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_columns_map_exactly() {
    let db = TempDb::create(Server::Pg).await;
    db.exec(
        "CREATE TYPE mood AS ENUM ('gut', 'schlecht');\
         CREATE TABLE t (id INT PRIMARY KEY, big BIGINT, amount NUMERIC(12,2), \
         exact NUMERIC(28,10), day DATE, at TIMESTAMP(6), ts TIMESTAMPTZ, price DOUBLE PRECISION, \
         name VARCHAR(50), note TEXT, flag BOOLEAN, doc JSONB, raw BYTEA, tod TIME, m mood, \
         u UUID, c CHAR(4), n NUMERIC, updated_at TIMESTAMP NOT NULL);\
         INSERT INTO t VALUES (1, -9223372036854775808, 1234.50, 123456789012345678.0123456789, \
         '2026-02-28', '2026-03-01 09:05:00.00012', '2026-03-01 13:00:00+01', 19.99, \
         'Müller & Söhne', NULL, true, '{\"a\": [1, 2.50]}', '\\x00ff10', '08:30:00', 'gut', \
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'ab', 7, '2026-03-01 10:00:00');\
         INSERT INTO t (id, n, updated_at) VALUES (2, 'NaN', '2026-03-01 10:00:01')",
    )
    .await;
    let c = connector(
        &db,
        r#"
[[stream]]
name = "t"
query = "SELECT * FROM t"
increment = "updated_at"
key = "id"
"#,
        "",
    );
    let r = read(&*c, "t", None, 10).await.unwrap();
    assert_eq!(r.records.len(), 1, "{:?}", r.rejects);
    let row = &r.records[0];
    assert_eq!(row["big"].to_string(), "-9223372036854775808");
    assert_eq!(row["amount"], "1234.50");
    assert_eq!(row["exact"], "123456789012345678.0123456789");
    assert_eq!(row["day"], "2026-02-28");
    assert_eq!(row["at"], "2026-03-01 09:05:00.000120");
    assert_eq!(row["ts"], "2026-03-01T12:00:00Z", "timestamptz in UTC");
    assert_eq!(row["price"], "19.99");
    assert_eq!(row["name"], "Müller & Söhne");
    assert_eq!(row["note"], json!(null));
    assert_eq!(row["flag"], json!(true));
    assert_eq!(row["doc"]["a"][1].to_string(), "2.50");
    assert_eq!(row["raw"], "00ff10");
    assert_eq!(row["tod"], "08:30:00");
    assert_eq!(row["m"], "gut");
    assert_eq!(row["u"], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_eq!(row["c"], "ab  ");
    assert_eq!(row["n"], "7");
    // NaN is no amount: that row is rejected naming the column.
    assert_eq!(r.rejects.len(), 1);
    assert!(r.rejects[0].contains("`n`"), "{:?}", r.rejects);

    // A type kontor does not read stops the stream with what to do.
    let c = connector(
        &db,
        r#"
[[stream]]
name = "t"
query = "SELECT id, updated_at, ARRAY[1,2] AS list FROM t"
increment = "updated_at"
key = "id"
"#,
        "",
    );
    let err = read(&*c, "t", None, 10).await.unwrap_err().to_string();
    assert!(err.contains("`list`") && err.contains("cast"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_run_read_only_with_a_timeout() {
    for server in Server::ALL {
        let db = TempDb::create(server).await;
        db.exec(&format!(
            "CREATE TABLE t (id INT PRIMARY KEY, updated_at {} NOT NULL);\
             INSERT INTO t VALUES (1, '2026-01-01 00:00:00')",
            db.ts()
        ))
        .await;
        let probe = match server {
            Server::Maria => "@@tx_read_only AS ro, @@max_statement_time AS limit_s",
            Server::Pg => {
                "current_setting('transaction_read_only') AS ro, \
                 current_setting('statement_timeout') AS limit_s"
            }
        };
        let c = connector(
            &db,
            &format!(
                "[[stream]]\nname = \"t\"\nquery = \"SELECT id, updated_at, {probe} FROM t\"\n\
                 increment = \"updated_at\"\nkey = \"id\"\n"
            ),
            "statement_timeout = \"2s\"",
        );
        let row = read(&*c, "t", None, 10).await.unwrap().records.remove(0);
        match server {
            Server::Maria => {
                assert_eq!(row["ro"], json!(1));
                assert_eq!(row["limit_s"], "2");
            }
            Server::Pg => {
                assert_eq!(row["ro"], "on");
                assert_eq!(row["limit_s"], "2s");
            }
        }
        // A query that would write is refused by the database.
        if server == Server::Pg {
            db.exec("CREATE SEQUENCE s").await;
            let c = connector(
                &db,
                "[[stream]]\nname = \"t\"\nquery = \"SELECT nextval('s') AS n, id, updated_at FROM t\"\n\
                 increment = \"updated_at\"\nkey = \"id\"\n",
                "",
            );
            let err = read(&*c, "t", None, 10).await.unwrap_err().to_string();
            assert!(err.contains("read-only"), "{err}");
        }
        // A slow query is cut off.
        let sleep = match server {
            Server::Maria => "(SELECT SLEEP(3)) AS z",
            Server::Pg => "pg_sleep(3) AS z",
        };
        let c = connector(
            &db,
            &format!(
                "[[stream]]\nname = \"t\"\nquery = \"SELECT id, updated_at, {sleep} FROM t\"\n\
                 increment = \"updated_at\"\nkey = \"id\"\n"
            ),
            "statement_timeout = \"300ms\"",
        );
        let started = std::time::Instant::now();
        let res = read(&*c, "t", None, 10).await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{server:?}"
        );
        match (server, res) {
            (_, Err(e)) => assert!(
                e.to_string().contains("timeout") || e.to_string().contains("max_statement_time"),
                "{server:?}: {e}"
            ),
            // MariaDB's SLEEP returns 1 when interrupted instead of failing.
            (Server::Maria, Ok(r)) => assert_eq!(r.records[0]["z"], json!(1)),
            (Server::Pg, Ok(_)) => panic!("pg_sleep was not cut off"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_is_never_shown() {
    let db = TempDb::create(Server::Maria).await;
    let password = "Geheim-7f3a9!";
    let user = format!("ro{}", support::random() % 1_000_000);
    db.exec(&format!(
        "CREATE TABLE t (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL);\
         INSERT INTO t VALUES (1, '2026-01-01 00:00:00');\
         CREATE USER '{user}'@'%' IDENTIFIED BY '{password}';\
         GRANT SELECT ON {}.* TO '{user}'@'%'",
        db.name
    ))
    .await;
    let source = "[[stream]]\nname = \"t\"\nquery = \"SELECT * FROM t\"\nincrement = \"updated_at\"\nkey = \"id\"\n";
    let url = db.url_as(&user, password);
    // Inline with a password: refused, naming the key, without repeating the URL.
    let err = try_connector(&format!("url = \"{url}\""), source)
        .err()
        .expect("inline password refused");
    assert_eq!(err.key, ["url"]);
    assert!(!err.to_string().contains(password), "{err}");
    assert!(err.to_string().contains("url_env"), "{err}");

    // By reference it works; unit labels and record positions show no credentials.
    let var = format!("KONTOR_SQL_TEST_URL_{}", std::process::id());
    // SAFETY: tests of this binary do not read this variable concurrently.
    unsafe { std::env::set_var(&var, &url) };
    let c = try_connector(&format!("url_env = \"{var}\""), source).unwrap();
    let units = c.discover().await.unwrap();
    assert_eq!(
        units[0].label,
        format!("mysql://127.0.0.1:3306/{}#t", db.name)
    );
    assert_eq!(read(&*c, "t", None, 5).await.unwrap().records.len(), 1);

    // Errors from the server do not carry it either.
    let wrong = url.replace(password, "Falsch-Passwort-1");
    unsafe { std::env::set_var(&var, &wrong) };
    let c = try_connector(
        &format!("url_env = \"{var}\"\nconnect_timeout = \"5s\""),
        source,
    )
    .unwrap();
    let err = c.check().await.unwrap_err().to_string();
    assert!(err.contains("denied"), "{err}");
    assert!(
        !err.contains("Falsch-Passwort-1") && !err.contains(password),
        "{err}"
    );
    // A URL whose query the server refuses, with the password in the text it echoes.
    let c = try_connector(
        &format!("url_env = \"{var}\""),
        &format!(
            "[[stream]]\nname = \"t\"\nquery = \"SELECT id, updated_at FROM t WHERE id = = '{password}'\"\n\
             increment = \"updated_at\"\nkey = \"id\"\n"
        ),
    )
    .unwrap();
    unsafe { std::env::set_var(&var, &url) };
    let err = read(&*c, "t", None, 5).await.unwrap_err().to_string();
    assert!(err.contains("***"), "{err}");
    assert!(!err.contains(password), "{err}");
    db.exec(&format!("DROP USER '{user}'@'%'")).await;
}
