//! Quotes (Angebote) through the API on SQLite and PostgreSQL: the demo's WaWi quotes (dated
//! around today) and openTRANS RFQ, plus an openTRANS QUOTATION and an order naming its quote.
//! Open quotes with the days to expiry, expired/accepted/rejected ones not; an accepted quote
//! links to its order and back; the timeline; the reminder before expiry, never twice.

use crate::common;

use chrono::NaiveDate;
use common::world;
use reqwest::StatusCode;
use serde_json::Value;

both_backends!(
    open_quotes_show_their_expiry_and_closed_ones_do_not,
    an_accepted_quote_opens_with_its_order,
    a_quote_about_to_expire_suggests_one_reminder,
    an_opentrans_quotation_and_an_order_naming_it,
    sap_b1_quotations_and_the_order_copied_from_one,
    erp_quotes_with_their_quirks,
);

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn numbers(quotes: &Value) -> Vec<&str> {
    quotes
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["number"].as_str().unwrap())
        .collect()
}

async fn open_quotes_show_their_expiry_and_closed_ones_do_not(backend: &str) {
    let w = world(backend, "").await;
    let id = w.id_of("00042").await;
    let (s, card) = w.get(&format!("/api/v1/customers/{id}"), "sales").await;
    assert_eq!(s, StatusCode::OK);
    let quotes = &card["open_quotes"];
    // Soonest to expire first; the customer's request (no validity) last. Accepted AN-0290
    // and rejected AN-0299 are not open.
    assert_eq!(
        numbers(quotes),
        ["AN-0318", "AN-0325", "ANF-2026-81"],
        "{quotes}"
    );
    assert_eq!(quotes[0]["days_to_expiry"], 3);
    assert_eq!(quotes[0]["status"], "open");
    assert_eq!(quotes[0]["total"]["amount"], "4280.00");
    assert_eq!(quotes[0]["request_ref"], "ANF-77");
    assert_eq!(quotes[0]["source"]["connector"], "wawi-angebote");
    assert_eq!(quotes[1]["days_to_expiry"], 28);
    assert_eq!(quotes[2]["status"], "requested");
    assert_eq!(quotes[2]["days_to_expiry"], Value::Null);
    assert_eq!(quotes[2]["lines"], 1);
    assert_eq!(quotes[2]["source"]["connector"], "opentrans");

    // 00047's only quote passed its date while its source still says "Offen": expired.
    let other = w.id_of("00047").await;
    let (_, card) = w.get(&format!("/api/v1/customers/{other}"), "sales").await;
    assert_eq!(card["open_quotes"], serde_json::json!([]));
    let (s, doc) = w
        .get(
            &format!("/api/v1/customers/{other}/documents/quote/AN-0301"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{doc}");
    assert_eq!(doc["status"], "expired");
    assert_eq!(
        doc["valid_until"],
        (today() - chrono::Duration::days(10)).to_string()
    );
    // Another customer's quote does not open.
    let (s, _) = w
        .get(
            &format!("/api/v1/customers/{id}/documents/quote/AN-0301"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The timeline has them as quotes, the accepted one with its order.
    let (s, page) = w
        .get(
            &format!("/api/v1/customers/{id}/timeline?kinds=quote&limit=20"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    let titles: Vec<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
    for t in [
        "Angebot AN-0290",
        "Angebot AN-0318",
        "Angebot AN-0325",
        "Angebot AN-0299",
        "Anfrage ANF-2026-81",
    ] {
        assert!(titles.contains(&t), "{t} in {titles:?}");
    }
    let accepted = items.iter().find(|i| i["reference"] == "AN-0290").unwrap();
    assert_eq!(accepted["kind"], "quote");
    assert_eq!(
        accepted["detail"],
        "1190.00 EUR, gültig bis ".to_owned()
            + &(today() - chrono::Duration::days(6)).to_string()
            + ", angenommen → Auftrag AB-50001",
    );
}

async fn an_accepted_quote_opens_with_its_order(backend: &str) {
    let w = world(backend, "").await;
    let id = w.id_of("00042").await;
    let (s, quote) = w
        .get(
            &format!("/api/v1/customers/{id}/documents/quote/AN-0290"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{quote}");
    assert_eq!(quote["kind"], "quote");
    assert_eq!(quote["status"], "accepted");
    assert_eq!(quote["gross"]["amount"], "1190.00");
    assert_eq!(
        quote["issue_date"],
        (today() - chrono::Duration::days(34)).to_string()
    );
    assert_eq!(
        quote["related"],
        serde_json::json!([{"kind": "order", "number": "AB-50001", "relation": "became_order"}])
    );
    let (s, order) = w
        .get(
            &format!("/api/v1/customers/{id}/documents/order/AB-50001"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let related = order["related"].as_array().unwrap();
    assert!(
        related.iter().any(|r| r["kind"] == "quote"
            && r["number"] == "AN-0290"
            && r["relation"] == "from_quote"),
        "{related:?}"
    );
}

async fn a_quote_about_to_expire_suggests_one_reminder(backend: &str) {
    let w = world(backend, "").await;
    let id = w.id_of("00042").await;
    let cfg =
        kontor::config::Config::parse("k.toml", "", std::path::PathBuf::from("."), Vec::new())
            .unwrap();
    assert_eq!(cfg.reminders.quote_days, 5, "the default");
    for _ in 0..2 {
        common::suggest_reminders(&w, "", today(), false).await;
    }
    let all = common::reminders_of(&w, id).await;
    let quotes: Vec<&Value> = all
        .iter()
        .filter(|r| r["source"] == "quote_expiring")
        .collect();
    // AN-0318 expires in 3 days; AN-0325 (28 days) not yet; the accepted AN-0290 never.
    assert_eq!(quotes.len(), 1, "once, for one quote: {all:?}");
    let until = (today() + chrono::Duration::days(3))
        .format("%d.%m.%Y")
        .to_string();
    assert_eq!(
        quotes[0]["title"],
        format!("Angebot AN-0318 läuft am {until} ab — nachfassen")
    );
    assert_eq!(
        quotes[0]["reason"],
        format!("Angebot über 4.280,00 €, gültig bis {until} (in 3 Tagen)")
    );

    // With 30 days' notice the later quote is due too — and the first is not suggested again.
    let s = common::suggest_reminders(&w, "[reminders]\nquote_days = 30\n", today(), false).await;
    assert_eq!(s.created, 1, "only AN-0325 is new");
    let bad = kontor::config::Config::parse(
        "k.toml",
        "[reminders]\nquote_days = -1\n",
        std::path::PathBuf::from("."),
        Vec::new(),
    )
    .unwrap_err();
    assert!(format!("{bad:?}").contains("quote_days"), "{bad:?}");
}

/// An openTRANS QUOTATION (hand-written after the 2.1 element names) and an openTRANS ORDER
/// whose `SOURCING_INFO/QUOTATION_ID` names it: the quote is accepted then.
async fn an_opentrans_quotation_and_an_order_naming_it(backend: &str) {
    let inbox = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/connectors/xml/tests/data/opentrans_quotation.xml"
        ),
        inbox.path().join("QUOTATION.xml"),
    )
    .unwrap();
    let config = format!(
        "[[connector]]\nname = \"angebote-xml\"\nkind = \"xml\"\npath = \"{0}\"\nformat = \"auto\"\n\n\
         [sync]\nallowed_roots = [\"{0}\"]\n",
        inbox.path().display()
    );
    let w = world(backend, &config).await;
    let id = w.id_of("00042").await;
    let until: NaiveDate = "2026-12-10".parse().unwrap();
    let (s, doc) = w
        .get(
            &format!("/api/v1/customers/{id}/documents/quote/AN-2026-0312"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{doc}");
    assert_eq!(doc["valid_until"], "2026-12-10");
    assert_eq!(doc["gross"]["amount"], "4280.00");
    assert_eq!(doc["lines"].as_array().unwrap().len(), 2);
    assert_eq!(doc["lines"][0]["net"]["amount"], "2140.00");
    let want = if today() > until { "expired" } else { "open" };
    assert_eq!(doc["status"], want);

    // The buyer orders it: an ORDER that names the quotation in its sourcing info.
    let order = r#"<?xml version="1.0" encoding="UTF-8"?>
<ORDER version="2.1" type="standard" xmlns="http://www.opentrans.org/XMLSchema/2.1" xmlns:bme="http://www.bmecat.org/bmecat/2005">
  <ORDER_HEADER>
    <SOURCING_INFO><QUOTATION_ID>AN-2026-0312</QUOTATION_ID></SOURCING_INFO>
    <ORDER_INFO>
      <ORDER_ID>B-2026-0917</ORDER_ID>
      <ORDER_DATE>2026-12-02</ORDER_DATE>
      <PARTIES>
        <PARTY><bme:PARTY_ID type="supplier_specific">00042</bme:PARTY_ID><PARTY_ROLE>buyer</PARTY_ROLE>
          <ADDRESS><bme:NAME>Müller &amp; Söhne GmbH</bme:NAME><bme:VAT_ID>DE123456788</bme:VAT_ID></ADDRESS></PARTY>
      </PARTIES>
      <ORDER_PARTIES_REFERENCE><BUYER_IDREF type="supplier_specific">00042</BUYER_IDREF></ORDER_PARTIES_REFERENCE>
    </ORDER_INFO>
  </ORDER_HEADER>
  <ORDER_ITEM_LIST>
    <ORDER_ITEM><LINE_ITEM_ID>1</LINE_ITEM_ID><PRODUCT_ID><bme:SUPPLIER_PID>0815-A</bme:SUPPLIER_PID></PRODUCT_ID><QUANTITY>100</QUANTITY><bme:ORDER_UNIT>C62</bme:ORDER_UNIT></ORDER_ITEM>
  </ORDER_ITEM_LIST>
  <ORDER_SUMMARY><TOTAL_ITEM_NUM>1</TOTAL_ITEM_NUM></ORDER_SUMMARY>
</ORDER>
"#;
    std::fs::write(inbox.path().join("ORDER.xml"), order).unwrap();
    let report = common::sync_connector(&w.store, w._dir.path(), &config, "angebote-xml").await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let (_, doc) = w
        .get(
            &format!("/api/v1/customers/{id}/documents/quote/AN-2026-0312"),
            "sales",
        )
        .await;
    assert_eq!(doc["status"], "accepted", "{doc}");
    assert_eq!(
        doc["related"],
        serde_json::json!([{"kind": "order", "number": "B-2026-0917", "relation": "became_order"}])
    );
    let (_, card) = w.get(&format!("/api/v1/customers/{id}"), "sales").await;
    assert!(
        !numbers(&card["open_quotes"]).contains(&"AN-2026-0312"),
        "{}",
        card["open_quotes"]
    );
}

/// SAP Business One: `Quotations` (DocDueDate = valid until) from the mock Service Layer; a
/// quotation copied to an order is closed there like one closed by hand — the order's lines
/// (BaseType 23, BaseRef) tell which was accepted.
async fn sap_b1_quotations_and_the_order_copied_from_one(backend: &str) {
    let (store, _guard) = kontor::testing::temp_store(backend).await.unwrap();
    let erp = kontor_rest::mock::MockErp::start("sap-b1").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), kontor_rest::mock::SAP_PASSWORD).unwrap();
    let connectors = format!(
        "[[connector]]\nname = \"sap\"\nkind = \"rest\"\nbase_url = \"{}\"\nprofile = \"sap-b1\"\n\
         auth = {{ kind = \"sap_b1_session\", company_db = \"SBODEMODE\", username = \"manager\", password_file = \"secret\" }}\n",
        erp.uri()
    );
    let report = common::sync_connector(&store, dir.path(), &connectors, "sap").await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let quotes = store
        .records(Some("sap"), Some("quote"), 100)
        .await
        .unwrap();
    let by_no = |no: &str| {
        quotes
            .iter()
            .find(|r| r.data["number"] == no)
            .unwrap_or_else(|| panic!("quote {no} in {quotes:?}"))
    };
    assert_eq!(quotes.len(), 4);
    assert_eq!(by_no("40002").data["valid_until"], "2027-01-31");
    assert_eq!(by_no("40002").data["status"], "open");
    assert_eq!(by_no("40002").data["total"]["amount"], "1190.00");
    assert_eq!(by_no("40004").data["status"], "cancelled");
    let order = store
        .records(Some("sap"), Some("order"), 100)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.data["number"] == "30001")
        .unwrap();
    assert_eq!(order.data["quote_ref"], "40001", "{}", order.data);

    let cfg = kontor::config::Config::parse(
        "kontor.toml",
        &format!("[store]\nurl = \"sqlite::memory:\"\n\n{connectors}"),
        dir.path().into(),
        Vec::new(),
    )
    .unwrap();
    kontor::identity::resolve_store(&store, &cfg).await.unwrap();
    let ctx = kontor::view::ViewContext::from_config(&cfg);
    let dir = kontor::directory::Directory::load(&store, &ctx.policy, "DE")
        .await
        .unwrap();
    let day: NaiveDate = "2026-12-06".parse().unwrap();
    let view = |no: &'static str| {
        let (store, ctx, dir) = (&store, &ctx, &dir);
        async move {
            let id = dir.customer_of("sap", no).unwrap();
            kontor::view::customer_view(store, ctx, id, day)
                .await
                .unwrap()
                .unwrap()
        }
    };
    // Copied to order 30001: accepted, not open; the order shows where it came from.
    let mueller = view("K10001").await;
    assert!(mueller.open_quotes.is_empty(), "{:?}", mueller.open_quotes);
    let known = dir.known(mueller.id).unwrap();
    let doc = kontor::view::document(&store, &ctx, known, "quote", "40001", day)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(doc.status.as_deref(), Some("accepted"));
    assert_eq!(doc.related.len(), 1);
    assert_eq!(
        (
            doc.related[0].number.as_str(),
            doc.related[0].relation.as_str()
        ),
        ("30001", "became_order")
    );
    // Open, valid until the end of January.
    let baeckerei = view("K10002").await;
    assert_eq!(baeckerei.open_quotes.len(), 1);
    assert_eq!(baeckerei.open_quotes[0].number, "40002");
    assert_eq!(baeckerei.open_quotes[0].days_to_expiry, Some(56));
    // Closed without an order: not accepted, not open.
    let juergens = view("K10003").await;
    assert!(juergens.open_quotes.is_empty());
    let known = dir.known(juergens.id).unwrap();
    let doc = kontor::view::document(&store, &ctx, known, "quote", "40003", day)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(doc.status.as_deref(), Some("rejected"));
}

/// ERPNext `Quotation` (a lead's quotation has no customer and is filtered out; Ordered →
/// accepted, Lost → rejected), Business Central `salesQuotes` (the status "Expired " with its
/// trailing space; "0001-01-01" for an empty validity) and weclapp `quotation` (epoch ms).
async fn erp_quotes_with_their_quirks(backend: &str) {
    let (store, _guard) = kontor::testing::temp_store(backend).await.unwrap();
    let sources = [
        (
            "erpnext",
            kontor_rest::mock::ERPNEXT_TOKEN,
            "{ kind = \"token\", token_file = \"secret\" }".to_owned(),
        ),
        (
            "business-central",
            kontor_rest::mock::BC_CLIENT_SECRET,
            "{ kind = \"oauth2_client_credentials\", token_url = \"{uri}/kontor-demo.onmicrosoft.com/oauth2/v2.0/token\", \
             client_id = \"3f6a1c2e-8b4d-4e5f-9a7b-2c1d0e9f8a71\", client_secret_file = \"secret\" }\ncompany = \"CRONUS AG\""
                .to_owned(),
        ),
        (
            "weclapp",
            kontor_rest::mock::WECLAPP_TOKEN,
            "{ kind = \"api_key\", header = \"AuthenticationToken\", key_file = \"secret\" }".to_owned(),
        ),
    ];
    for (profile, secret, auth) in sources {
        let erp = kontor_rest::mock::MockErp::start(profile).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), secret).unwrap();
        let connectors = format!(
            "[[connector]]\nname = \"{profile}\"\nkind = \"rest\"\nbase_url = \"{}\"\nprofile = \"{profile}\"\nauth = {}\n",
            erp.uri(),
            auth.replace("{uri}", &erp.uri())
        );
        let report = common::sync_connector(&store, dir.path(), &connectors, profile).await;
        assert!(report.errors.is_empty(), "{profile}: {:?}", report.errors);
    }
    let quote = |connector: &'static str, no: &'static str| {
        let store = &store;
        async move {
            store
                .records(Some(connector), Some("quote"), 100)
                .await
                .unwrap()
                .into_iter()
                .find(|r| r.data["number"] == no)
                .unwrap_or_else(|| panic!("{connector} quote {no}"))
                .data
        }
    };
    let erpnext = store
        .records(Some("erpnext"), Some("quote"), 100)
        .await
        .unwrap();
    assert_eq!(erpnext.len(), 4, "the lead's quotation is not a customer's");
    let q = quote("erpnext", "SAL-QTN-2026-0051").await;
    assert_eq!(
        (
            q["status"].as_str(),
            q["valid_until"].as_str(),
            q["customer_no"].as_str()
        ),
        (Some("open"), Some("2027-01-31"), Some("CUST-10002"))
    );
    assert_eq!(q["total"]["amount"], "1190.00");
    assert_eq!(
        quote("erpnext", "SAL-QTN-2026-0040").await["status"],
        "accepted"
    );
    assert_eq!(
        quote("erpnext", "SAL-QTN-2026-0047").await["status"],
        "rejected"
    );
    assert_eq!(
        quote("erpnext", "SAL-QTN-2026-0049").await["status"],
        "cancelled"
    );

    let q = quote("business-central", "1006").await;
    assert_eq!(
        (
            q["status"].as_str(),
            q["valid_until"].as_str(),
            q["request_ref"].as_str()
        ),
        (Some("open"), Some("2026-12-18"), Some("Anfrage 77"))
    );
    assert_eq!(q["total"]["amount"], "4284");
    assert_eq!(quote("business-central", "1007").await["status"], "expired");
    let accepted = quote("business-central", "1008").await;
    assert_eq!(accepted["status"], "accepted");
    assert!(accepted.get("valid_until").is_none(), "{accepted}");

    // weclapp: epoch-millisecond dates as calendar days, CLOSED without acceptance.
    let q = quote("weclapp", "AN-2026-0051").await;
    assert_eq!(
        (
            q["status"].as_str(),
            q["valid_until"].as_str(),
            q["quote_date"].as_str()
        ),
        (Some("open"), Some("2027-01-31"), Some("2026-11-25"))
    );
    assert_eq!(q["lines"][0]["net"]["amount"], "1190.00");
    assert_eq!(quote("weclapp", "AN-2026-0040").await["status"], "accepted");
    assert_eq!(quote("weclapp", "AN-2026-0049").await["status"], "rejected");
}
