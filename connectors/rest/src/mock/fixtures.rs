//! Demo data: German companies, invoices with open amounts, a credit note, sales orders with
//! delivery dates and stock, rendered in each ERP's own JSON shape.

use super::Flavor;
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub(super) struct Customer {
    pub(super) no: &'static str,
    pub(super) name: &'static str,
    pub(super) street: &'static str,
    pub(super) postcode: &'static str,
    pub(super) city: &'static str,
    pub(super) vat: &'static str,
    pub(super) email: &'static str,
    pub(super) phone: &'static str,
}

pub(super) const CUSTOMERS: &[Customer] = &[
    Customer {
        no: "10001",
        name: "Müller & Söhne GmbH",
        street: "Hohe Straße 12",
        postcode: "50667",
        city: "Köln",
        vat: "DE123456788",
        email: "buchhaltung@mueller-soehne.de",
        phone: "0221 4711230",
    },
    Customer {
        no: "10002",
        name: "Bäckerei Schröder KG",
        street: "Leopoldstraße 45",
        postcode: "80802",
        city: "München",
        vat: "DE281734567",
        email: "info@baeckerei-schroeder.de",
        phone: "089 3344556",
    },
    Customer {
        no: "10003",
        name: "Straßenbau Jürgens GmbH & Co. KG",
        street: "Große Elbstraße 145",
        postcode: "22767",
        city: "Hamburg",
        vat: "DE312456789",
        email: "rechnung@juergens-strassenbau.de",
        phone: "040 38901200",
    },
    Customer {
        no: "10004",
        name: "Glaserei Köhler e.K.",
        street: "Königsbrücker Straße 8",
        postcode: "01099",
        city: "Dresden",
        vat: "",
        email: "kontakt@glaserei-koehler.de",
        phone: "0351 8102030",
    },
];

/// (number, customer index, date, due, net, tax, gross, paid, credit note against)
pub(super) type Inv = (
    &'static str,
    usize,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

pub(super) const INVOICES: &[Inv] = &[
    (
        "RE-2026-0001",
        0,
        "2026-01-05",
        "2026-02-04",
        "1000.00",
        "190.00",
        "1190.00",
        "0.00",
        None,
    ),
    (
        "RE-2026-0002",
        0,
        "2026-01-12",
        "2026-02-11",
        "2450.50",
        "465.60",
        "2916.10",
        "1000.00",
        None,
    ),
    (
        "RE-2026-0003",
        1,
        "2026-01-20",
        "2026-02-19",
        "380.00",
        "72.20",
        "452.20",
        "452.20",
        None,
    ),
    (
        "RE-2026-0004",
        2,
        "2026-02-02",
        "2026-03-04",
        "12890.00",
        "2449.10",
        "15339.10",
        "0.00",
        None,
    ),
    (
        "RE-2026-0005",
        3,
        "2026-02-10",
        "2026-03-12",
        "99.90",
        "18.98",
        "118.88",
        "0.00",
        None,
    ),
    (
        "GS-2026-0001",
        0,
        "2026-01-25",
        "2026-01-25",
        "100.00",
        "19.00",
        "119.00",
        "0.00",
        Some("RE-2026-0001"),
    ),
];

/// (sku, description, unit)
pub(super) const ITEMS: &[(&str, &str, &str)] = &[
    ("SCHR-M8", "Schrauben M8 verzinkt", "Stk"),
    ("DÜBEL-10", "Dübel 10 mm", "Stk"),
    ("KANT-80", "Kantenschutz Aluminium 80 cm", "Stk"),
    ("MEHL-25", "Weizenmehl Type 550, 25 kg", "Sack"),
];

/// (number, customer, order date, delivery date, customer ref, lines: (sku, qty, delivered, delivery))
pub(super) type Ord = (
    &'static str,
    usize,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, &'static str, &'static str)],
);

pub(super) const ORDERS: &[Ord] = &[
    (
        "AB-2026-0001",
        0,
        "2026-02-01",
        "2026-02-20",
        "B-4711",
        &[
            ("SCHR-M8", "500", "200", "2026-02-20"),
            ("DÜBEL-10", "1000", "0", "2026-03-02"),
        ],
    ),
    (
        "AB-2026-0002",
        2,
        "2026-02-05",
        "2026-03-15",
        "Bauvorhaben Elbbrücke",
        &[("KANT-80", "40", "0", "2026-03-15")],
    ),
    (
        "AB-2026-0003",
        1,
        "2026-02-08",
        "2026-02-12",
        "",
        &[("MEHL-25", "20", "20", "2026-02-12")],
    ),
];

/// Quotes: (number, customer, date, valid until, state, gross total, the order it became).
/// State: `open`, `accepted` (became the order), `lost`, `cancelled`.
pub(super) type Quote = (
    &'static str,
    usize,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<usize>,
);

pub(super) const QUOTES: &[Quote] = &[
    (
        "AN-2026-0040",
        0,
        "2026-01-20",
        "2026-02-03",
        "accepted",
        "166.60",
        Some(0),
    ),
    (
        "AN-2026-0051",
        1,
        "2026-11-25",
        "2027-01-31",
        "open",
        "1190.00",
        None,
    ),
    (
        "AN-2026-0047",
        2,
        "2026-01-10",
        "2026-01-31",
        "lost",
        "2380.00",
        None,
    ),
    (
        "AN-2026-0049",
        3,
        "2026-01-12",
        "2026-02-12",
        "cancelled",
        "89.25",
        None,
    ),
];

/// Gross order totals (net + VAT), by order.
pub(super) const ORDER_TOTALS: &[(&str, &str)] = &[
    ("140.00", "166.60"),
    ("500.00", "595.00"),
    ("378.00", "404.46"),
];

/// The customer's order reference on the invoices.
pub(super) const INVOICE_REFS: &[&str] = &[
    "B-4711",
    "",
    "Filiale Schwabing",
    "Bauvorhaben Elbbrücke",
    "",
    "",
];

/// (sku, warehouse, on hand, available)
pub(super) const STOCK: &[(&str, &str, &str, &str)] = &[
    ("SCHR-M8", "Hauptlager", "1200", "700"),
    ("SCHR-M8", "Außenlager Süd", "300", "300"),
    ("DÜBEL-10", "Hauptlager", "450", "0"),
    ("KANT-80", "Hauptlager", "0", "0"),
    ("MEHL-25", "Außenlager Süd", "64", "64"),
];

pub(super) fn num(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

pub(super) fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

/// The i-th modification time of the fixtures: 2026-02-15 08:00 local plus i minutes.
pub(super) fn modified(i: usize) -> NaiveDateTime {
    date("2026-02-15").and_hms_opt(8, 0, 0).unwrap_or_default()
        + chrono::Duration::minutes(i as i64)
}

/// Epoch ms of a local Berlin time (the fixtures lie in winter time, UTC+1).
fn ms(local: NaiveDateTime) -> i64 {
    (local - chrono::Duration::hours(1))
        .and_utc()
        .timestamp_millis()
}

fn day_ms(s: &str) -> i64 {
    ms(date(s).and_hms_opt(0, 0, 0).unwrap_or_default())
}

pub(super) fn sub(a: &str, b: &str) -> String {
    let a: rust_decimal::Decimal = a.parse().unwrap_or_default();
    let b: rust_decimal::Decimal = b.parse().unwrap_or_default();
    (a - b).to_string()
}

pub fn for_flavor(flavor: Flavor) -> BTreeMap<String, Vec<Value>> {
    match flavor {
        Flavor::ErpNext => erpnext(),
        Flavor::SapB1 => sap_b1(),
        Flavor::Weclapp => weclapp(),
        Flavor::Xentral => super::xentral_data::xentral(),
        Flavor::Lexoffice => super::lexoffice::fixtures(),
        Flavor::BusinessCentral => super::bc_fixtures::business_central(),
        Flavor::JtlWawi => super::jtl::fixtures(),
        Flavor::Generic(_) => BTreeMap::new(),
    }
}

pub(super) fn erp_mod(i: usize) -> Value {
    json!(modified(i).format("%Y-%m-%d %H:%M:%S%.6f").to_string())
}

pub fn erpnext() -> BTreeMap<String, Vec<Value>> {
    let mut m = BTreeMap::new();
    let mut k = 0;
    let mut next = || {
        k += 1;
        k
    };
    m.insert("Customer".into(), CUSTOMERS.iter().map(|c| json!({
        "name": format!("CUST-{}", c.no), "customer_name": c.name, "customer_type": "Company",
        "customer_group": "Gewerbe", "territory": "Germany", "tax_id": c.vat, "email_id": c.email,
        "mobile_no": c.phone, "default_currency": "EUR", "docstatus": 0,
        "primary_address": format!("{}<br>{} {}<br>Germany", c.street, c.postcode, c.city),
        "modified": erp_mod(next()),
    })).collect());
    m.insert("Sales Invoice".into(), INVOICES.iter().enumerate().map(|(i, (no, c, d, due, net, tax, gross, paid, against))| {
        let ret = against.is_some();
        let sign = |v: &str| if ret { num(&format!("-{v}")) } else { num(v) };
        let open = sub(gross, paid);
        json!({
            "name": no, "customer": format!("CUST-{}", CUSTOMERS[*c].no), "customer_name": CUSTOMERS[*c].name,
            "posting_date": d, "due_date": due, "currency": "EUR", "net_total": sign(net),
            "total_taxes_and_charges": sign(tax), "grand_total": sign(gross),
            "outstanding_amount": if ret { num("0.00") } else { num(&open) },
            "status": if ret { "Return" } else if open == "0.00" { "Paid" } else if *paid != "0.00" { "Partly Paid" } else { "Unpaid" },
            "is_return": i32::from(ret), "return_against": against, "docstatus": 1, "po_no": INVOICE_REFS[i],
            "modified": erp_mod(next()),
        })
    }).collect());
    m.insert(
        "Payment Ledger Entry".into(),
        super::erpnext_payments::erpnext_payment_ledger(&mut next),
    );
    m.insert("Sales Order".into(), ORDERS.iter().enumerate().map(|(i, (no, c, d, del, r, lines))| {
        let done = lines.iter().all(|l| l.1 == l.2);
        json!({
            "name": no, "customer": format!("CUST-{}", CUSTOMERS[*c].no), "transaction_date": d,
            "net_total": num(ORDER_TOTALS[i].0), "grand_total": num(ORDER_TOTALS[i].1),
            "delivery_date": del, "po_no": r, "currency": "EUR",
            "status": if done { "Completed" } else { "To Deliver and Bill" },
            "per_delivered": if done { 100 } else { 0 }, "docstatus": 1, "modified": erp_mod(next()),
        })
    }).collect());
    let mut quotations: Vec<Value> = QUOTES.iter().map(|(no, c, d, valid, state, gross, _)| {
        let status = match *state {
            "accepted" => "Ordered",
            "lost" => "Lost",
            "cancelled" => "Cancelled",
            _ => "Open",
        };
        json!({
            "name": format!("SAL-QTN-{}", no.trim_start_matches("AN-")), "quotation_to": "Customer",
            "party_name": format!("CUST-{}", CUSTOMERS[*c].no), "customer_name": CUSTOMERS[*c].name,
            "transaction_date": d, "valid_till": valid, "currency": "EUR", "grand_total": num(gross),
            "status": status, "docstatus": if *state == "cancelled" { 2 } else { 1 },
            "order_type": "Sales", "modified": erp_mod(next()),
        })
    }).collect();
    // A lead's quotation: no customer yet (filtered out by quotation_to).
    quotations.push(json!({
        "name": "SAL-QTN-2026-0060", "quotation_to": "Lead", "party_name": "CRM-LEAD-2026-00012",
        "transaction_date": "2026-11-28", "valid_till": "2026-12-28", "currency": "EUR",
        "grand_total": num("640.00"), "status": "Open", "docstatus": 1, "order_type": "Sales",
        "modified": erp_mod(next()),
    }));
    m.insert("Quotation".into(), quotations);
    m.insert("Bin".into(), STOCK.iter().map(|(sku, wh, on, avail)| json!({
        "name": format!("BIN-{sku}-{}", wh.split_whitespace().next().unwrap_or(wh)),
        "item_code": sku, "warehouse": format!("{wh} - MS"), "actual_qty": num(on),
        "projected_qty": num(avail), "stock_uom": ITEMS.iter().find(|i| i.0 == *sku).map(|i| i.2),
        "modified": erp_mod(next()),
    })).collect());
    m
}

/// A SAP quotation's DocNum (a number series of its own).
fn sap_quote_no(i: usize) -> u32 {
    40001 + i as u32
}

fn sap_mod(i: usize) -> (String, String) {
    let t = modified(i);
    (
        t.format("%Y-%m-%d").to_string(),
        t.format("%H:%M:%S").to_string(),
    )
}

pub(super) fn item_name(sku: &str) -> &'static str {
    ITEMS.iter().find(|i| i.0 == sku).map(|i| i.1).unwrap_or("")
}

pub fn sap_b1() -> BTreeMap<String, Vec<Value>> {
    let mut m = BTreeMap::new();
    let mut k = 0;
    let mut next = || {
        k += 1;
        sap_mod(k)
    };
    let mut bps: Vec<Value> = CUSTOMERS
        .iter()
        .map(|c| {
            let (d, t) = next();
            json!({
                "CardCode": format!("K{}", c.no), "CardName": c.name, "CardType": "cCustomer",
                "FederalTaxID": c.vat, "EmailAddress": c.email, "Phone1": c.phone,
                "Address": c.street, "ZipCode": c.postcode, "City": c.city, "Country": "DE",
                "Currency": "EUR", "UpdateDate": d, "UpdateTime": t,
            })
        })
        .collect();
    let (d, t) = next();
    bps.push(
        json!({"CardCode": "L70001", "CardName": "Stahlhandel Weiß GmbH", "CardType": "cSupplier",
        "City": "Duisburg", "Country": "DE", "UpdateDate": d, "UpdateTime": t}),
    );
    m.insert("BusinessPartners".into(), bps);
    let mut invoices = Vec::new();
    let mut credits = Vec::new();
    for (i, (no, c, d, due, net, tax, gross, paid, against)) in INVOICES.iter().enumerate() {
        let (ud, ut) = next();
        let mut doc = json!({
            "DocEntry": 100 + i, "DocNum": no.rsplit('-').next().unwrap_or(no).parse::<u32>().unwrap_or(0) + 20260000,
            "CardCode": format!("K{}", CUSTOMERS[*c].no), "CardName": CUSTOMERS[*c].name,
            "DocDate": d, "DocDueDate": due, "DocCurrency": "EUR", "DocTotal": num(gross),
            "VatSum": num(tax), "PaidToDate": num(paid), "Cancelled": "tNO",
            "DocumentStatus": if sub(gross, paid) == "0.00" { "bost_Close" } else { "bost_Open" },
            "NumAtCard": INVOICE_REFS[i], "UpdateDate": ud, "UpdateTime": ut,
            "DocumentLines": [{"LineNum": 0, "ItemCode": "SCHR-M8", "ItemDescription": item_name("SCHR-M8"),
                "Quantity": num("1"), "LineTotal": num(net)}],
        });
        match against {
            Some(inv) => {
                doc["DocumentLines"][0]["BaseType"] = json!(13);
                doc["DocumentLines"][0]["BaseEntry"] =
                    json!(100 + INVOICES.iter().position(|x| x.0 == *inv).unwrap_or(0));
                doc["Comments"] = json!(format!("Gutschrift zu {inv}"));
                credits.push(doc);
            }
            None => invoices.push(doc),
        }
    }
    m.insert("Invoices".into(), invoices);
    m.insert("CreditNotes".into(), credits);
    m.insert("Orders".into(), ORDERS.iter().enumerate().map(|(i, (no, c, d, del, r, lines))| {
        let (ud, ut) = next();
        let done = lines.iter().all(|l| l.1 == l.2);
        json!({
            "DocEntry": 500 + i, "DocNum": 30000 + i as u32 + 1, "CardCode": format!("K{}", CUSTOMERS[*c].no),
            "DocDate": d, "DocDueDate": del, "NumAtCard": r, "DocCurrency": "EUR", "Cancelled": "tNO",
            "DocTotal": num(ORDER_TOTALS[i].1),
            "DocumentStatus": if done { "bost_Close" } else { "bost_Open" },
            "Comments": format!("Auftrag {no}"), "UpdateDate": ud, "UpdateTime": ut,
            "DocumentLines": lines.iter().enumerate().map(|(n, (sku, q, dl, ship))| {
                let mut line = json!({
                    "LineNum": n, "ItemCode": sku, "ItemDescription": item_name(sku), "Quantity": num(q),
                    "RemainingOpenQuantity": num(&sub(q, dl)), "ShipDate": ship,
                });
                // Copied from a quotation: its document type, entry and number.
                if let Some(q) = QUOTES.iter().position(|q| q.6 == Some(i)) {
                    line["BaseType"] = json!(23);
                    line["BaseEntry"] = json!(700 + q);
                    line["BaseRef"] = json!(sap_quote_no(q).to_string());
                }
                line
            }).collect::<Vec<_>>(),
        })
    }).collect());
    m.insert("Quotations".into(), QUOTES.iter().enumerate().map(|(i, (_, c, d, valid, state, gross, _))| {
        let (ud, ut) = next();
        json!({
            "DocEntry": 700 + i, "DocNum": sap_quote_no(i), "CardCode": format!("K{}", CUSTOMERS[*c].no),
            "DocDate": d, "DocDueDate": valid, "DocCurrency": "EUR", "DocTotal": num(gross),
            "Cancelled": if *state == "cancelled" { "tYES" } else { "tNO" },
            "DocumentStatus": if *state == "open" { "bost_Open" } else { "bost_Close" },
            "NumAtCard": "", "UpdateDate": ud, "UpdateTime": ut,
            "DocumentLines": [{"LineNum": 0, "ItemCode": "SCHR-M8", "ItemDescription": item_name("SCHR-M8"),
                "Quantity": num("100"), "LineTotal": num(gross)}],
        })
    }).collect());
    m.insert("Items".into(), ITEMS.iter().map(|(sku, name, unit)| {
        let (ud, ut) = next();
        let whs: Vec<Value> = STOCK.iter().filter(|s| s.0 == *sku).map(|(_, wh, on, avail)| json!({
            "WarehouseCode": if wh.starts_with("Haupt") { "01" } else { "02" },
            "InStock": num(on), "Committed": num(&sub(on, avail)), "Ordered": num("0"),
        })).collect();
        json!({"ItemCode": sku, "ItemName": name, "InventoryUOM": unit, "UpdateDate": ud, "UpdateTime": ut,
            "ItemWarehouseInfoCollection": whs})
    }).collect());
    m
}

pub fn weclapp() -> BTreeMap<String, Vec<Value>> {
    let mut m = BTreeMap::new();
    let mut k = 0;
    let mut next = || {
        k += 1;
        ms(modified(k))
    };
    m.insert("customer".into(), CUSTOMERS.iter().enumerate().map(|(i, c)| json!({
        "id": format!("{}", 4100 + i), "customerNumber": c.no, "partyType": "ORGANIZATION",
        "company": c.name, "email": c.email, "phone": c.phone, "vatIdentificationNumber": c.vat,
        "addresses": [{"street1": c.street, "zipcode": c.postcode, "city": c.city, "countryCode": "DE", "primeAddress": true}],
        "lastModifiedDate": next(),
    })).collect());
    m.insert("salesInvoice".into(), INVOICES.iter().enumerate().map(|(i, (no, c, d, due, net, _tax, gross, paid, against))| {
        let open = if against.is_some() { "0.00".to_owned() } else { sub(gross, paid) };
        json!({
            "id": format!("{}", 5200 + i), "invoiceNumber": no, "customerNumber": CUSTOMERS[*c].no,
            "invoiceDate": day_ms(d), "dueDate": day_ms(due), "netAmount": num(net), "grossAmount": num(gross),
            "openAmount": num(&open), "recordCurrencyName": "EUR",
            "salesInvoiceType": if against.is_some() { "CREDIT_ADVICE" } else { "STANDARD_INVOICE" },
            "paymentStatus": if open == "0.00" { "PAID" } else if *paid != "0.00" { "PARTIALLY_PAID" } else { "NOT_PAID" },
            "status": if open == "0.00" { "PAID" } else { "OPEN_ITEM_CREATED" },
            "lastModifiedDate": next(),
        })
    }).collect());
    m.insert("salesOrder".into(), ORDERS.iter().enumerate().map(|(i, (no, c, d, del, r, lines))| {
        let done = lines.iter().all(|l| l.1 == l.2);
        json!({
            "id": format!("{}", 6300 + i), "orderNumber": no, "customerNumber": CUSTOMERS[*c].no,
            "orderDate": day_ms(d), "plannedDeliveryDate": day_ms(del), "customerPurchaseOrderNumber": r,
            "netAmount": num(ORDER_TOTALS[i].0), "grossAmount": num(ORDER_TOTALS[i].1),
            "recordCurrencyName": "EUR", "status": if done { "CLOSED" } else { "ORDER_CONFIRMATION_PRINTED" },
            "orderItems": lines.iter().enumerate().map(|(n, (sku, q, dl, ship))| json!({
                "positionNumber": n + 1, "articleNumber": sku, "title": item_name(sku), "quantity": num(q),
                "shippedQuantity": num(dl), "unitName": ITEMS.iter().find(|x| x.0 == *sku).map(|x| x.2),
                "plannedDeliveryDate": day_ms(ship),
            })).collect::<Vec<_>>(),
            "lastModifiedDate": next(),
        })
    }).collect());
    m.insert("quotation".into(), QUOTES.iter().enumerate().map(|(i, (no, c, d, valid, state, gross, _))| {
        let status = match *state {
            "accepted" => "ACCEPTED",
            "lost" => "REJECTED",
            "cancelled" => "CLOSED",
            _ => "OPEN",
        };
        json!({
            "id": format!("{}", 9100 + i), "quotationNumber": no, "customerNumber": CUSTOMERS[*c].no,
            "quotationDate": day_ms(d), "validTo": day_ms(valid), "status": status,
            "grossAmount": num(gross), "recordCurrencyName": "EUR", "quotationType": "SALES_ORDER",
            "quotationItems": [{"positionNumber": 1, "articleNumber": "SCHR-M8", "title": item_name("SCHR-M8"),
                "quantity": num("100"), "unitName": "Stk", "netAmount": num(gross)}],
            "lastModifiedDate": next(),
        })
    }).collect());
    m.insert("article".into(), ITEMS.iter().enumerate().map(|(i, (sku, name, unit))| json!({
        "id": format!("{}", 7400 + i), "articleNumber": sku, "name": name, "unitName": unit,
        "lastModifiedDate": next(),
    })).collect());
    m.insert("warehouseStock".into(), STOCK.iter().enumerate().map(|(i, (sku, wh, on, _))| json!({
        "id": format!("{}", 8500 + i), "articleNumber": sku, "warehouseName": wh, "quantity": num(on),
    })).collect());
    m
}
