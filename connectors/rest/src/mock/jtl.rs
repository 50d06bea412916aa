//! The JTL-Wawi REST API (on-premise REST server, `/api/eazybusiness/v1/...`) as its public
//! documentation describes it:
//!
//! - auth: `Authorization: Wawi <API key>` plus the registered app's `X-AppID` and
//!   `X-AppVersion` on every request (<https://developer.jtl-software.com/products/erpapi>,
//!   <https://developer.jtl-software.com/guides/erp-integration/integration-overview>);
//! - paging: `pageNumber` (from 1) / `pageSize`; the answer carries `TotalItems`,
//!   `PageNumber`, `PageSize`, `TotalPages`, `HasNextPage`, `NextPageNumber` and `Items`
//!   (<https://developer.jtl-software.com/guides/essentials/common-patterns/pagination>);
//! - sort `sortBy` (comma-separated) / `sortDescending`; date filters `<Field>After` (greater
//!   than) and `<Field>Before` (less than)
//!   (<https://developer.jtl-software.com/cloud/api-reference/erp/v2.2/wawi/queries-of-all-customers.md>);
//! - no change filter for customers and invoices, sales orders only by creation date; integer
//!   enums for payment and delivery status; credit notes only as documents (not listed here).
//!
//! The docs name no page size limit; the mock caps `pageSize` at [`MAX_PAGE_SIZE`] and says so
//! only through `HasNextPage` (a short page with `HasNextPage: true`), which a client that
//! stops at a short page gets wrong.

use super::fixtures::{
    CUSTOMERS, INVOICES, ITEMS, ORDER_TOTALS, ORDERS, STOCK, item_name, modified, num, sub,
};
use super::query::{self, header, holds, param};
use super::{JTL_API_KEY, JTL_APP_ID, MockData, json};
use crate::stamp::ServerTz;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use wiremock::{Request, ResponseTemplate};

/// Largest page the mock serves.
pub const MAX_PAGE_SIZE: usize = 500;

/// Creation times as the Wawi writes them (server-local, milliseconds).
const STAMP: &str = "%Y-%m-%dT%H:%M:%S%.3f";

/// Sets the creation time of a new record (`insert`); a changed record keeps its own — the
/// Wawi's lists have no modification time.
pub fn set_created(rec: &mut Value, ms: i64) {
    if rec.get("CreationDate").is_some_and(|v| !v.is_null()) {
        return;
    }
    let utc = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .naive_utc();
    let local = ServerTz::CentralEurope.utc_to_local(utc);
    rec["CreationDate"] = json!(local.format(STAMP).to_string());
}

/// `None` when the request carries the API key and the registered app's headers.
pub fn check_auth(req: &Request) -> Option<(ResponseTemplate, u16)> {
    let key_ok =
        header(req, "authorization").as_deref() == Some(format!("Wawi {JTL_API_KEY}").as_str());
    let app_ok = header(req, "x-appid").as_deref() == Some(JTL_APP_ID)
        && header(req, "x-appversion").is_some_and(|v| !v.is_empty());
    if key_ok && app_ok {
        return None;
    }
    let detail = if key_ok {
        "unknown app (X-AppID/X-AppVersion)"
    } else {
        "invalid API key"
    };
    Some(json(
        401,
        json!({"ErrorCode": "Unauthorized", "ErrorMessage": detail}),
    ))
}

fn bad(msg: &str) -> (Value, Vec<(String, String)>, u16) {
    (json!({"ErrorMessage": msg}), Vec::new(), 400)
}

/// A list request: `/…/v1/<entity>?pageNumber=&pageSize=&sortBy=&<Field>After=…`.
pub fn answer(data: &MockData, req: &Request) -> (Value, Vec<(String, String)>, u16) {
    let path = req.url.path();
    let Some(entity) = path.rsplit_once("/v1/").map(|(_, e)| e) else {
        return (json!({"ErrorMessage": "not found"}), Vec::new(), 404);
    };
    let Some(all) = data.streams.get(entity) else {
        return (json!({"ErrorMessage": "not found"}), Vec::new(), 404);
    };
    let mut conds = Vec::new();
    for (k, v) in req.url.query_pairs() {
        if let Some(f) = k.strip_suffix("After") {
            conds.push((f.to_owned(), "gt", v.into_owned()));
        } else if let Some(f) = k.strip_suffix("Before") {
            conds.push((f.to_owned(), "lt", v.into_owned()));
        }
    }
    let mut list: Vec<Value> = all
        .iter()
        .filter(|r| conds.iter().all(|(f, op, lit)| holds(r.get(f), op, lit)))
        .cloned()
        .collect();
    if let Some(s) = param(req, "sortBy") {
        let desc = param(req, "sortDescending").as_deref() == Some("true");
        let keys: Vec<(String, bool)> = s.split(',').map(|k| (k.trim().to_owned(), desc)).collect();
        query::sort(&mut list, &keys);
    }
    let size: usize = match param(req, "pageSize").map(|v| v.parse()) {
        None => 100,
        Some(Ok(n)) if n > 0 => n,
        _ => return bad("pageSize must be a positive number"),
    };
    let size = size.min(MAX_PAGE_SIZE);
    let page: usize = match param(req, "pageNumber").map(|v| v.parse()) {
        None => 1,
        Some(Ok(n)) if n > 0 => n,
        _ => return bad("pageNumber starts at 1"),
    };
    let total = list.len();
    let pages = total.div_ceil(size);
    let items: Vec<Value> = list
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    let more = page < pages;
    let body = json!({
        "TotalItems": total,
        "PageNumber": page,
        "PageSize": size,
        "TotalPages": pages,
        "HasPreviousPage": page > 1,
        "HasNextPage": more,
        "NextPageNumber": if more { json!(page + 1) } else { Value::Null },
        "PreviousPageNumber": if page > 1 { json!(page - 1) } else { Value::Null },
        "Items": items,
    });
    (body, Vec::new(), 200)
}

fn created(i: usize) -> Value {
    json!(modified(i).format(STAMP).to_string())
}

/// Integer enum of the payment status: 0 unpaid, 1 partly paid, 2 paid.
fn payment_status(open: &str, gross: &str) -> u8 {
    if open == "0.00" || open == "0" {
        2
    } else if open == gross {
        0
    } else {
        1
    }
}

/// The demo data in the Wawi's shapes (streams named by their path below `/v1/`).
pub fn fixtures() -> BTreeMap<String, Vec<Value>> {
    let mut m = BTreeMap::new();
    let mut k = 0;
    let mut next = || {
        k += 1;
        created(k)
    };
    m.insert("customers".into(), CUSTOMERS.iter().enumerate().map(|(i, c)| json!({
        "Id": 101 + i, "Number": format!("K{}", c.no), "CustomerGroupId": 1,
        "BillingAddress": {"Company": c.name, "Street": c.street, "PostalCode": c.postcode,
            "City": c.city, "CountryIso": "DE", "EmailAddress": c.email, "PhoneNumber": c.phone},
        "VatId": if c.vat.is_empty() { Value::Null } else { json!(c.vat) },
        "CreationDate": next(),
    })).collect());
    // Credit notes exist only as documents: no list endpoint, so not in `invoices`.
    m.insert(
        "invoices".into(),
        INVOICES
            .iter()
            .enumerate()
            .filter(|(_, inv)| inv.8.is_none())
            .map(|(i, (no, c, d, due, net, tax, gross, paid, _))| {
                let open = sub(gross, paid);
                json!({
                    "Id": 201 + i, "Number": no, "CustomerId": 101 + c,
                    "InvoiceDate": format!("{d}T00:00:00"), "DueDate": format!("{due}T00:00:00"),
                    "CurrencyIso": "EUR", "TotalNetAmount": num(net), "TotalVatAmount": num(tax),
                    "TotalGrossAmount": num(gross), "StillToPay": num(&open),
                    "PaymentStatus": payment_status(&open, gross), "IsCancelled": false,
                    "CreationDate": next(),
                })
            })
            .collect(),
    );
    m.insert("salesOrders".into(), ORDERS.iter().enumerate().map(|(i, (no, c, d, del, r, lines))| {
        let done = lines.iter().all(|l| l.1 == l.2);
        let some = lines.iter().any(|l| l.2 != "0");
        json!({
            "Id": 301 + i, "Number": no, "CustomerId": 101 + c, "ExternalNumber": r,
            "SalesOrderDate": format!("{d}T00:00:00"), "EstimatedDeliveryDate": format!("{del}T00:00:00"),
            "CurrencyIso": "EUR", "TotalNetAmount": num(ORDER_TOTALS[i].0),
            "TotalGrossAmount": num(ORDER_TOTALS[i].1),
            "StillToPay": if i == 2 { json!(0) } else { num(ORDER_TOTALS[i].1) },
            "PaymentStatus": if i == 2 { 2 } else { 0 },
            "DeliveryStatus": if done { 2 } else if some { 1 } else { 0 },
            "IsCancelled": false,
            "LineItems": lines.iter().enumerate().map(|(n, (sku, q, dl, _))| json!({
                "Id": 3000 + 10 * i + n, "Sku": sku, "Name": item_name(sku), "Quantity": num(q),
                "QuantityDelivered": num(dl), "Unit": ITEMS.iter().find(|x| x.0 == *sku).map(|x| x.2),
            })).collect::<Vec<_>>(),
            "CreationDate": next(),
        })
    }).collect());
    m.insert("deliveryNotes".into(), ORDERS.iter().enumerate()
        .filter(|(_, o)| o.5.iter().any(|l| l.2 != "0"))
        .map(|(i, (no, c, _, del, _, lines))| json!({
            "Id": 401 + i, "Number": format!("LS-{}", &no[3..]), "SalesOrderId": 301 + i,
            "SalesOrderNumber": no, "CustomerId": 101 + c, "DeliveryDate": format!("{del}T00:00:00"),
            "LineItems": lines.iter().enumerate().filter(|(_, l)| l.2 != "0").map(|(n, (sku, _, dl, _))| json!({
                "LineNumber": n + 1, "Sku": sku, "Quantity": num(dl),
            })).collect::<Vec<_>>(),
            "CreationDate": next(),
        })).collect());
    m.insert(
        "stocks".into(),
        STOCK
            .iter()
            .enumerate()
            .map(|(i, (sku, wh, on, avail))| {
                json!({
                    "StorageLocationId": 9001 + i, "Sku": sku, "ItemName": item_name(sku),
                    "WarehouseId": if *wh == "Hauptlager" { 1 } else { 2 }, "WarehouseName": wh,
                    "QuantityTotal": num(on), "QuantityAvailable": num(avail),
                })
            })
            .collect(),
    );
    m
}
