//! Model gaps from real exports (issue 20 item 6) on both stores: credit notes' open
//! remainders netted per customer, the dunning level (Mahnstufe), `extra` fields with their
//! mapping's label in the merged view and the screen-pop, and the stock search
//! (`kontor item`, `GET /api/v1/items`).

use crate::common::nodes::{connectors_toml, run, workspace};
use crate::common::world;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;

both_backends!(
    open_items_net_credit_notes_and_show_dunning_level_and_extra_fields,
    item_finds_stock_by_number_with_leading_zeros_ean_and_name,
    screenpop_and_item_route_carry_netting_dunning_and_stock,
);

const OP: &str = "wawi-offene-posten";
const LAGER: &str = "wawi-lager";

fn customer_json(dir: &Path, no: &str) -> Value {
    let (code, out, err) = run(dir, &["customer", no, "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn invoice<'a>(view: &'a Value, number: &str) -> &'a Value {
    view["open_items"]["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == number)
        .unwrap_or_else(|| panic!("{number}: {view}"))
}

async fn open_items_net_credit_notes_and_show_dunning_level_and_extra_fields(backend: &str) {
    let (_store, guard) = kontor::testing::temp_store(backend).await.unwrap();
    let ws = workspace(guard.url(), &connectors_toml(&["wawi-kunden", OP], ""));
    let dir = ws.path();
    for c in ["wawi-kunden", OP] {
        let (code, out, err) = run(dir, &["sync", c]);
        assert_eq!(code, 0, "{out}{err}");
    }
    let v = customer_json(dir, "00042");
    let oi = &v["open_items"];
    // Open invoices as before (1.190,00 + 975,00), the open credit note GU-2026-0007
    // (119,00-) beside them, and the balance.
    assert_eq!(
        oi["total"],
        json!({"amount": "2165.00", "currency": "EUR"}),
        "{oi}"
    );
    assert_eq!(oi["open_credit_notes"]["amount"], "119.00", "{oi}");
    assert_eq!(oi["open_credit_notes_count"], 1);
    assert_eq!(
        oi["open_net"],
        json!({"amount": "2046.00", "currency": "EUR"})
    );
    let gu = &v["credit_notes"][0];
    assert_eq!(
        (&gu["number"], &gu["open_amount"]["amount"]),
        (&json!("GU-2026-0007"), &json!("119.00"))
    );
    // Mahnstufe per invoice and the highest one.
    assert_eq!(invoice(&v, "RE-2026-1001")["dunning_level"], 2);
    assert_eq!(invoice(&v, "RE-2026-1002")["dunning_level"], 1);
    assert_eq!(oi["dunning_level"], 2);
    // The extra field with the mapping's label.
    assert_eq!(
        invoice(&v, "RE-2026-1002")["extra"],
        json!([{"name": "zahlungsbedingung", "label": "Zahlungsbedingung", "value": "30 Tage netto"}])
    );
    // The human form says it too.
    let (code, out, err) = run(dir, &["customer", "00042"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("less 1 open credit note(s)"), "{out}");
    assert!(out.contains("dunning level 2"), "{out}");
    assert!(out.contains("(Zahlungsbedingung: 14 Tage netto)"), "{out}");

    // A new label shows on the next view, without a sync; without one, the field's name.
    let mapping = dir.join("mappings/wawi-offene-posten.toml");
    let shipped = std::fs::read_to_string(&mapping).unwrap();
    std::fs::write(
        &mapping,
        shipped.replace("label = \"Zahlungsbedingung\"", "label = \"Zahlungsziel\""),
    )
    .unwrap();
    let v = customer_json(dir, "00042");
    assert_eq!(
        invoice(&v, "RE-2026-1002")["extra"][0]["label"],
        "Zahlungsziel"
    );
    std::fs::write(
        &mapping,
        shipped.replace(", label = \"Zahlungsbedingung\"", ""),
    )
    .unwrap();
    let v = customer_json(dir, "00042");
    assert_eq!(
        invoice(&v, "RE-2026-1002")["extra"][0]["label"],
        "zahlungsbedingung"
    );
    // (A changed mapping is another cluster configuration: back to the shipped one.)
    std::fs::write(&mapping, &shipped).unwrap();

    // Customer 00043: 100,00 open, the credit note of 10,00 open.
    let v = customer_json(dir, "00043");
    assert_eq!(v["open_items"]["open_net"]["amount"], "90.00", "{v}");
    assert_eq!(invoice(&v, "RE-2026-1003")["dunning_level"], 0);
    assert_eq!(v["open_items"]["dunning_level"], 0);

    // The next export: the credit note was offset, its remainder is 0: no netting any more.
    let file = dir.join("inbox").join(OP).join("offene_posten.csv");
    let bytes = std::fs::read(&file).unwrap();
    let text = encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned();
    let text = text.replace(
        "GU-2026-0007;GU;00042;20.10.2026;;100,00;19,00;119,00;119,00-;",
        "GU-2026-0007;GU;00042;20.10.2026;;100,00;19,00;119,00;0,00;",
    );
    std::fs::write(dir.join("inbox").join(OP).join("offene_posten_2.csv"), text).unwrap();
    let (code, out, err) = run(dir, &["sync", OP]);
    assert_eq!(code, 0, "{out}{err}");
    let v = customer_json(dir, "00042");
    assert_eq!(v["open_items"]["open_credit_notes_count"], 0, "{v}");
    assert_eq!(v["open_items"]["open_net"]["amount"], "2165.00");
}

/// `lagerbestand.csv` with an EAN column and item numbers that differ only in leading zeros.
fn stock_with_ean(dir: &Path) {
    let text = "Artikelnr;Bezeichnung;Lager;Bestand;Verfügbar;Einheit;Nächster Zugang;EAN\r\n\
        004711;Sicherungsautomat B16;HAUPT;40;32;Stk;03.12.2026;4006381333931\r\n\
        004711;Sicherungsautomat B16;AUSSEN;10;10;Stk;;4006381333931\r\n\
        4711;Sicherungsautomat B10;HAUPT;5;5;Stk;;\r\n\
        0815-A;Spannzange ER32 Ø 10 mm;HAUPT;120;0;Stk;26.11.2026;\r\n";
    let inbox = dir.join("inbox").join(LAGER);
    std::fs::write(inbox.join("lagerbestand.csv"), text).unwrap();
}

fn items(dir: &Path, query: &str) -> (i32, Value) {
    let (code, out, err) = run(dir, &["item", query, "--json"]);
    let v = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    (code, v)
}

fn skus(v: &Value) -> Vec<&str> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap())
        .collect()
}

async fn item_finds_stock_by_number_with_leading_zeros_ean_and_name(backend: &str) {
    let (_store, guard) = kontor::testing::temp_store(backend).await.unwrap();
    let ws = workspace(guard.url(), &connectors_toml(&[LAGER], ""));
    let dir = ws.path();
    stock_with_ean(dir);
    let (code, out, err) = run(dir, &["sync", LAGER]);
    assert_eq!(code, 0, "{out}{err}");

    // The number as written, leading zeros kept: only that item, both warehouses.
    let (code, v) = items(dir, "004711");
    assert_eq!((code, skus(&v)), (0, vec!["004711"]), "{v}");
    let a = &v["items"][0];
    assert_eq!(
        (&a["on_hand"], &a["available"], &a["ean"]),
        (&json!("50"), &json!("42"), &json!("4006381333931"))
    );
    assert_eq!(a["next_receipt_date"], "2026-12-03");
    let houses: Vec<&str> = a["warehouses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["warehouse"].as_str().unwrap())
        .collect();
    assert_eq!(houses.len(), 2, "{a}");
    assert!(houses.contains(&"HAUPT") && houses.contains(&"AUSSEN"));
    assert!(
        a["warehouses"][0]["source"]["position"]
            .as_str()
            .unwrap()
            .contains("lagerbestand.csv:")
    );
    let (_, v) = items(dir, "4711");
    assert_eq!(skus(&v), vec!["4711"], "no leading zeros: another item");
    // EAN, the start of the number, words of the name (umlauts and case folded).
    assert_eq!(skus(&items(dir, "4006381333931").1), vec!["004711"]);
    assert_eq!(skus(&items(dir, "0047").1), vec!["004711"]);
    assert_eq!(skus(&items(dir, "0815-a").1), vec!["0815-A"]);
    assert_eq!(
        skus(&items(dir, "sicherungsautomat").1),
        vec!["004711", "4711"]
    );
    assert_eq!(skus(&items(dir, "SPANNZANGE er32").1), vec!["0815-A"]);
    // Nothing: exit 1, an empty list.
    let (code, v) = items(dir, "Hammer");
    assert_eq!((code, skus(&v).len()), (1, 0));
    // The human form: per warehouse with its source.
    let (code, out, err) = run(dir, &["item", "004711"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("004711  Sicherungsautomat B16  EAN 4006381333931"),
        "{out}"
    );
    assert!(
        out.contains("on hand 50 Stk, available 42 Stk, next receipt 03.12.2026"),
        "{out}"
    );
    assert!(
        out.contains("AUSSEN") && out.contains("← wawi-lager"),
        "{out}"
    );
}

async fn screenpop_and_item_route_carry_netting_dunning_and_stock(backend: &str) {
    let w = world(backend, "").await;
    let id = w.id_of("00042").await;
    let (s, view) = w.get(&format!("/api/v1/customers/{id}"), "sales").await;
    assert_eq!(s, StatusCode::OK, "{view}");
    let oi = &view["open_items"];
    let dec = |v: &Value| {
        v["amount"]
            .as_str()
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap()
    };
    assert!(
        dec(&oi["open_credit_notes"]) >= rust_decimal::Decimal::from(119),
        "{oi}"
    );
    assert_eq!(
        dec(&oi["open_net"]),
        dec(&oi["total"]) - dec(&oi["open_credit_notes"])
    );
    assert_eq!(oi["dunning_level"], 2, "{oi}");
    let re = oi["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == "RE-2026-1001")
        .unwrap();
    assert_eq!(re["dunning_level"], 2);
    assert_eq!(re["extra"][0]["label"], "Zahlungsbedingung", "{re}");

    // The caller-ID result of an incoming call says the same.
    let (s, pop) = w
        .call(
            "POST",
            "/api/v1/calls",
            Some("cti"),
            Some(json!({"from": "0221 4711-0"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{pop}");
    let c = &pop["customer"];
    assert_eq!(c["id"].as_i64(), Some(id), "{pop}");
    assert_eq!(c["dunning_level"], 2, "{pop}");
    assert_eq!(c["open_items_total"], oi["total"]);
    assert_eq!(c["open_credit_notes"], oi["open_credit_notes"]);
    assert_eq!(c["open_net"], oi["open_net"]);
    let (_, pop) = w
        .get("/api/v1/screenpop?number=0221%204711-0", "sales")
        .await;
    assert_eq!(pop["customer"]["dunning_level"], 2, "{pop}");

    // The item search route.
    let (s, found) = w.get("/api/v1/items?q=0815-A", "sales").await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found["items"][0]["sku"], "0815-A");
    assert_eq!(found["items"][0]["warehouses"][0]["warehouse"], "HAUPT");
    let (s, found) = w.get("/api/v1/items?q=Fr%C3%A4ser", "service").await;
    assert_eq!(
        (s, &found["items"][0]["sku"]),
        (StatusCode::OK, &json!("0816-B"))
    );
    let (s, found) = w.get("/api/v1/items?q=nichts%20da", "sales").await;
    assert_eq!(
        (s, found["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    for bad in [
        "/api/v1/items",
        "/api/v1/items?q=%20",
        "/api/v1/items?q=x&limit=0",
    ] {
        let (s, e) = w.get(bad, "sales").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {e}");
    }
    let (s, _) = w.get("/api/v1/items?q=0815-A", "cti").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = w.call("GET", "/api/v1/items?q=0815-A", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // In the OpenAPI document.
    let (_, doc) = w.call("GET", "/api/v1/openapi.json", None, None).await;
    assert!(doc["paths"]["/api/v1/items"]["get"].is_object());
    assert!(doc["components"]["schemas"]["OpenItems"]["properties"]["open_net"].is_object());
}
