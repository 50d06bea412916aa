//! Identity triage at scale (issue 20 item 5) on both stores: 150 WaWi customers sharing
//! `info@firma.de`, `buchhaltung@firma.de` and a switchboard number among many, plus a few
//! true duplicates across WaWi and the shop. Generic addresses and phones make no
//! suggestions, the rest is grouped by cluster and decided in bulk, the ignore list works.

use crate::common::nodes::{run, workspace, write_config};
use serde_json::Value;
use std::path::Path;

both_backends!(generic_addresses_make_no_suggestions_and_the_rest_is_decided_in_bulk);

const HEADER: &str = "Kundennr;Firma;Namenszusatz;Straße;PLZ;Ort;Land;Telefon;Mobil;Fax;E-Mail;USt-IdNr.;GLN;Zahlungsziel (Tage)\n";

fn row(no: &str, name: &str, postcode: &str, phone: &str, email: &str) -> String {
    format!("{no};{name};;Hauptstr. 1;{postcode};Berlin;DE;{phone};;;{email};;;30\n")
}

/// WaWi: 150 customers of one group; the shop: three customers.
fn write_exports(dir: &Path) {
    let mut wawi = String::from(HEADER);
    for i in 1..=150 {
        let no = format!("{}", 10000 + i);
        let postcode = format!("{}", 20000 + i);
        let (name, phone, email) = match i {
            1..=100 => (format!("Filiale {i}"), "", "info@firma.de".to_owned()),
            101..=120 => (format!("Filiale {i}"), "", "buchhaltung@firma.de".into()),
            121..=130 => (format!("Filiale {i}"), "030 1234567", String::new()),
            131..=132 => (format!("Filiale {i}"), "", "rechnung@firma.de".into()),
            133..=134 => (format!("Filiale {i}"), "089 7654321", String::new()),
            135..=137 => (
                "Schulz Bau GmbH".into(),
                "",
                "m.schulz@schulz-bau.de".into(),
            ),
            138..=139 => (
                "Wagner Metall KG".into(),
                "",
                "k.wagner@wagner-metall.de".into(),
            ),
            140 => (
                "Bäckerei Huber GmbH".into(),
                "",
                "huber@baeckerei-huber.de".into(),
            ),
            _ => (format!("Kunde {i}"), "", format!("post@kunde{i}.de")),
        };
        let postcode = if i == 140 { "80331".into() } else { postcode };
        wawi.push_str(&row(&no, &name, &postcode, phone, &email));
    }
    std::fs::write(dir.join("inbox/wawi-kunden/kunden.csv"), wawi).unwrap();
    let shop = [
        HEADER.to_owned(),
        row(
            "S001",
            "Schulz Bau GmbH",
            "99999",
            "",
            "m.schulz@schulz-bau.de",
        ),
        row(
            "S002",
            "Baeckerei Huber",
            "80331",
            "",
            "laden@huber-backwaren.de",
        ),
        row("S003", "Irgendwer AG", "55555", "", "info@firma.de"),
    ]
    .concat();
    std::fs::create_dir_all(dir.join("inbox/shop-kunden")).unwrap();
    std::fs::write(dir.join("inbox/shop-kunden/kunden.csv"), shop).unwrap();
}

fn config(dir: &Path, store_url: &str, identity: &str) {
    let mut c = String::new();
    for (name, system) in [("wawi-kunden", "wawi"), ("shop-kunden", "shop")] {
        c.push_str(&format!(
            "[[connector]]\nname = \"{name}\"\nkind = \"csv\"\nsystem = \"{system}\"\npath = \"inbox/{name}\"\n\
             mapping = \"mappings/wawi-kunden.toml\"\nmin_age_seconds = 0\n\n"
        ));
    }
    c.push_str(&format!("[identity]\n{identity}\n"));
    write_config(dir, "kontor.toml", store_url, "", &c);
}

fn open_suggestions(dir: &Path) -> Vec<Value> {
    let (code, out, err) = run(dir, &["identity", "suggestions", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn generic_addresses_make_no_suggestions_and_the_rest_is_decided_in_bulk(backend: &str) {
    let (store, guard) = kontor::testing::temp_store(backend).await.unwrap();
    let ws = workspace(guard.url(), "");
    let dir = ws.path();
    write_exports(dir);
    config(dir, guard.url(), "");
    let (code, out, err) = run(dir, &["sync", "--all"]);
    assert_eq!(code, 0, "{out}{err}");

    // Without generic detection: 190 pairs of buchhaltung@, 45 of the switchboard, … Now:
    // the three Schulz numbers (one cluster), the Wagner pair, Huber by name, and the pair
    // sharing 089 7654321 (two numbers are not generic by count).
    let list = open_suggestions(dir);
    let rules: Vec<&str> = list.iter().map(|s| s["rule"].as_str().unwrap()).collect();
    assert_eq!(list.len(), 6, "{list:#?}");
    assert_eq!(rules.iter().filter(|r| **r == "email_blocked").count(), 4);
    assert_eq!(rules.iter().filter(|r| **r == "phone_blocked").count(), 1);
    assert_eq!(rules.iter().filter(|r| **r == "name_postcode").count(), 1);
    for s in &list {
        let reason = s["reason"].as_str().unwrap();
        assert!(!reason.contains("firma.de"), "{s}");
        assert!(!reason.contains("+49301234567"), "{s}");
        // Per suggestion fields kept, the cluster added.
        for f in ["id", "a", "b", "a_customer_id", "score", "rule", "status"] {
            assert!(!s[f].is_null(), "{f}: {s}");
        }
    }
    let schulz: Vec<&Value> = list
        .iter()
        .filter(|s| {
            s["reason"]
                .as_str()
                .unwrap()
                .contains("m.schulz@schulz-bau.de")
        })
        .collect();
    assert_eq!(schulz.len(), 3, "{list:#?}");
    let cluster = schulz[0]["cluster"].as_i64().unwrap();
    assert!(
        schulz
            .iter()
            .all(|s| s["cluster"].as_i64() == Some(cluster))
    );
    assert_eq!(
        cluster,
        schulz
            .iter()
            .map(|s| s["id"].as_i64().unwrap())
            .min()
            .unwrap()
    );
    let clusters: std::collections::BTreeSet<i64> = list
        .iter()
        .map(|s| s["cluster"].as_i64().unwrap())
        .collect();
    assert_eq!(clusters.len(), 4, "{list:#?}");

    // The listing shows the clusters with their evidence.
    let (code, out, err) = run(dir, &["identity", "suggestions"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!(
            "cluster {cluster}: 3 customers, 3 suggestion(s), email_blocked"
        )),
        "{out}"
    );
    assert!(out.contains("same email m.schulz@schulz-bau.de, but both are customers of wawi"));
    assert!(
        err.contains("6 open suggestion(s) in 4 cluster(s)"),
        "{err}"
    );
    let (_, out, _) = run(dir, &["identity", "resolve"]);
    assert!(out.contains("suggestions=6 ambiguous=0 generic=4"), "{out}");

    // What is generic, and why.
    let (code, out, err) = run(dir, &["identity", "generic"]);
    assert_eq!(code, 0, "{out}{err}");
    for want in [
        "email  buchhaltung@firma.de  shared by 20 customer numbers of wawi",
        "email  info@firma.de  shared by 100 customer numbers of wawi",
        "email  rechnung@firma.de  a role address at firma.de, which 122 customer numbers of wawi use",
        "phone  +49301234567  shared by 10 customer numbers of wawi",
    ] {
        assert!(out.contains(want), "{want}\n{out}");
    }
    assert_eq!(out.lines().count(), 4, "{out}");

    // The ignore list: the phone two numbers share is no evidence either.
    // A changed [identity] section is the cluster's configuration once taken over.
    config(dir, guard.url(), "ignore = [\"+49 89 7654321\"]");
    let (code, _, err) = run(dir, &["identity", "resolve"]);
    assert_ne!(code, 0);
    assert!(err.contains("[identity] differs"), "{err}");
    let (code, out, err) = run(dir, &["--take-over-config", "identity", "resolve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("suggestions=5 ambiguous=0 generic=5"), "{out}");
    let list = open_suggestions(dir);
    assert_eq!(list.len(), 5, "{list:#?}");
    assert!(list.iter().all(|s| s["rule"] != "phone_blocked"));
    let (_, out, _) = run(dir, &["identity", "generic"]);
    assert!(
        out.contains("phone  +49897654321  on the ignore list"),
        "{out}"
    );

    // Bulk by rule and system: a dry run first, then for real.
    let bulk = ["identity", "confirm", "--rule", "email", "--system", "wawi"];
    let (code, out, err) = run(dir, &[&bulk[..], &["--dry-run"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("would confirm 4 suggestion(s) in 2 cluster(s) (rule email, system wawi)"),
        "{out}"
    );
    assert_eq!(open_suggestions(dir).len(), 5);
    let (code, out, err) = run(dir, &bulk);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("confirmed 4 suggestion(s) in 2 cluster(s) (rule email, system wawi)"),
        "{out}"
    );
    assert!(
        out.contains("m.schulz@schulz-bau.de") && out.contains("k.wagner@"),
        "{out}"
    );
    assert_eq!(out.matches("[confirmed]").count(), 4, "{out}");
    let keys = store.customer_keys().await.unwrap();
    let id = |sys: &str, no: &str| {
        keys.iter()
            .find(|k| k.key.system == sys && k.key.customer_no == no)
            .unwrap_or_else(|| panic!("{sys}:{no}"))
            .customer_id
    };
    let schulz = id("shop", "S001");
    for no in ["10135", "10136", "10137"] {
        assert_eq!(id("wawi", no), schulz, "{no}");
    }
    assert_eq!(id("wawi", "10138"), id("wawi", "10139"));
    assert_ne!(id("wawi", "10001"), id("wawi", "10002"));

    // What is left: Huber by name, decided by its cluster.
    let list = open_suggestions(dir);
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["rule"], "name_postcode");
    let c = list[0]["cluster"].as_i64().unwrap().to_string();
    let (code, out, err) = run(dir, &["identity", "reject", "--cluster", &c]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "rejected 1 suggestion(s) in 1 cluster(s) (cluster {c})"
        )),
        "{out}"
    );
    assert!(open_suggestions(dir).is_empty());
    let (_, _, err) = run(dir, &["identity", "suggestions"]);
    assert!(err.contains("no open suggestions"), "{err}");
    assert_ne!(id("wawi", "10140"), id("shop", "S002"));

    // A rule no suggestion has is named, not silently nothing.
    let (code, _, err) = run(dir, &["identity", "confirm", "--rule", "mail"]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown rule `mail`"), "{err}");
    // A single id still works as before.
    let (code, _, err) = run(dir, &["identity", "confirm", "99999"]);
    assert_ne!(code, 0);
    assert!(err.contains("no suggestion 99999"), "{err}");
}
