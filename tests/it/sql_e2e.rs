//! The SQL connector through the whole ingest path (a shop's database on the real MariaDB and
//! PostgreSQL servers → connectors/sql/mappings/shop.toml → store), on SQLite and PostgreSQL
//! stores: correct totals and open amounts, a second run writes nothing, later runs pick up
//! exactly the changed rows, rows changing while a run pages are not lost.

#[path = "../../connectors/sql/tests/support/mod.rs"]
pub mod support;

use kontor::store::{DynStore, RunStatus};
use kontor::sync::RunReport;
use kontor::testing::temp_store;
use rust_decimal::Decimal;
use std::path::Path;
use support::{Server, TempDb};

both_backends!(
    shop_database_loads_with_correct_totals_and_only_changes_later,
    rows_changing_while_a_sync_pages_are_not_lost,
);

/// What the generated shop holds.
#[derive(Debug, Default)]
pub struct Shop {
    pub customers: usize,
    pub orders: usize,
    pub lines: usize,
    pub invoices: usize,
    pub stock: usize,
    pub gross: Decimal,
    pub open: Decimal,
}

/// Creates the shop's tables and fills them: `n` customers with two orders of two lines each,
/// an invoice per order (every third paid, every fifth partly), stock of 10 items in 2
/// warehouses. Row `i` of a table changed `10 i` minutes after 2026-01-01.
pub async fn shop(db: &TempDb, n: usize) -> Shop {
    let ts = db.ts();
    db.exec(&format!(
        "CREATE TABLE customers (id INT PRIMARY KEY, customer_no VARCHAR(20) NOT NULL, \
           company VARCHAR(200) NOT NULL, email VARCHAR(200), phone VARCHAR(40), street VARCHAR(200), \
           postcode VARCHAR(10), city VARCHAR(100), country CHAR(2), vat_id VARCHAR(20), \
           payment_days INT, updated_at {ts} NOT NULL);\
         CREATE TABLE orders (id INT PRIMARY KEY, order_no VARCHAR(20) NOT NULL, customer_id INT NOT NULL, \
           order_date DATE NOT NULL, status VARCHAR(20) NOT NULL, total DECIMAL(12,2) NOT NULL, \
           currency CHAR(3) NOT NULL, customer_ref VARCHAR(40), updated_at {ts} NOT NULL);\
         CREATE TABLE order_lines (id INT PRIMARY KEY, order_id INT NOT NULL, line_no INT NOT NULL, \
           sku VARCHAR(40) NOT NULL, description VARCHAR(200), quantity DECIMAL(12,3) NOT NULL, \
           delivered DECIMAL(12,3) NOT NULL, net DECIMAL(12,2) NOT NULL, updated_at {ts} NOT NULL);\
         CREATE TABLE invoices (id INT PRIMARY KEY, invoice_no VARCHAR(20) NOT NULL, customer_id INT NOT NULL, \
           order_id INT, issue_date DATE NOT NULL, due_date DATE, net DECIMAL(12,2) NOT NULL, \
           tax DECIMAL(12,2) NOT NULL, gross DECIMAL(12,2) NOT NULL, open_amount DECIMAL(12,2) NOT NULL, \
           currency CHAR(3) NOT NULL, dunning_level INT NOT NULL, updated_at {ts} NOT NULL);\
         CREATE TABLE stock (sku VARCHAR(40) NOT NULL, warehouse VARCHAR(10) NOT NULL, \
           description VARCHAR(200), on_hand DECIMAL(12,3) NOT NULL, reserved DECIMAL(12,3) NOT NULL, \
           ean VARCHAR(13), PRIMARY KEY (sku, warehouse))"
    ))
    .await;
    let mut s = Shop::default();
    let (mut customers, mut orders, mut lines, mut invoices) = (vec![], vec![], vec![], vec![]);
    for c in 1..=n {
        customers.push(format!(
            "({c}, 'K-{c:05}', 'Kunde {c} Müller GmbH', 'einkauf{c}@example.de', '0221 {:06}', \
             'Hauptstraße {c}', '50667', 'Köln', 'DE', NULL, 14, {})",
            100_000 + c,
            db.at(600 * c as i64)
        ));
        for k in 0..2 {
            let o = 2 * c - 1 + k;
            let mut total = Decimal::ZERO;
            for l in 1..=2 {
                let id = 2 * o - 2 + l;
                let net = Decimal::new((o * 1000 + l * 250) as i64, 2);
                total += net;
                lines.push(format!(
                    "({id}, {o}, {l}, 'ART-{:03}', 'Artikel {l}', {l}.000, 0.000, {net}, {})",
                    o % 10,
                    db.at(600 * id as i64)
                ));
            }
            let status = if k == 0 { "shipped" } else { "new" };
            orders.push(format!(
                "({o}, 'B-{o:06}', {c}, '2026-02-{:02}', '{status}', {total}, 'EUR', 'PO-{o}', {})",
                1 + o % 28,
                db.at(600 * o as i64)
            ));
            let tax = (total * Decimal::new(19, 2)).round_dp(2);
            let gross = total + tax;
            let open = match o % 15 {
                x if x % 3 == 0 => Decimal::ZERO,
                x if x % 5 == 0 => (gross / Decimal::TWO).round_dp(2),
                _ => gross,
            };
            s.gross += gross;
            s.open += open;
            invoices.push(format!(
                "({o}, 'RE-{o:06}', {c}, {o}, '2026-03-{:02}', '2026-04-{:02}', {total}, {tax}, \
                 {gross}, {open}, 'EUR', {}, {})",
                1 + o % 28,
                1 + o % 28,
                o % 3,
                db.at(600 * o as i64)
            ));
        }
    }
    let stock: Vec<String> = (0..10)
        .flat_map(|i| {
            ["HAUPT", "AUSSEN"].map(|w| {
                format!("('ART-{i:03}', '{w}', 'Artikel {i}', {i}5.000, 2.500, '400638133393{i}')")
            })
        })
        .collect();
    for (table, rows) in [
        ("customers", &customers),
        ("orders", &orders),
        ("order_lines", &lines),
        ("invoices", &invoices),
        ("stock", &stock),
    ] {
        for chunk in rows.chunks(500) {
            db.exec(&format!("INSERT INTO {table} VALUES {}", chunk.join(",")))
                .await;
        }
    }
    s.customers = n;
    s.orders = orders.len();
    s.lines = lines.len();
    s.invoices = invoices.len();
    s.stock = stock.len();
    s
}

/// A workspace with the shop mapping and the database URL in a file.
pub fn workspace(db_url: &str, extra: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors/sql/mappings/shop.toml"),
        dir.path().join("shop.toml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("shop-db.url"), db_url).unwrap();
    let connectors = format!(
        "[[connector]]\nname = \"shop\"\nkind = \"sql\"\nurl_file = \"shop-db.url\"\n\
         mapping = \"shop.toml\"\n{extra}"
    );
    (dir, connectors)
}

async fn run(store: &DynStore, dir: &Path, connectors: &str) -> RunReport {
    crate::common::sync_connector(store, dir, connectors, "shop").await
}

use crate::common::dec;

async fn count(store: &DynStore, entity: &str) -> usize {
    store
        .records(Some("shop"), Some(entity), 100_000)
        .await
        .unwrap()
        .len()
}

async fn shop_database_loads_with_correct_totals_and_only_changes_later(backend: &str) {
    for server in Server::ALL {
        let (store, _guard) = temp_store(backend).await.unwrap();
        let db = TempDb::create(server).await;
        let shop = shop(&db, 60).await;
        let (dir, connectors) = workspace(&db.url, "page_size = 37\n");

        let first = run(&store, dir.path(), &connectors).await;
        assert_eq!(first.status, RunStatus::Ok, "{server:?}: {first:?}");
        assert_eq!(count(&store, "customer").await, shop.customers);
        assert_eq!(count(&store, "order").await, shop.orders);
        assert_eq!(count(&store, "order_line").await, shop.lines);
        assert_eq!(count(&store, "invoice").await, shop.invoices);
        assert_eq!(count(&store, "stock").await, shop.stock);
        let invoices = store
            .records(Some("shop"), Some("invoice"), 100_000)
            .await
            .unwrap();
        let gross: Decimal = invoices
            .iter()
            .map(|r| dec(&r.data["gross"]["amount"]))
            .sum();
        let open: Decimal = invoices
            .iter()
            .map(|r| dec(&r.data["open_amount"]["amount"]))
            .sum();
        assert_eq!(gross, shop.gross, "{server:?}: total gross");
        assert_eq!(open, shop.open, "{server:?}: total open amount");
        let inv = store
            .record("shop", "invoice", "RE-000002")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(inv.customer_no.as_deref(), Some("K-00001"));
        assert_eq!(inv.data["due_date"], "2026-04-03");
        assert_eq!(inv.data["order_ref"], "B-000002");
        assert!(
            inv.position
                .as_deref()
                .is_some_and(|p| p.contains("#invoices id=2") && !p.contains("root@")),
            "{:?}",
            inv.position
        );
        let c = store
            .record("shop", "customer", "K-00007")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.data["name"], "Kunde 7 Müller GmbH");
        assert_eq!(c.data["address"]["city"], "Köln");
        let stock = store
            .records(Some("shop"), Some("stock"), 100)
            .await
            .unwrap();
        let st = stock
            .iter()
            .find(|r| r.data["sku"] == "ART-003" && r.data["warehouse"] == "AUSSEN")
            .expect("stock of ART-003 in AUSSEN");
        assert_eq!(dec(&st.data["available"]), Decimal::new(325, 1));

        // Nothing changed in the shop: nothing is written.
        let again = run(&store, dir.path(), &connectors).await;
        assert_eq!(again.status, RunStatus::Ok);
        assert_eq!(
            (again.counts.inserted, again.counts.updated),
            (0, 0),
            "{server:?}: {again:?}"
        );

        // An invoice is paid, a customer renamed, an order gets a line, stock moves: exactly
        // those records change.
        db.exec(&format!(
            "UPDATE invoices SET open_amount = 0, updated_at = {t} WHERE id = 2;\
             UPDATE customers SET company = 'Neuer Name AG', updated_at = {t} WHERE id = 5;\
             INSERT INTO order_lines VALUES (100000, 3, 3, 'ART-009', 'Nachlieferung', 1.000, 0.000, 9.99, {t});\
             UPDATE stock SET on_hand = 99.000 WHERE sku = 'ART-001' AND warehouse = 'HAUPT'",
            t = db.at(100_000_000)
        ))
        .await;
        let third = run(&store, dir.path(), &connectors).await;
        assert_eq!(third.status, RunStatus::Ok, "{third:?}");
        assert_eq!(
            (third.counts.inserted, third.counts.updated),
            (1, 3),
            "{server:?}: {third:?}"
        );
        let paid = store
            .record("shop", "invoice", "RE-000002")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(dec(&paid.data["open_amount"]["amount"]), Decimal::ZERO);
        assert_eq!(paid.data["status"], "paid");
        let renamed = store
            .record("shop", "customer", "K-00005")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(renamed.data["name"], "Neuer Name AG");
        let cps = store.checkpoints("shop").await.unwrap();
        assert_eq!(cps.len(), 5);
        for cp in &cps {
            let p = cp.position.as_ref().unwrap();
            if cp.unit_key == "stock" {
                assert_eq!(p, &serde_json::json!({"complete": true}));
            } else {
                assert!(p["increment"]["type"] == "datetime", "{cp:?}");
            }
        }
    }
}

async fn rows_changing_while_a_sync_pages_are_not_lost(backend: &str) {
    // Enough pages that the run takes a while: pages commit grouped (one transaction per
    // `batch_size` records), so the sync itself is quick.
    const ROWS: u64 = 4000;
    for server in Server::ALL {
        let (store, _guard) = temp_store(backend).await.unwrap();
        let db = TempDb::create(server).await;
        shop(&db, ROWS as usize).await;
        let (dir, connectors) = workspace(
            &db.url,
            "page_size = 5\nstreams = [\"customers\"]\nsafety_margin = \"0s\"\n",
        );
        // The shop renames customers while kontor pages through them: ones already read and
        // ones not read yet, each rename with a newer `updated_at` (after every row's).
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let writer = {
            let (stop, done, url, server) = (stop.clone(), done.clone(), db.url.clone(), server);
            tokio::spawn(async move {
                let mut k = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && k < 400 {
                    k += 1;
                    let id = 1 + (k * 7919) % ROWS;
                    let sql = format!(
                        "UPDATE customers SET company = 'Kunde {id} v{k}', updated_at = {} WHERE id = {id}",
                        support::at(600 * ROWS as i64 + 1_000 + k as i64)
                    );
                    support::exec_on(server, &url, &sql).await;
                    done.store(k, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                k
            })
        };
        // The run starts once the shop is writing (its first connection takes a while).
        while done.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let first = run(&store, dir.path(), &connectors).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let updates = writer.await.unwrap();
        assert!(
            updates > 5,
            "{server:?}: the shop changed rows while kontor paged"
        );
        assert_eq!(first.status, RunStatus::Ok, "{first:?}");
        // What the run missed because it was changed after it passed, the next run reads.
        let second = run(&store, dir.path(), &connectors).await;
        assert_eq!(second.status, RunStatus::Ok);
        let names: std::collections::HashMap<String, String> = support::pairs(
            server,
            &db.url,
            "SELECT customer_no, company FROM customers",
        )
        .await
        .into_iter()
        .collect();
        let stored = store
            .records(Some("shop"), Some("customer"), 100_000)
            .await
            .unwrap();
        assert_eq!(
            stored.len(),
            ROWS as usize,
            "{server:?}: no customer lost or doubled"
        );
        for r in &stored {
            assert_eq!(
                r.data["name"].as_str(),
                names.get(&r.external_id).map(String::as_str),
                "{server:?}: {} has the shop's latest name",
                r.external_id
            );
        }
    }
}
