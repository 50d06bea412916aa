//! Paging and positions against the real MariaDB and PostgreSQL servers: every row once in
//! order, resuming exactly, the safety margin, rows changing while a run pages, keys that are
//! not unique, corrupt positions.

mod common;
mod support;

use common::{connector, read};
use serde_json::{Value, json};
use support::{Server, TempDb};

const ITEMS: &str = r#"
[[stream]]
name = "items"
query = "SELECT id, name, amount, updated_at FROM items"
increment = "updated_at"
key = "id"
"#;

/// `n` items; item `i` changed at minute `i / 2` (two rows per increment value: the key
/// breaks the tie).
async fn items(server: Server, n: usize) -> TempDb {
    let db = TempDb::create(server).await;
    db.exec(&format!(
        "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, \
         amount DECIMAL(12,2), updated_at {} NOT NULL)",
        db.ts()
    ))
    .await;
    let rows: Vec<String> = (1..=n)
        .map(|i| {
            format!(
                "({i}, 'Artikel {i}', {i}.50, {})",
                db.at(60 * (i as i64 / 2))
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        db.exec(&format!("INSERT INTO items VALUES {}", chunk.join(",")))
            .await;
    }
    db
}

fn ids(r: &common::Read) -> Vec<i64> {
    r.records
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_once_in_order_and_a_resume_continues_exactly() {
    for server in Server::ALL {
        let db = items(server, 25).await;
        let c = connector(&db, ITEMS, "page_size = 4\nsafety_margin = \"0s\"");
        let all = read(&*c, "items", None, 100).await.unwrap();
        assert_eq!(ids(&all), (1..=25).collect::<Vec<_>>(), "{server:?}");
        assert_eq!(all.positions.len(), 7, "{server:?}: 25 rows in pages of 4");
        assert_eq!(all.records[0]["amount"], "1.50");
        assert_eq!(all.records[0]["name"], "Artikel 1");
        // Positions are typed and name the last row.
        assert_eq!(
            all.positions[0],
            json!({"increment": {"type": "datetime", "value": "2026-01-01T00:02:00"},
                   "key": {"type": "int", "value": 4}})
        );
        // Resuming after the third batch delivers exactly the rest.
        let rest = read(&*c, "items", Some(all.positions[2].clone()), 100)
            .await
            .unwrap();
        assert_eq!(ids(&rest), (13..=25).collect::<Vec<_>>(), "{server:?}");
        // Nothing changed: the next run from the last position reads nothing new.
        let again = read(&*c, "items", all.last(), 100).await.unwrap();
        assert!(again.records.is_empty(), "{server:?}: {:?}", again.records);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_position_stays_a_margin_behind_the_newest_change() {
    for server in Server::ALL {
        let db = items(server, 25).await;
        // Rows change every minute (two per minute); the newest at minute 12.
        let c = connector(&db, ITEMS, "page_size = 4\nsafety_margin = \"3m\"");
        let all = read(&*c, "items", None, 100).await.unwrap();
        assert_eq!(all.records.len(), 25);
        let held = json!({"increment": {"type": "datetime", "value": "2026-01-01T00:09:00"}});
        assert_eq!(all.last(), Some(held.clone()), "{server:?}");
        // Pages before the cap commit their own last row.
        assert_eq!(all.positions[1]["key"]["value"], 8);
        // The next run reads the rows of the last three minutes again (unchanged rows are
        // written as nothing by the store), and nothing before.
        let again = read(&*c, "items", all.last(), 100).await.unwrap();
        assert_eq!(ids(&again), (18..=25).collect::<Vec<_>>(), "{server:?}");
        assert_eq!(again.last(), Some(held), "{server:?}");

        // A transaction that set an older `updated_at` and committed after the run passed it
        // (within the margin) is read by the next run.
        db.exec(&format!(
            "INSERT INTO items VALUES (100, 'spät', 1.00, {})",
            db.at(60 * 11)
        ))
        .await;
        let late = read(&*c, "items", again.last(), 100).await.unwrap();
        assert!(ids(&late).contains(&100), "{server:?}: {:?}", ids(&late));

        // Numeric increments: the margin is in units.
        let by_id = ITEMS.replace(
            "increment = \"updated_at\"\nkey = \"id\"",
            "increment = \"id\"\nkey = \"name\"\nsafety_margin = 5",
        );
        let c = connector(&db, &by_id, "page_size = 10");
        let all = read(&*c, "items", None, 100).await.unwrap();
        assert_eq!(all.records.len(), 26);
        assert_eq!(
            all.last(),
            Some(json!({"increment": {"type": "int", "value": 95}})),
            "{server:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_changing_while_a_run_pages_are_not_lost() {
    for server in Server::ALL {
        let db = items(server, 300).await;
        let c = connector(&db, ITEMS, "page_size = 7\nsafety_margin = \"0s\"");
        let units = c.discover().await.unwrap();
        let mut r = c.open(&units[0], None).await.unwrap();
        let mut seen: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
        let mut last = None;
        let mut batches = 0;
        while let Some(b) = r.next_batch().await.unwrap() {
            batches += 1;
            for item in b.items {
                if let kontor_connector::Item::Record(rec) = item
                    && let kontor_connector::Fields::Tree(v) = rec.fields
                {
                    let name = v["name"].as_str().unwrap().to_owned();
                    seen.entry(v["id"].as_i64().unwrap())
                        .or_default()
                        .push(name);
                }
            }
            last = Some(b.position);
            if batches == 5 {
                // Meanwhile the shop changes rows already read (3), rows not read yet (250),
                // and deletes one ahead and inserts one "in the past" within the run.
                db.exec(&format!(
                    "UPDATE items SET name = 'neu 3', updated_at = {t} WHERE id = 3;\
                     UPDATE items SET name = 'neu 250', updated_at = {t} WHERE id = 250;\
                     UPDATE items SET name = 'neu 40', updated_at = {early} WHERE id = 40;\
                     DELETE FROM items WHERE id = 200",
                    t = db.at(60 * 1000),
                    early = db.at(60 * 30),
                ))
                .await;
            }
        }
        // Every row that exists was delivered, changed rows with their new content.
        for id in (1..=300).filter(|i| *i != 200) {
            assert!(seen.contains_key(&id), "{server:?}: row {id} lost");
        }
        assert_eq!(seen[&3], ["Artikel 3", "neu 3"], "{server:?}");
        assert_eq!(
            seen[&250].last().map(String::as_str),
            Some("neu 250"),
            "{server:?}"
        );
        assert_eq!(seen[&40].last().map(String::as_str), Some("neu 40"));
        // The next run starts after the newest row: nothing more to read.
        let next = read(&*c, "items", last, 100).await.unwrap();
        assert!(next.records.is_empty(), "{server:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_is_not_unique_is_an_error_not_a_silent_loss() {
    for server in Server::ALL {
        let db = items(server, 6).await;
        db.exec("CREATE TABLE tags (item_id INT, tag VARCHAR(10))")
            .await;
        // Item 3 twice, right after item 2 of the same minute: with pages of one row the
        // second 3 is the first row of the next page.
        db.exec("INSERT INTO tags VALUES (2, 'x'), (3, 'a'), (3, 'b')")
            .await;
        // A join repeats item 3: its id is not a key of the result.
        let joined = r#"
[[stream]]
name = "items"
query = "SELECT i.id, i.name, t.tag, i.updated_at FROM items i JOIN tags t ON t.item_id = i.id"
increment = "updated_at"
key = "id"
"#;
        for page in [1, 10] {
            let c = connector(&db, joined, &format!("page_size = {page}"));
            let err = read(&*c, "items", None, 100).await.unwrap_err().to_string();
            assert!(err.contains("not unique"), "{server:?}/{page}: {err}");
            assert!(err.contains("`id`"), "{err}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_or_mistyped_position_is_an_error() {
    for server in Server::ALL {
        let db = items(server, 3).await;
        let c = connector(&db, ITEMS, "");
        for bad in [
            json!({"increment": {"type": "datetime", "value": "gestern"}, "key": {"type": "int", "value": 1}}),
            json!({"modified": "2026-01-01"}),
            json!({"key": {"type": "int", "value": 1}}),
            json!(42),
        ] {
            let err = read(&*c, "items", Some(bad.clone()), 10).await.unwrap_err();
            assert!(
                matches!(err, kontor_connector::ConnectorError::Config(_)),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains("position"), "{err}");
        }
        // Well-formed, but the column holds timestamps, not integers.
        let wrong =
            json!({"increment": {"type": "int", "value": 5}, "key": {"type": "int", "value": 1}});
        let err = read(&*c, "items", Some(wrong), 10).await.unwrap_err();
        assert!(err.to_string().contains("datetime"), "{server:?}: {err}");
        // Null is "no position yet".
        assert_eq!(
            read(&*c, "items", Some(Value::Null), 10)
                .await
                .unwrap()
                .records
                .len(),
            3
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_without_increment_is_read_whole_and_resumes_by_key() {
    for server in Server::ALL {
        let db = items(server, 10).await;
        let whole = r#"
[[stream]]
name = "items"
query = "SELECT id, name FROM items"
key = "id"
"#;
        let c = connector(&db, whole, "page_size = 3");
        let all = read(&*c, "items", None, 100).await.unwrap();
        assert_eq!(ids(&all), (1..=10).collect::<Vec<_>>());
        assert_eq!(all.last(), Some(json!({"complete": true})), "{server:?}");
        assert_eq!(
            all.positions[0],
            json!({"key": {"type": "int", "value": 3}})
        );
        // An interrupted run resumes after its last key; a complete one starts again.
        let rest = read(&*c, "items", Some(all.positions[1].clone()), 100)
            .await
            .unwrap();
        assert_eq!(ids(&rest), (7..=10).collect::<Vec<_>>());
        let again = read(&*c, "items", all.last(), 100).await.unwrap();
        assert_eq!(again.records.len(), 10);
    }
}
