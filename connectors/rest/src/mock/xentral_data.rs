//! The shared demo data in Xentral's shapes: v3 customers, invoices (money objects, amounts
//! as strings and, for two invoices, as JSON numbers — both occur), sales orders; v1 credit
//! notes (plain numbers), products and their stock per warehouse (`productStocks`, served as
//! `/api/v1/products/{id}/stocks`).

use super::fixtures::{
    CUSTOMERS, INVOICE_REFS, INVOICES, ITEMS, ORDER_TOTALS, ORDERS, STOCK, modified, num, sub,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Xentral writes times with the instance's offset; the fixtures lie in winter time.
fn stamp(i: usize) -> Value {
    json!(modified(i).format("%Y-%m-%dT%H:%M:%S+01:00").to_string())
}

fn customer_id(i: usize) -> String {
    format!("{}", 2001 + i)
}

/// A money object; `as_number` writes the amount as a JSON number instead of a string.
fn money(amount: &str, as_number: bool) -> Value {
    let a = if as_number {
        num(amount)
    } else {
        json!(amount)
    };
    json!({ "amount": a, "currency": "EUR" })
}

fn payment_status(gross: &str, paid: &str) -> &'static str {
    if sub(gross, paid) == "0.00" {
        "paid"
    } else if paid != "0.00" {
        "partlyPaid"
    } else {
        "pending"
    }
}

pub fn xentral() -> BTreeMap<String, Vec<Value>> {
    let mut m = BTreeMap::new();
    let mut k = 0;
    let mut next = || {
        k += 1;
        stamp(k)
    };
    m.insert("customers".into(), CUSTOMERS.iter().enumerate().map(|(i, c)| json!({
        "id": customer_id(i), "number": c.no, "type": "company", "name": c.name,
        "vatId": c.vat, "email": c.email, "phone": c.phone,
        "address": {"street": c.street, "zipCode": c.postcode, "city": c.city, "country": "DE"},
        "updatedAt": next(),
    })).collect());
    let mut invoices = Vec::new();
    let mut credits = Vec::new();
    for (i, (no, c, d, due, net, tax, gross, paid, against)) in INVOICES.iter().enumerate() {
        let customer =
            json!({"id": customer_id(*c), "number": CUSTOMERS[*c].no, "name": CUSTOMERS[*c].name});
        match against {
            Some(inv) => {
                let pos = INVOICES.iter().position(|x| x.0 == *inv).unwrap_or(0);
                credits.push(json!({
                    "id": format!("{}", 4001 + credits.len()), "documentNumber": no,
                    "documentDate": format!("{d}T00:00:00+01:00"), "customer": {"id": customer_id(*c), "name": CUSTOMERS[*c].name},
                    "invoice": {"id": format!("{}", 3001 + pos), "documentNumber": inv},
                    "status": "released", "paymentStatus": "pending", "currency": "EUR",
                    "amountNet": num(net), "amountGross": num(gross), "updatedAt": next(),
                }));
            }
            None => {
                // Invoices 3 and 5 carry their amounts as JSON numbers.
                let as_number = i == 2 || i == 4;
                invoices.push(json!({
                    "id": format!("{}", 3001 + i), "documentNumber": no, "documentDate": d,
                    "dueDate": due, "customer": customer, "status": "sent",
                    "paymentStatus": payment_status(gross, paid),
                    "totals": {"net": money(net, as_number), "tax": money(tax, as_number), "gross": money(gross, as_number)},
                    "externalOrderReference": INVOICE_REFS[i], "updatedAt": next(),
                }));
            }
        }
    }
    m.insert("invoices".into(), invoices);
    m.insert("creditNotes".into(), credits);
    let item = |sku: &str| ITEMS.iter().position(|x| x.0 == sku).unwrap_or(0);
    let product =
        |i: usize| json!({"id": format!("{}", 6001 + i), "number": ITEMS[i].0, "name": ITEMS[i].1});
    m.insert("salesOrders".into(), ORDERS.iter().enumerate().map(|(i, (no, c, d, del, r, lines))| {
        let done = lines.iter().all(|l| l.1 == l.2);
        json!({
            "id": format!("{}", 5001 + i), "documentNumber": no, "date": d, "desiredDeliveryDate": del,
            "customer": {"id": customer_id(*c), "number": CUSTOMERS[*c].no, "name": CUSTOMERS[*c].name},
            "customerOrderNumber": r, "status": if done { "completed" } else { "released" },
            "totals": {"net": money(ORDER_TOTALS[i].0, false), "gross": money(ORDER_TOTALS[i].1, false)},
            "lineItems": lines.iter().enumerate().map(|(n, (sku, q, dl, ship))| json!({
                "position": n + 1, "product": product(item(sku)), "quantity": q, "deliveredQuantity": dl,
                "unit": ITEMS[item(sku)].2, "desiredDeliveryDate": ship,
            })).collect::<Vec<_>>(),
            "updatedAt": next(),
        })
    }).collect());
    m.insert(
        "products".into(),
        ITEMS
            .iter()
            .enumerate()
            .map(|(i, (sku, name, unit))| {
                json!({
                    "id": format!("{}", 6001 + i), "number": sku, "name": name, "unit": unit,
                })
            })
            .collect(),
    );
    m.insert("productStocks".into(), STOCK.iter().map(|(sku, wh, on, avail)| json!({
        "productId": format!("{}", 6001 + item(sku)),
        "warehouse": {"id": if wh.starts_with("Haupt") { "1" } else { "2" }, "name": wh},
        "physical": num(on), "reserved": num(&sub(on, avail)), "sellable": num(avail),
    })).collect());
    m
}
