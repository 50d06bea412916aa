//! A sync's new customer numbers that nothing can join to another customer (a document's
//! customer number, no party record, cross-reference row or decision naming it) are written
//! by the store in one statement as customers of their own, never held in memory by the
//! resolution (issue 17: a first sync's peak RSS). What they get is what a full resolution
//! gives them; a number a decision names is resolved as before — on both stores.

use crate::identity_incremental_e2e::{demo_resolved, sync_files, write_items};
use kontor::identity::resolve_store;
use kontor::identity::{Decision, DecisionKind, KeyId, Resolved, SourceCustomer, resolve_changed};

both_backends!(new_customer_numbers_of_documents_become_customers_of_their_own);

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

    write_items(
        dir.path(),
        &[
            "RE-2026-3001;RE;00779;03.12.2026;02.01.2027;10,00;1,90;11,90;11,90;EUR;;0;14 Tage netto",
            "RE-2026-3002;RE;00777;03.12.2026;02.01.2027;10,00;1,90;11,90;11,90;EUR;;0;14 Tage netto",
            "RE-2026-3003;RE;00778;03.12.2026;02.01.2027;10,00;1,90;11,90;11,90;EUR;;0;14 Tage netto",
            "RE-2026-3004;RE;00777;04.12.2026;03.01.2027;20,00;3,80;23,80;23,80;EUR;;0;14 Tage netto",
        ],
    );
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
}
