//! An API node's directory after a sync reads only the customers that changed (issue 17,
//! target 3) and answers as one loaded anew — on both stores.

use crate::identity_incremental_e2e::{
    config_with, demo_resolved, edit_customers, resolves, sync_files,
};
use kontor::directory::Directory;
use kontor::identity::{Resolved, resolve_changed};
use kontor::store::{DynStore, KeyRow};
use kontor::testing::temp_store;

both_backends!(
    a_directory_reads_only_the_changed_customers_and_answers_as_one_loaded_anew,
    a_contact_person_closed_in_a_pass_that_moves_no_key_leaves_the_directory,
);

/// What a directory says of every customer and of a few searches, to compare two.
async fn directory_answers(
    d: &kontor::directory::Directory,
    store: &DynStore,
    ids: &[i64],
) -> Vec<String> {
    let mut out = vec![format!("{} customers", d.len())];
    for id in ids {
        out.push(format!("{:?}", d.entry(*id)));
    }
    for q in ["Köln", "Köln-Altstadt", "Müller", "0221 4711-0", "00042"] {
        let page = d.search(store, q, 100, None).await.unwrap();
        let mut hits: Vec<(i64, Option<String>)> =
            page.hits.into_iter().map(|h| (h.id, h.city)).collect();
        hits.sort();
        out.push(format!("{q}: {hits:?}"));
    }
    out
}

/// After a sync that changed one customer's city, an API node reads only that customer
/// (issue 17, target 3) and its directory answers as one loaded anew; after an erasure it
/// loads everything again.
async fn a_directory_reads_only_the_changed_customers_and_answers_as_one_loaded_anew(
    backend: &str,
) {
    let (store, _guard, dir, cfg) = demo_resolved(backend).await;
    let policy = kontor::view::Policy::default();
    let before = Directory::load(&store, &policy, "DE").await.unwrap();
    let keys = store.customer_keys().await.unwrap();
    let mut ids: Vec<i64> = keys.iter().map(|k| k.customer_id).collect();
    ids.dedup();
    let id = keys
        .iter()
        .find(|k| k.key.customer_no == "00042")
        .unwrap()
        .customer_id;

    edit_customers(dir.path(), |lines| {
        lines
            .into_iter()
            .map(|l| l.replace(";50667;Köln;", ";50667;Köln-Altstadt;"))
            .collect()
    });
    assert_eq!(sync_files(&store, &cfg).await, (1, 0));
    assert!(matches!(
        resolve_changed(&store, &cfg).await.unwrap(),
        Resolved::Kept { .. }
    ));
    let changes = store
        .directory_changes(before.generation)
        .await
        .unwrap()
        .expect("the store lists the changed customers");
    assert_eq!(changes.generation, before.generation + 1);
    assert_eq!(
        changes.customers,
        [id],
        "only the customer whose city changed"
    );

    let after = before
        .refreshed(&store, &policy, "DE")
        .await
        .unwrap()
        .expect("read as a list");
    assert_eq!(after.generation, before.generation + 1);
    assert_eq!(after.changed_since_load(), 1);
    // Other settings (a configuration reloaded): the changed customers alone would be built
    // by other rules than the rest — everything is loaded.
    let other = kontor::view::Policy {
        by_priority: true,
        ..Default::default()
    };
    assert!(
        before
            .refreshed(&store, &other, "DE")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        before
            .refreshed(&store, &policy, "AT")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        after.entry(id).unwrap().city.as_deref(),
        Some("Köln-Altstadt")
    );
    let anew = Directory::load(&store, &policy, "DE").await.unwrap();
    assert_eq!(
        directory_answers(&after, &store, &ids).await,
        directory_answers(&anew, &store, &ids).await
    );
    // Nothing more changed: the same generation, nothing to read.
    let same = store
        .directory_changes(after.generation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (same.generation, same.customers),
        (after.generation, vec![])
    );

    // Ops split a source customer off (a full resolution): its key moves to a new customer;
    // both are read again, and the directory still answers as one loaded anew.
    use kontor::identity::{Decision, DecisionKind};
    let mine: Vec<&KeyRow> = keys.iter().filter(|k| k.customer_id == id).collect();
    assert!(
        mine.len() >= 2,
        "the demo's Müller has several source customers: {mine:?}"
    );
    let split = Decision::new(
        DecisionKind::Unlink,
        mine[0].key.clone(),
        mine[1].key.clone(),
    );
    store.record_decisions(&[split], &[]).await.unwrap();
    assert!(resolves(&store, &cfg).await, "a decision");
    let moved = store.customer_keys().await.unwrap();
    let new_id = moved
        .iter()
        .map(|k| k.customer_id)
        .find(|c| !ids.contains(c))
        .expect("a new customer for the key split off");
    let changes = store
        .directory_changes(after.generation)
        .await
        .unwrap()
        .expect("a decision's moves are listed");
    assert_eq!(changes.customers, [id, new_id]);
    let split = after
        .refreshed(&store, &policy, "DE")
        .await
        .unwrap()
        .expect("read as a list");
    assert_eq!(split.changed_since_load(), 2);
    ids.push(new_id);
    let anew = Directory::load(&store, &policy, "DE").await.unwrap();
    assert_eq!(
        directory_answers(&split, &store, &ids).await,
        directory_answers(&anew, &store, &ids).await
    );
    let after = split;

    // An erasure rewrites records outside runs: the next generation cannot be a list.
    crate::common::erase_a_customer_record(&store).await;
    assert!(resolves(&store, &cfg).await, "an erased record");
    assert_eq!(
        store.directory_changes(after.generation).await.unwrap(),
        None
    );
    assert!(
        after
            .refreshed(&store, &policy, "DE")
            .await
            .unwrap()
            .is_none()
    );
}

/// Found in review: a resolution that moved no key (here a full one, after an ops decision
/// was withdrawn) passed a closed contact person without moving the generation, so a node
/// reading only the changed customers would have shown its number for good. Now the pass
/// moves the generation and lists its customer.
async fn a_contact_person_closed_in_a_pass_that_moves_no_key_leaves_the_directory(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    kontor::demo::write_workspace(dir.path()).unwrap();
    std::fs::write(
        dir.path().join("mappings/ansprechpartner.toml"),
        "[source]\ndelimiter = \";\"\n\n[[target]]\nentity = \"contact_person\"\n[target.fields]\n\
         customer_no = { column = \"Kundennr\", required = true }\nname = \"Name\"\nphones = \"Telefon\"\n",
    )
    .unwrap();
    let people = dir.path().join("inbox/wawi/ansprechpartner.csv");
    std::fs::write(
        &people,
        "Kundennr;Name;Telefon\r\n00042;Frau Kluge;0221 4711-55\r\n00043;Herr Brot;089 123456-77\r\n",
    )
    .unwrap();
    let extra = "\n[[connector]]\nname = \"wawi-ansprechpartner\"\nkind = \"csv\"\nsystem = \"wawi\"\n\
                 path = \"inbox/wawi/ansprechpartner.csv\"\nmapping = \"mappings/ansprechpartner.toml\"\n\
                 mode = \"snapshot\"\n";
    let cfg = config_with(dir.path(), "", extra);
    let (written, _) = sync_files(&store, &cfg).await;
    assert!(written > 0);
    assert!(resolves(&store, &cfg).await);
    let policy = kontor::view::Policy::default();
    let before = Directory::load(&store, &policy, "DE").await.unwrap();
    let contact = |d: &Directory| {
        d.lookup_phone("0221 4711-55")
            .unwrap()
            .candidates
            .iter()
            .filter_map(|c| c.contact.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(contact(&before), ["Frau Kluge"]);

    std::fs::write(
        &people,
        "Kundennr;Name;Telefon\r\n00043;Herr Brot;089 123456-77\r\n",
    )
    .unwrap();
    assert_eq!(
        sync_files(&store, &cfg).await,
        (0, 1),
        "the contact person closed"
    );
    // A withdrawn decision: the next resolution is a full one, and it moves no key.
    store.record_decisions(&[], &[]).await.unwrap();
    assert!(matches!(
        resolve_changed(&store, &cfg).await.unwrap(),
        Resolved::Resolved(r) if r.changed == 0
    ));
    let after = before
        .refreshed(&store, &policy, "DE")
        .await
        .unwrap()
        .expect("read as a list");
    assert!(after.generation > before.generation, "the generation moved");
    assert!(contact(&after).is_empty(), "{:?}", contact(&after));
    let anew = Directory::load(&store, &policy, "DE").await.unwrap();
    assert!(contact(&anew).is_empty());
}
