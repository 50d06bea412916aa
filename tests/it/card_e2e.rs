//! The stored customer card (issue 17, target 2): shown as it was built, never older than
//! what a reported sync wrote — a sync deletes the cards of exactly the customers whose
//! records it changed, a card built from what was read before that is not stored, an
//! erasure leaves no card — while complaints, reminders, stock and the business date are
//! always as of now. On both stores, with the demo's real files.

use kontor::config::Config;
use kontor::directory::Directory;
use kontor::identity::resolve_changed;
use kontor::store::{DynStore, NewCard, NewReminder};
use kontor::sync::{self, SyncOptions};
use kontor::testing::{TempGuard, temp_store};
use kontor::view::{ViewContext, card_json, customer_view};
use serde_json::Value;

both_backends!(
    a_stored_card_shows_what_the_view_shows,
    a_sync_deletes_the_cards_of_exactly_the_customers_it_changed,
    a_card_built_before_a_sync_is_not_stored,
    complaints_reminders_stock_and_the_date_are_live,
    an_erasure_leaves_no_card,
    a_resolution_deletes_the_cards_of_the_customers_it_moves_keys_between,
    an_invoice_booked_to_another_customer_leaves_the_first_card,
    a_card_built_from_keys_older_than_the_store_is_not_stored,
    a_delivery_changes_the_cards_of_customers_with_orders,
    an_erasure_deletes_the_cards_in_its_own_writes,
);

/// Runs the workspace's file connectors (the demo's REST source is left out: no server).
async fn runs(store: &DynStore, cfg: &Config) {
    let opts = SyncOptions {
        node: "test".into(),
        ..Default::default()
    };
    for c in cfg.connectors.iter().filter(|c| c.kind != "rest") {
        let p = sync::prepare(cfg, c).unwrap_or_else(|d| panic!("{d:?}"));
        sync::run(store, &p, &opts).await.unwrap();
    }
}

/// A sync: the runs, then the identity pass.
async fn sync_files(store: &DynStore, cfg: &Config) {
    runs(store, cfg).await;
    resolve_changed(store, cfg).await.unwrap();
}

struct Demo {
    store: DynStore,
    _guard: TempGuard,
    dir: tempfile::TempDir,
    cfg: Config,
    ctx: ViewContext,
}

async fn demo(backend: &str) -> Demo {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    kontor::demo::write_workspace(dir.path()).unwrap();
    let text = kontor::demo::config("http://127.0.0.1:9");
    let cfg = Config::parse("kontor.toml", &text, dir.path().to_path_buf(), Vec::new())
        .unwrap_or_else(|d| panic!("{d:?}"));
    sync_files(&store, &cfg).await;
    let ctx = ViewContext::from_config(&cfg);
    Demo {
        store,
        _guard,
        dir,
        cfg,
        ctx,
    }
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

impl Demo {
    async fn directory(&self) -> Directory {
        Directory::load(&self.store, &self.ctx.policy, "DE")
            .await
            .unwrap()
    }

    /// The customer of WaWi customer number `no`.
    async fn customer(&self, no: &str) -> i64 {
        let keys = self.store.customer_keys().await.unwrap();
        keys.iter()
            .find(|k| k.key.system == "wawi" && k.key.customer_no == no)
            .unwrap_or_else(|| panic!("no key wawi/{no}"))
            .customer_id
    }

    /// The card of `id` as the API answers it (the JSON text), and the card it built
    /// (`None`: it was stored), with the keys of `dir`.
    async fn card_text(
        &self,
        dir: &Directory,
        id: i64,
        day: chrono::NaiveDate,
    ) -> (String, Option<NewCard>) {
        let known = dir.known(id).expect("in the directory");
        let mut built = None;
        let json = card_json(&self.store, &self.ctx, id, known, day, |c| built = Some(c))
            .await
            .unwrap();
        (json, built)
    }

    async fn card_on(&self, id: i64, day: chrono::NaiveDate) -> (Value, Option<NewCard>) {
        let (json, built) = self.card_text(&self.directory().await, id, day).await;
        (serde_json::from_str(&json).unwrap(), built)
    }

    async fn card(&self, id: i64) -> (Value, Option<NewCard>) {
        self.card_on(id, today()).await
    }

    /// Shows `id`'s card and stores it when it was built; returns what was shown.
    async fn show(&self, id: i64) -> Value {
        let (json, built) = self.card(id).await;
        if let Some(c) = built {
            assert_eq!(self.store.put_cards(&[c]).await.unwrap(), 1);
        }
        json
    }

    async fn stored(&self, id: i64) -> bool {
        let dir = self.directory().await;
        let known = dir.known(id).unwrap();
        let stamp = kontor::view::card_stamp(&self.ctx, known.systems, today());
        self.store.card(id, &stamp).await.unwrap().card.is_some()
    }

    /// Writes a resolution that gives a key of customer `from` to customer `to` (as a name,
    /// VAT ID or ops decision could): no record changes.
    async fn move_key(&self, from: i64, to: i64) {
        let snap = self.store.identity_snapshot(false).await.unwrap();
        let mut moved = snap
            .keys
            .iter()
            .find(|k| k.customer_id == from)
            .cloned()
            .unwrap();
        moved.customer_id = to;
        let changes = kontor::store::IdentityChanges {
            generation: snap.generation,
            scan_to: snap.scan_to,
            upsert: vec![moved],
            inputs_epoch: snap.inputs_epoch,
            ..Default::default()
        };
        assert!(self.store.apply_identity(&changes).await.unwrap().is_some());
    }

    /// Rewrites a WaWi export (Windows-1252) with `f` applied to its text.
    fn edit(&self, name: &str, f: impl Fn(&str) -> String) {
        self.edit_inbox(&format!("wawi/{name}"), f)
    }

    /// Rewrites a file of the inbox (read and written as Windows-1252; UTF-8 XML without
    /// umlauts in the edited part stays as it is).
    fn edit_inbox(&self, name: &str, f: impl Fn(&str) -> String) {
        let path = self.dir.path().join("inbox").join(name);
        let bytes = std::fs::read(&path).unwrap();
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
        let out = f(&text);
        assert_ne!(out, text, "the edit changes {name}");
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&out);
        std::fs::write(&path, bytes).unwrap();
    }
}

fn open_invoices(card: &Value) -> Vec<String> {
    let items = &card["open_items"];
    let list = items["invoices"]
        .as_array()
        .unwrap_or_else(|| panic!("open_items.invoices in {items}"));
    list.iter()
        .map(|i| i["number"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_stored_card_shows_what_the_view_shows(backend: &str) {
    let d = demo(backend).await;
    let id = d.customer("00042").await;
    let (built, card) = d.card(id).await;
    let card = card.expect("no card stored yet: built");
    assert!(!d.stored(id).await);
    assert_eq!(d.store.put_cards(&[card]).await.unwrap(), 1);
    assert!(d.stored(id).await);
    let (text, again) = d.card_text(&d.directory().await, id, today()).await;
    assert!(again.is_none(), "a stored card is shown, not built");
    let shown: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown, built);
    // The same text as the merged view the CLI and the web page build (field order too).
    let view = customer_view(&d.store, &d.ctx, id, today())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(text, serde_json::to_string(&view).unwrap());
    assert!(!open_invoices(&shown).is_empty());
    assert!(!shown["open_orders"].as_array().unwrap().is_empty());
    assert_eq!(d.store.card_stats().await.unwrap().count, 1);
}

async fn a_sync_deletes_the_cards_of_exactly_the_customers_it_changed(backend: &str) {
    let d = demo(backend).await;
    let (mueller, baecker) = (d.customer("00042").await, d.customer("00043").await);
    d.show(mueller).await;
    let before = d.show(baecker).await;
    assert!(open_invoices(&before).contains(&"RE-2026-1003".to_owned()));
    // Bäckerei Weiß paid RE-2026-1003: the WaWi's open-items export says 0,00 open.
    d.edit("offene_posten.csv", |t| {
        t.replace(
            "RE-2026-1003;RE;00043;20.10.2026;03.11.2026;84,03;15,97;100,00;100,00;",
            "RE-2026-1003;RE;00043;20.10.2026;03.11.2026;84,03;15,97;100,00;0,00;",
        )
    });
    // Gone when the run reports its counts, before the identity pass.
    runs(&d.store, &d.cfg).await;
    assert!(
        !d.stored(baecker).await,
        "the changed customer's card is gone"
    );
    assert!(d.stored(mueller).await, "the others' cards stay");
    resolve_changed(&d.store, &d.cfg).await.unwrap();
    assert!(d.stored(mueller).await, "also after the identity pass");
    let (after, built) = d.card(baecker).await;
    assert!(built.is_some());
    assert!(
        !open_invoices(&after).contains(&"RE-2026-1003".to_owned()),
        "a paid invoice is no longer open: {}",
        after["open_items"]
    );
    // An unchanged re-sync deletes nothing.
    d.show(baecker).await;
    sync_files(&d.store, &d.cfg).await;
    assert!(d.stored(baecker).await && d.stored(mueller).await);
}

async fn a_card_built_before_a_sync_is_not_stored(backend: &str) {
    let d = demo(backend).await;
    let baecker = d.customer("00043").await;
    let (_, early) = d.card(baecker).await;
    let early = early.unwrap();
    d.edit("offene_posten.csv", |t| {
        t.replace(";100,00;100,00;EUR;", ";100,00;40,00;EUR;")
    });
    runs(&d.store, &d.cfg).await;
    // Read before the run ended: it would show 100,00 open.
    assert_eq!(d.store.put_cards(&[early]).await.unwrap(), 0);
    assert!(!d.stored(baecker).await);
    let shown = d.show(baecker).await;
    let open = shown["open_items"]["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == "RE-2026-1003")
        .cloned()
        .unwrap();
    assert_eq!(open["open_amount"]["amount"], "40.00", "{open}");
}

async fn complaints_reminders_stock_and_the_date_are_live(backend: &str) {
    let d = demo(backend).await;
    let mueller = d.customer("00042").await;
    let first = d.show(mueller).await;
    let reminders = first["reminders"].as_array().unwrap().len();
    d.store
        .add_reminder(&NewReminder {
            customer_id: Some(mueller),
            title: "Rückruf wegen Spannzangen".into(),
            due_date: today(),
            assignee: None,
            source: "manual".into(),
            reason: None,
            rule_key: None,
        })
        .await
        .unwrap();
    // Stock of an ordered item changes in the WaWi (no customer's records change).
    d.edit("lagerbestand.csv", |t| {
        t.replace(
            "0815-A;Spannzange ER32 Ø 10 mm;HAUPT;120;0;",
            "0815-A;Spannzange ER32 Ø 10 mm;HAUPT;120;77;",
        )
    });
    sync_files(&d.store, &d.cfg).await;
    assert!(
        d.stored(mueller).await,
        "neither changes a record of the customer"
    );
    let (shown, built) = d.card(mueller).await;
    assert!(built.is_none(), "shown from the stored card");
    let titles: Vec<&str> = shown["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), reminders + 1);
    assert!(titles.contains(&"Rückruf wegen Spannzangen"), "{titles:?}");
    let line = shown["open_orders"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["lines"].as_array().unwrap())
        .find(|l| l["sku"] == "0815-A")
        .cloned()
        .unwrap();
    assert_eq!(line["availability"]["available"], "77", "{line}");
    // Tomorrow the card is built again (what is overdue is judged on that day).
    let tomorrow = today().succ_opt().unwrap();
    let (next, built) = d.card_on(mueller, tomorrow).await;
    assert!(built.is_some());
    assert_eq!(next["as_of"], tomorrow.to_string());
}

async fn an_erasure_leaves_no_card(backend: &str) {
    let d = demo(backend).await;
    let mueller = d.customer("00042").await;
    let shown = d.show(mueller).await;
    assert!(shown.to_string().contains("info@mueller-soehne.de"));
    let req = |dry_run, confirm| kontor::front::privacy::ErasureRequest {
        person: kontor::front::privacy::Person {
            email: Some("info@mueller-soehne.de".into()),
            phone: None,
            name: None,
        },
        dry_run,
        confirm,
    };
    let plan = kontor::front::privacy::erase(&d.store, &req(true, None), "DE")
        .await
        .unwrap();
    assert!(plan.total > 0);
    kontor::front::privacy::erase(&d.store, &req(false, Some(plan.total)), "DE")
        .await
        .unwrap();
    assert_eq!(d.store.card_stats().await.unwrap().count, 0);
    let (after, _) = d.card(mueller).await;
    assert!(!after.to_string().contains("info@mueller-soehne.de"));
}

async fn a_resolution_deletes_the_cards_of_the_customers_it_moves_keys_between(backend: &str) {
    let d = demo(backend).await;
    let (mueller, baecker) = (d.customer("00042").await, d.customer("00043").await);
    d.show(mueller).await;
    d.show(baecker).await;
    let third = d.customer("00044").await;
    d.show(third).await;
    // A resolution that gives the Bäckerei's key to Müller (as a name, VAT ID or ops
    // decision could): no record changed, so only the moved key says whose card is old.
    d.move_key(baecker, mueller).await;
    assert!(!d.stored(mueller).await, "the customer the key moved to");
    assert_eq!(
        d.store.card_stats().await.unwrap().count,
        1,
        "only the third stays"
    );
    assert!(d.stored(third).await);
    let shown = d.show(mueller).await;
    let numbers: Vec<&str> = shown["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["external_id"].as_str().unwrap())
        .collect();
    assert!(numbers.contains(&"00043"), "{numbers:?}");
}

async fn an_invoice_booked_to_another_customer_leaves_the_first_card(backend: &str) {
    let d = demo(backend).await;
    let (baecker, third) = (d.customer("00043").await, d.customer("00044").await);
    assert!(open_invoices(&d.show(baecker).await).contains(&"RE-2026-1003".to_owned()));
    d.show(third).await;
    // RE-2026-1003 was booked to the wrong debtor: the WaWi corrects it to 00044.
    d.edit("offene_posten.csv", |t| {
        t.replace("RE-2026-1003;RE;00043;", "RE-2026-1003;RE;00044;")
    });
    sync_files(&d.store, &d.cfg).await;
    assert!(!d.stored(baecker).await, "the card the invoice left");
    assert!(!d.stored(third).await, "the card it joined");
    let (left, _) = d.card(baecker).await;
    assert!(!open_invoices(&left).contains(&"RE-2026-1003".to_owned()));
    let (joined, _) = d.card(third).await;
    assert!(open_invoices(&joined).contains(&"RE-2026-1003".to_owned()));
}

async fn a_card_built_from_keys_older_than_the_store_is_not_stored(backend: &str) {
    let d = demo(backend).await;
    let (mueller, baecker) = (d.customer("00042").await, d.customer("00043").await);
    // An API node's directory, loaded before a resolution moved a key.
    let old = d.directory().await;
    d.move_key(baecker, mueller).await;
    let (text, built) = d.card_text(&old, mueller, today()).await;
    assert!(
        built.is_none(),
        "built from the old keys: answered, not kept"
    );
    assert!(
        !text.contains("\"00043\""),
        "the old keys say Müller has no 00043"
    );
    // Nor does the store take it (another node's writer).
    let (_, fresh) = d.card_text(&d.directory().await, mueller, today()).await;
    let mut stale = fresh.unwrap();
    stale.epochs.generation -= 1;
    assert_eq!(d.store.put_cards(&[stale]).await.unwrap(), 0);
    assert!(!d.stored(mueller).await);
}

async fn a_delivery_changes_the_cards_of_customers_with_orders(backend: &str) {
    let d = demo(backend).await;
    let mueller = d.customer("00042").await;
    let promised = |card: &Value| {
        card["open_orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["number"] == "AB-50001")
            .map(|o| o["promised_date"].clone())
            .expect("AB-50001 is open")
    };
    let keys = d.store.customer_keys().await.unwrap();
    let mut ids: Vec<i64> = keys.iter().map(|k| k.customer_id).collect();
    ids.dedup();
    let mut without = Vec::new();
    for &id in &ids {
        if d.show(id).await["open_orders"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            without.push(id);
        }
    }
    assert!(!without.is_empty());
    let before = promised(&d.card(mueller).await.0);
    // The supplier confirms Müller's order AB-50001 for 20.12.2026 in an openTRANS
    // ORDERRESPONSE: it names the order, not the customer.
    let sample = d
        .dir
        .path()
        .join("inbox/opentrans/ORDERRESPONSE_Auftragsbestaetigung.xml");
    let xml = std::fs::read_to_string(&sample)
        .unwrap()
        .replace("GWAHJV-160131-1470", "AB-50001")
        .replace("2018-06-27", "2026-12-20");
    std::fs::write(sample.with_file_name("ORDERRESPONSE_AB-50001.xml"), xml).unwrap();
    runs(&d.store, &d.cfg).await;
    assert!(!d.stored(mueller).await, "the order's customer");
    let after = promised(&d.card(mueller).await.0);
    assert_ne!(after, before);
    assert_eq!(after, "2026-12-20");
    // Customers without orders keep theirs.
    let mut kept = 0;
    for &id in &without {
        kept += usize::from(d.stored(id).await);
    }
    assert!(kept > 0, "cards of customers without orders stay");
}

async fn an_erasure_deletes_the_cards_in_its_own_writes(backend: &str) {
    let d = demo(backend).await;
    let mueller = d.customer("00042").await;
    d.show(mueller).await;
    // The first write of an erasure (the rest could fail): no card outlives it.
    crate::common::erase_a_customer_record(&d.store).await;
    assert_eq!(d.store.card_stats().await.unwrap().count, 0);
}
