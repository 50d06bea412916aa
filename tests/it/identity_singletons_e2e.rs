//! A sync's new customer numbers that nothing can join to another customer (a document's
//! customer number, no party record, cross-reference row or decision naming it) are written
//! by the store in one statement as customers of their own, never held in memory by the
//! resolution (issue 17: a first sync's peak RSS) — in a later sync without any resolution.
//! What they get is what a full resolution gives them; a number a decision names is resolved
//! as before — on both stores.

use crate::identity_incremental_e2e::{demo_resolved, sync_files, write_items};
use kontor::identity::resolve_store;
use kontor::identity::{Decision, DecisionKind, KeyId, Resolved, SourceCustomer, resolve_changed};
use kontor::store::{IdentityChanges, NewSingletons};

/// Invoices of three numbers identity has not seen (00778 named by a decision).
const INVOICES: [&str; 4] = [
    "RE-2026-3001;RE;00779;03.12.2026;02.01.2027;10,00;1,90;11,90;11,90;EUR;;0;14 Tage netto",
    "RE-2026-3002;RE;00777;03.12.2026;02.01.2027;10,00;1,90;11,90;11,90;EUR;;0;14 Tage netto",
    "RE-2026-3003;RE;00778;03.12.2026;02.01.2027;10,00;1,90;11,90;11,90;EUR;;0;14 Tage netto",
    "RE-2026-3004;RE;00777;04.12.2026;03.01.2027;20,00;3,80;23,80;23,80;EUR;;0;14 Tage netto",
];

both_backends!(
    new_customer_numbers_of_documents_become_customers_of_their_own,
    new_customer_numbers_start_at_the_floor_of_their_pass,
);

async fn new_customer_numbers_of_documents_become_customers_of_their_own(backend: &str) {
    let (store, _guard, dir, cfg) = demo_resolved(backend).await;
    let before = store.identity_snapshot(false).await.unwrap();
    let generation = before.generation;
    let customers_before = {
        let mut ids: Vec<i64> = before.keys.iter().map(|k| k.customer_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    let known = before
        .keys
        .iter()
        .find(|k| k.key == KeyId::new("wawi", "00042"))
        .cloned()
        .expect("the demo's customer 00042");
    // Ops said beforehand that number 00778 is customer 00042 (a decision names it).
    store
        .record_decisions(
            &[Decision::new(
                DecisionKind::Link,
                KeyId::new("wawi", "00778"),
                KeyId::new("wawi", "00042"),
            )],
            &[],
        )
        .await
        .unwrap();
    assert!(resolve_store(&store, &cfg).await.is_ok());
    let before = store.identity_snapshot(false).await.unwrap();

    write_items(dir.path(), &INVOICES);
    let (written, _) = sync_files(&store, &cfg).await;
    assert_eq!(written, 4);
    let summary = match resolve_changed(&store, &cfg).await.unwrap() {
        Resolved::Resolved(s) => s,
        other => panic!("expected a resolution, got {other:?}"),
    };
    assert_eq!(
        summary.customers,
        customers_before + 2,
        "00777 and 00779: two new customers"
    );
    assert_eq!(summary.source_customers, before.keys.len() + 3);
    assert_eq!(summary.changed, 3, "three new keys, nothing else moved");

    let keys = store.customer_keys().await.unwrap();
    let key = |no: &str| {
        keys.iter()
            .find(|k| k.key == KeyId::new("wawi", no))
            .cloned()
            .unwrap_or_else(|| panic!("no key for {no}"))
    };
    let linked = key("00778");
    assert_eq!(
        linked.customer_id, known.customer_id,
        "the decision joins it"
    );
    assert_eq!(linked.rule, "manual");
    let (a, b) = (key("00777"), key("00779"));
    for k in [&a, &b] {
        assert_eq!(k.rule, "anchor");
        assert_eq!(k.matched_on, None);
        assert_eq!(k.customer_id, k.home_id);
        assert!(k.customer_id > before.max_id, "a new id: {k:?}");
        assert_eq!(k.attrs, Some(SourceCustomer::default().fingerprint()));
    }
    assert_eq!(
        b.customer_id,
        a.customer_id + 1,
        "in the order of their numbers"
    );
    let others: Vec<i64> = keys
        .iter()
        .filter(|k| !["00777", "00779"].contains(&k.key.customer_no.as_str()))
        .map(|k| k.customer_id.max(k.home_id))
        .collect();
    assert!(
        others.iter().all(|id| *id < a.customer_id),
        "no id of another key"
    );

    // The directories learn of them as of any new customer.
    let listed = store.directory_changes(generation).await.unwrap().unwrap();
    assert!(listed.customers.contains(&a.customer_id), "{listed:?}");
    assert!(listed.customers.contains(&b.customer_id), "{listed:?}");

    // A full resolution of everything stored comes to the same.
    let full = resolve_store(&store, &cfg).await.unwrap();
    assert_eq!(full.changed, 0, "a full resolution agrees");
    assert_eq!(store.customer_keys().await.unwrap(), keys);
    assert!(matches!(
        resolve_changed(&store, &cfg).await.unwrap(),
        Resolved::Unchanged
    ));

    // A later sync with one more number nothing names: no resolution, a customer of its
    // own after the largest id, listed for the directories.
    let generation = store.identity_generation().await.unwrap();
    let more: Vec<&str> = INVOICES
        .into_iter()
        .chain(["RE-2026-3005;RE;00780;05.12.2026;04.01.2027;30,00;5,70;35,70;35,70;EUR;;0;14 Tage netto"])
        .collect();
    write_items(dir.path(), &more);
    assert_eq!(sync_files(&store, &cfg).await.0, 1);
    match resolve_changed(&store, &cfg).await.unwrap() {
        Resolved::Kept {
            records: 1,
            new_customers: 1,
        } => {}
        other => panic!("expected one new customer without a resolution, got {other:?}"),
    }
    let after = store.customer_keys().await.unwrap();
    let new = after
        .iter()
        .find(|k| k.key == KeyId::new("wawi", "00780"))
        .cloned()
        .expect("00780 has its key");
    assert_eq!(new.rule, "anchor");
    assert_eq!(new.customer_id, new.home_id);
    assert_eq!(new.customer_id, b.customer_id + 1, "after the largest id");
    assert_eq!(after.len(), keys.len() + 1, "nothing else moved");
    let listed = store.directory_changes(generation).await.unwrap().unwrap();
    assert_eq!(listed.customers, vec![new.customer_id]);
    let full = resolve_store(&store, &cfg).await.unwrap();
    assert_eq!(full.changed, 0, "a full resolution agrees");
    assert_eq!(store.customer_keys().await.unwrap(), after);
}

/// The ids of keys a pass deletes and of ids it turns into aliases are not given again: a
/// pass's new customer numbers are numbered from its floor (the first id it read as never
/// given) when that is above every stored id.
async fn new_customer_numbers_start_at_the_floor_of_their_pass(backend: &str) {
    let (store, _guard, dir, cfg) = demo_resolved(backend).await;
    write_items(
        dir.path(),
        &[
            "RE-2026-3001;RE;00781;03.12.2026;02.01.2027;10,00;1,90;11,90;11,90;EUR;;0;14 Tage netto",
        ],
    );
    assert_eq!(sync_files(&store, &cfg).await.0, 1);
    let snap = store.identity_snapshot(false).await.unwrap();
    assert!(snap.docs);
    let floor = snap.max_id + 100;
    let changes = IdentityChanges {
        generation: snap.generation,
        scan_to: snap.scan_to,
        inputs_epoch: snap.inputs_epoch,
        singletons: Some(NewSingletons {
            from: snap.scan_from,
            systems: [("wawi-offene-posten".to_owned(), "wawi".to_owned())].into(),
            floor,
        }),
        ..IdentityChanges::default()
    };
    assert_eq!(store.apply_identity(&changes).await.unwrap(), Some(1));
    let key = store
        .customer_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.key == KeyId::new("wawi", "00781"))
        .expect("00781 has its key");
    assert_eq!((key.customer_id, key.home_id), (floor, floor));
}
