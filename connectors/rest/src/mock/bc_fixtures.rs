//! Demo data of the Business Central mock (company "CRONUS AG"), in the shapes of the API v2.0
//! resources (customers, salesInvoices, salesCreditMemos, customerPayments, salesOrders with
//! salesOrderLines, items): numbers as JSON numbers, dates `YYYY-MM-DD` ("0001-01-01" when empty),
//! `lastModifiedDateTime` in UTC with milliseconds, an `@odata.etag` per record.

use chrono::{DateTime, Duration};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The ids are GUIDs; `kind` tells the entity, `n` the record.
pub fn guid(kind: u32, n: usize) -> String {
    format!("{kind:08x}-{n:04x}-ef11-9f8a-6045bdc8c192")
}

fn num(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

/// The k-th modification time: 2026-11-30T08:15:22.347Z plus k × 61.013 s.
fn stamp(k: usize) -> String {
    let base = DateTime::parse_from_rfc3339("2026-11-30T08:15:22.347Z")
        .map(|d| d.naive_utc())
        .unwrap_or_default();
    (base + Duration::milliseconds(61_013 * k as i64))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A sales quote: number, customer, document date, valid until, status, net, tax, gross, the
/// customer's reference.
type QuoteRow = (
    &'static str,
    usize,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

fn etag(k: usize) -> String {
    format!("W/\"JzIwOzE{k:04}Oyc=\"")
}

/// (number, name, street, postcode, city, VAT id, e-mail, phone)
#[rustfmt::skip]
/// number, name, …: eight text columns of a customer.
type CustomerRow = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);
const CUSTOMERS: &[CustomerRow] = &[
    (
        "10000",
        "Müller & Söhne GmbH",
        "Hohe Straße 12",
        "50667",
        "Köln",
        "DE123456788",
        "buchhaltung@mueller-soehne.de",
        "0221 4711230",
    ),
    (
        "20000",
        "Bäckerei Schröder KG",
        "Leopoldstraße 45",
        "80802",
        "München",
        "DE281734567",
        "info@baeckerei-schroeder.de",
        "089 3344556",
    ),
    (
        "30000",
        "Straßenbau Jürgens GmbH & Co. KG",
        "Große Elbstraße 145",
        "22767",
        "Hamburg",
        "DE312456789",
        "rechnung@juergens-strassenbau.de",
        "040 38901200",
    ),
    (
        "40000",
        "Glaserei Köhler e.K.",
        "Königsbrücker Straße 8",
        "01099",
        "Dresden",
        "",
        "kontakt@glaserei-koehler.de",
        "0351 8102030",
    ),
    (
        "50000",
        "Hotel Zur Post, Inh. Weiß",
        "Marktplatz 1",
        "97070",
        "Würzburg",
        "DE298765432",
        "empfang@hotel-zur-post.de",
        "",
    ),
];

/// (number, customer, date, due, net, tax, gross, remaining, status, order, customer PO)
#[rustfmt::skip]
type Inv = (&'static str, usize, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

#[rustfmt::skip]
const INVOICES: &[Inv] = &[
    ("103001", 0, "2026-10-05", "2026-11-04", "1000.00", "190.00", "1190.00", "0", "Paid", "", "B-4711"),
    ("103002", 0, "2026-10-12", "2026-11-11", "2450.50", "465.60", "2916.10", "1916.10", "Open", "", ""),
    ("103003", 1, "2026-10-20", "2026-11-19", "380.00", "72.20", "452.20", "452.20", "Open", "", "Filiale Schwabing"),
    ("103004", 2, "2026-11-02", "2026-12-02", "12890.00", "2449.10", "15339.10", "15339.10", "Open", "101005", "Bauvorhaben Elbbrücke"),
    ("103005", 3, "2026-11-10", "2026-12-10", "99.90", "18.98", "118.88", "0", "Corrective", "", ""),
    ("103006", 4, "2026-11-15", "2026-12-15", "1234.57", "234.57", "1469.14", "469.14", "Open", "", ""),
];

/// (number, customer, date, net, tax, gross, invoice, status)
#[rustfmt::skip]
/// One credit memo: number, …
type CreditMemoRow = (&'static str, usize, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);
const CREDIT_MEMOS: &[CreditMemoRow] = &[
    (
        "104001",
        0,
        "2026-10-25",
        "100.00",
        "19.00",
        "119.00",
        "103001",
        "Paid",
    ),
    (
        "104002",
        3,
        "2026-11-12",
        "99.90",
        "18.98",
        "118.88",
        "103005",
        "Paid",
    ),
];

/// (number, description, type, inventory, unit, GTIN)
#[rustfmt::skip]
const ITEMS: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("SCHR-M8", "Schrauben M8 verzinkt", "Inventory", "1500", "STK", "4012345678901"),
    ("DUEBEL-10", "Dübel 10 mm", "Inventory", "450", "STK", ""),
    ("KANT-80", "Kantenschutz Aluminium 80 cm", "Inventory", "0", "STK", ""),
    ("MEHL-25", "Weizenmehl Type 550, 25 kg", "Inventory", "64.5", "SACK", "4098765432109"),
    ("MONTAGE", "Montagestunde", "Service", "0", "STD", ""),
];

/// (number, customer, order date, requested delivery, external doc no, net, tax, gross, fully
/// shipped, lines: (item, quantity, shipped, shipment date, unit price))
#[rustfmt::skip]
type Ord = (&'static str, usize, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, bool, &'static [(&'static str, &'static str, &'static str, &'static str, &'static str)]);

#[rustfmt::skip]
const ORDERS: &[Ord] = &[
    ("101001", 0, "2026-11-01", "2026-11-20", "B-4711", "140.00", "26.60", "166.60", false,
        &[("SCHR-M8", "500", "200", "2026-11-20", "0.08"), ("DUEBEL-10", "1000", "0", "2026-12-02", "0.10")]),
    // No requested delivery date: Business Central writes 0001-01-01.
    ("101002", 2, "2026-11-05", "0001-01-01", "Bauvorhaben Elbbrücke", "500.00", "95.00", "595.00", false,
        &[("KANT-80", "40", "0", "2026-12-15", "12.50")]),
    ("101003", 1, "2026-11-08", "2026-11-12", "", "378.00", "26.46", "404.46", true,
        &[("MEHL-25", "20", "20", "2026-11-12", "18.90")]),
];

/// Lines of the payment journal "ZAHLUNGEN", not yet posted (so the invoices' remainingAmount
/// does not count them): (line, document, invoice, posting date, amount, description). 103003
/// in full, 8 days after its due date; 103004 in part.
#[rustfmt::skip]
const PAYMENTS: &[(u32, &str, &str, &str, &str, &str)] = &[
    (10000, "ZE-2026-0412", "103003", "2026-11-27", "452.20", "Zahlung Bäckerei Schröder KG"),
    (20000, "ZE-2026-0413", "103004", "2026-12-01", "5000.00", "Abschlag Bauvorhaben Elbbrücke"),
];

pub fn business_central() -> BTreeMap<String, Vec<Value>> {
    let mut m = BTreeMap::new();
    let mut k = 0;
    let mut next = || {
        k += 1;
        (stamp(k), etag(k))
    };
    let customer_id = |i: usize| guid(0x1000_0000, i);
    m.insert("customers".into(), CUSTOMERS.iter().enumerate().map(|(i, (no, name, street, pc, city, vat, email, phone))| {
        let (at, tag) = next();
        json!({
            "@odata.etag": tag, "id": customer_id(i), "number": no, "displayName": name, "type": "Company",
            "addressLine1": street, "addressLine2": "", "city": city, "state": "", "country": "DE",
            "postalCode": pc, "phoneNumber": phone, "email": email, "website": "", "salespersonCode": "",
            "balanceDue": 0, "creditLimit": 0, "taxLiable": true, "taxAreaId": "00000000-0000-0000-0000-000000000000",
            "taxAreaDisplayName": "", "taxRegistrationNumber": vat, "currencyId": "00000000-0000-0000-0000-000000000000",
            "currencyCode": "EUR", "blocked": " ", "lastModifiedDateTime": at,
        })
    }).collect());
    m.insert("salesInvoices".into(), INVOICES.iter().enumerate().map(|(i, (no, c, d, due, net, tax, gross, rem, status, order, po))| {
        let (at, tag) = next();
        json!({
            "@odata.etag": tag, "id": guid(0x2000_0000, i), "number": no, "externalDocumentNumber": "",
            "invoiceDate": d, "postingDate": d, "dueDate": due, "customerPurchaseOrderReference": po,
            "customerId": customer_id(*c), "customerNumber": CUSTOMERS[*c].0, "customerName": CUSTOMERS[*c].1,
            "billToName": CUSTOMERS[*c].1, "billToCustomerNumber": CUSTOMERS[*c].0,
            "sellToAddressLine1": CUSTOMERS[*c].2, "sellToCity": CUSTOMERS[*c].4, "sellToPostCode": CUSTOMERS[*c].3,
            "sellToCountry": "DE", "currencyCode": "EUR", "orderNumber": order, "pricesIncludeTax": false,
            "remainingAmount": num(rem), "discountAmount": 0, "discountAppliedBeforeTax": true,
            "totalAmountExcludingTax": num(net), "totalTaxAmount": num(tax), "totalAmountIncludingTax": num(gross),
            "status": status, "lastModifiedDateTime": at, "phoneNumber": CUSTOMERS[*c].7, "email": CUSTOMERS[*c].6,
        })
    }).collect());
    m.insert("salesCreditMemos".into(), CREDIT_MEMOS.iter().enumerate().map(|(i, (no, c, d, net, tax, gross, inv, status))| {
        let (at, tag) = next();
        let inv_id = INVOICES.iter().position(|x| x.0 == *inv).map(|p| guid(0x2000_0000, p));
        json!({
            "@odata.etag": tag, "id": guid(0x3000_0000, i), "number": no, "externalDocumentNumber": "",
            "creditMemoDate": d, "postingDate": d, "dueDate": d, "customerId": customer_id(*c),
            "customerNumber": CUSTOMERS[*c].0, "customerName": CUSTOMERS[*c].1, "currencyCode": "EUR",
            "pricesIncludeTax": false, "discountAmount": 0, "totalAmountExcludingTax": num(net),
            "totalTaxAmount": num(tax), "totalAmountIncludingTax": num(gross), "status": status,
            "lastModifiedDateTime": at, "invoiceId": inv_id, "invoiceNumber": inv,
        })
    }).collect());
    m.insert("customerPayments".into(), PAYMENTS.iter().enumerate().map(|(i, (line, doc, inv, date, amount, text))| {
        let (at, tag) = next();
        let p = INVOICES.iter().position(|x| x.0 == *inv).unwrap_or(0);
        let c = INVOICES[p].1;
        json!({
            "@odata.etag": tag, "id": guid(0x6000_0000, i), "journalId": guid(0x6100_0000, 0),
            "journalDisplayName": "ZAHLUNGEN", "lineNumber": line, "customerId": customer_id(c),
            "customerNumber": CUSTOMERS[c].0, "contactId": "", "postingDate": date,
            "documentNumber": doc, "externalDocumentNumber": "", "amount": num(amount),
            "appliesToInvoiceId": guid(0x2000_0000, p), "appliesToInvoiceNumber": inv,
            "description": text, "comment": "", "lastModifiedDateTime": at,
        })
    }).collect());
    let quotes: [QuoteRow; 3] = [
        (
            "1006",
            0,
            "2026-11-20",
            "2026-12-18",
            "Sent",
            "3600",
            "684",
            "4284",
            "Anfrage 77",
        ),
        (
            "1007",
            1,
            "2026-10-01",
            "2026-10-31",
            "Expired ",
            "450",
            "85.5",
            "535.5",
            "",
        ),
        (
            "1008",
            2,
            "2026-09-15",
            "0001-01-01",
            "Accepted",
            "12000",
            "2280",
            "14280",
            "LV Elbbrücke",
        ),
    ];
    m.insert("salesQuotes".into(), quotes.iter().enumerate().map(|(i, (no, c, d, valid, status, net, tax, gross, ext))| {
        let (at, tag) = next();
        json!({
            "@odata.etag": tag, "id": guid(0x7000_0000, i), "number": no, "externalDocumentNumber": ext,
            "documentDate": d, "dueDate": d, "customerId": customer_id(*c), "customerNumber": CUSTOMERS[*c].0,
            "customerName": CUSTOMERS[*c].1, "currencyCode": "EUR", "paymentTermsId": "", "salesperson": "",
            "discountAmount": 0, "totalAmountExcludingTax": num(net), "totalTaxAmount": num(tax),
            "totalAmountIncludingTax": num(gross), "status": status, "sentDate": format!("{d}T10:00:00Z"),
            "validUntilDate": valid, "acceptedDate": if *status == "Accepted" { "2026-09-30" } else { "0001-01-01" },
            "lastModifiedDateTime": at, "phoneNumber": CUSTOMERS[*c].7, "email": CUSTOMERS[*c].6,
        })
    }).collect());
    m.insert("salesOrders".into(), ORDERS.iter().enumerate().map(|(i, (no, c, d, req, ext, net, tax, gross, shipped, lines))| {
        let (at, tag) = next();
        let id = guid(0x4000_0000, i);
        let lines: Vec<Value> = lines.iter().enumerate().map(|(n, (item, q, s, ship, price))| {
            let it = ITEMS.iter().position(|x| x.0 == *item).unwrap_or(0);
            json!({
                "@odata.etag": etag(900 + n), "id": format!("{id}-{:04}", (n + 1) * 10000), "documentId": id,
                "sequence": (n + 1) * 10000, "itemId": guid(0x5000_0000, it), "lineType": "Item",
                "lineObjectNumber": item, "description": ITEMS[it].1, "unitOfMeasureCode": ITEMS[it].4,
                "quantity": num(q), "unitPrice": num(price), "discountAmount": 0, "discountPercent": 0,
                "taxCode": "MWST19", "taxPercent": 19, "shipmentDate": ship, "shippedQuantity": num(s),
                "invoicedQuantity": num(s), "invoiceQuantity": 0, "shipQuantity": 0,
            })
        }).collect();
        json!({
            "@odata.etag": tag, "id": id, "number": no, "externalDocumentNumber": ext, "orderDate": d,
            "postingDate": d, "customerId": customer_id(*c), "customerNumber": CUSTOMERS[*c].0,
            "customerName": CUSTOMERS[*c].1, "currencyCode": "EUR", "pricesIncludeTax": false,
            "partialShipping": true, "requestedDeliveryDate": req, "discountAmount": 0,
            "totalAmountExcludingTax": num(net), "totalTaxAmount": num(tax), "totalAmountIncludingTax": num(gross),
            "fullyShipped": shipped, "status": "Open", "lastModifiedDateTime": at, "salesOrderLines": lines,
        })
    }).collect());
    m.insert("items".into(), ITEMS.iter().enumerate().map(|(i, (no, name, kind, inv, unit, gtin))| {
        let (at, tag) = next();
        json!({
            "@odata.etag": tag, "id": guid(0x5000_0000, i), "number": no, "displayName": name, "type": kind,
            "itemCategoryCode": "", "blocked": false, "gtin": gtin, "inventory": num(inv), "unitPrice": 0,
            "priceIncludesTax": false, "unitCost": 0, "baseUnitOfMeasureCode": unit, "lastModifiedDateTime": at,
        })
    }).collect());
    m
}
