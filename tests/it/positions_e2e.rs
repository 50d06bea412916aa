//! A checkpoint whose position a file reader cannot read (a damaged store, a newer kontor)
//! fails its unit with the unit's name — before the fix it was read as "from the start" and
//! the unit silently began again.

use crate::common::nodes::{connectors_toml, run, workspace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_checkpoint_position_fails_its_unit_by_name() {
    let (store, guard) = kontor::testing::temp_store("sqlite").await.unwrap();
    let url = guard.url().to_owned();
    let dir = workspace(&url, &connectors_toml(&["wawi-kunden"], ""));
    let (code, out, err) = run(dir.path(), &["sync", "wawi-kunden"]);
    assert_eq!(code, 0, "{out}{err}");
    let loaded = store.count_records(Some("wawi-kunden")).await.unwrap();
    assert!(loaded > 0);

    // The unit is left half-staged with a position of another shape.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let n = sqlx::query(
        "UPDATE checkpoints SET status = 'staging', position = '{\"rows\": 3}' \
         WHERE connector = 'wawi-kunden'",
    )
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(n, 1);
    pool.close().await;

    let (code, out, err) = run(dir.path(), &["sync", "wawi-kunden"]);
    assert_ne!(code, 0, "{out}{err}");
    let said = format!("{out}{err}");
    assert!(
        said.contains("kunden.csv") && said.contains("is not a file position"),
        "{said}"
    );
    assert_eq!(
        store.count_records(Some("wawi-kunden")).await.unwrap(),
        loaded,
        "nothing read twice, nothing lost"
    );
}
