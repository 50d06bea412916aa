//! Lexware Office (lexoffice) public API, as documented at https://developers.lexoffice.io/docs/:
//! bearer API key; `/v1/contacts` (filters `customer`/`vendor`) and `/v1/contacts/{id}`;
//! `/v1/voucherlist` with the required `voucherType` and `voucherStatus` (comma lists or
//! `any`; `overdue` cannot be combined), `updatedDateFrom`/`updatedDateTo` (`yyyy-MM-dd`),
//! `sort=<field>,ASC|DESC`; Spring page objects (`page` from 0, `size` ≤ 250, default 25).
//!
//! Documented limits the mock enforces when switched on ([`Limits`]): 2 requests/s for the
//! whole account as a token bucket (`429`, the request is not executed), and the voucherlist's
//! 10,000-entry window (public issue threads: Baebeca-Solutions/lexware-php-api#31,
//! Sysix/lexoffice-php-api#82 — `page=100&size=100` answers `500 Internal Server Error`).

use super::query::{self, header, param};
use super::{MockData, json};
use crate::stamp::ServerTz;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Instant;
use wiremock::{Request, ResponseTemplate};

/// `Authorization: Bearer <this>` for the lexoffice mock.
pub const LEXOFFICE_TOKEN: &str = "kontor-demo-lexoffice-api-key";

/// The documented limits of the API.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests per second (token bucket with a burst of the same size); `None`: unlimited.
    pub rate: Option<f64>,
    /// Entries of one voucherlist query (`page × size + size` beyond it answers 500).
    pub voucherlist_cap: usize,
    tokens: f64,
    last: Option<Instant>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            rate: None,
            voucherlist_cap: 10_000,
            tokens: 0.0,
            last: None,
        }
    }
}

impl Limits {
    /// Takes a token; `false` when the bucket is empty (answer 429, do nothing).
    fn admit(&mut self) -> bool {
        let Some(rate) = self.rate else {
            return true;
        };
        let now = Instant::now();
        self.tokens = match self.last {
            Some(t) => (self.tokens + now.duration_since(t).as_secs_f64() * rate).min(rate),
            None => rate,
        };
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

type Answer = (Value, Vec<(String, String)>, u16);

/// `None` when the request may go on; a 429 when the account's bucket is empty.
pub fn throttle(data: &mut MockData, req: &Request) -> Option<(ResponseTemplate, u16)> {
    if data.lexoffice.admit() {
        return None;
    }
    Some(json(
        429,
        spring_error(429, "Too Many Requests", req.url.path()),
    ))
}

pub fn authorized(req: &Request) -> bool {
    header(req, "authorization").as_deref() == Some(&format!("Bearer {LEXOFFICE_TOKEN}"))
}

pub fn unauthorized() -> (ResponseTemplate, u16) {
    json(401, json!({"message": "Unauthorized"}))
}

fn spring_error(status: u16, error: &str, path: &str) -> Value {
    json!({
        "timestamp": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string(),
        "status": status,
        "error": error,
        "path": path,
    })
}

fn bad(req: &Request, msg: &str) -> Answer {
    let mut body = spring_error(400, "Bad Request", req.url.path());
    body["message"] = json!(msg);
    (body, Vec::new(), 400)
}

/// A Berlin local timestamp with its offset, as lexoffice writes them
/// (`2023-02-22T10:00:00.000+01:00`).
pub fn timestamp(ms: i64) -> String {
    let utc = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .naive_utc();
    let local = ServerTz::CentralEurope.utc_to_local(utc);
    let hours = (local - utc).num_hours();
    format!("{}+{hours:02}:00", local.format("%Y-%m-%dT%H:%M:%S%.3f"))
}

/// A change: vouchers get a new `updatedDate`, contacts a new `version`.
pub fn set_modified(rec: &mut Value, ms: i64) {
    if rec.get("voucherType").is_some() {
        rec["updatedDate"] = json!(timestamp(ms));
    } else {
        let v = rec["version"].as_i64().unwrap_or(0);
        rec["version"] = json!(v + 1);
    }
}

fn page_params(req: &Request) -> Result<(usize, usize), Answer> {
    let page = match param(req, "page") {
        Some(p) => p.parse().map_err(|_| bad(req, "page must be a number"))?,
        None => 0,
    };
    let size: usize = match param(req, "size") {
        Some(s) => s.parse().map_err(|_| bad(req, "size must be a number"))?,
        None => 25,
    };
    if size == 0 || size > 250 {
        return Err(bad(req, "size must be between 1 and 250"));
    }
    Ok((page, size))
}

fn page_object(list: &[Value], page: usize, size: usize, sort: Value) -> Value {
    let content: Vec<Value> = list
        .iter()
        .skip(page.saturating_mul(size))
        .take(size)
        .cloned()
        .collect();
    let total_pages = list.len().div_ceil(size);
    json!({
        "content": content,
        "first": page == 0,
        "last": page.saturating_add(1) >= total_pages,
        "totalPages": total_pages,
        "totalElements": list.len(),
        "numberOfElements": content.len(),
        "size": size,
        "number": page,
        "sort": sort,
    })
}

/// The answer of a data request.
pub fn answer(data: &MockData, req: &Request) -> Answer {
    let path = req.url.path();
    if let Some(id) = path.strip_prefix("/v1/contacts/") {
        return match data
            .streams
            .get("contacts")
            .and_then(|l| l.iter().find(|c| c["id"] == id))
        {
            Some(c) => (c.clone(), Vec::new(), 200),
            None => (spring_error(404, "Not Found", path), Vec::new(), 404),
        };
    }
    match path {
        "/v1/contacts" => contacts(data, req),
        "/v1/voucherlist" => voucherlist(data, req),
        _ => (spring_error(404, "Not Found", path), Vec::new(), 404),
    }
}

fn has_role(c: &Value, role: &str) -> bool {
    c["roles"].get(role).is_some_and(|r| r.is_object())
}

fn contacts(data: &MockData, req: &Request) -> Answer {
    let (page, size) = match page_params(req) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let list: Vec<Value> = data
        .streams
        .get("contacts")
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|c| {
            ["customer", "vendor"]
                .iter()
                .all(|role| match param(req, role).as_deref() {
                    Some("true") => has_role(c, role),
                    Some("false") => !has_role(c, role),
                    _ => true,
                })
        })
        .cloned()
        .collect();
    (page_object(&list, page, size, json!([])), Vec::new(), 200)
}

const TYPES: &[&str] = &[
    "salesinvoice",
    "salescreditnote",
    "purchaseinvoice",
    "purchasecreditnote",
    "invoice",
    "downpaymentinvoice",
    "creditnote",
    "orderconfirmation",
    "quotation",
    "deliverynote",
];
const STATUSES: &[&str] = &[
    "draft",
    "open",
    "overdue",
    "paid",
    "paidoff",
    "voided",
    "transferred",
    "sepadebit",
    "accepted",
    "rejected",
    "unchecked",
];

fn list_param(req: &Request, name: &str, allowed: &[&str]) -> Result<Vec<String>, Answer> {
    let Some(v) = param(req, name).filter(|v| !v.trim().is_empty()) else {
        return Err(bad(req, &format!("{name} is required")));
    };
    let items: Vec<String> = v.split(',').map(|s| s.trim().to_lowercase()).collect();
    if items == ["any"] {
        return Ok(allowed.iter().map(|s| (*s).to_owned()).collect());
    }
    match items.iter().find(|i| !allowed.contains(&i.as_str())) {
        Some(i) => Err(bad(req, &format!("unknown {name} `{i}`"))),
        None => Ok(items),
    }
}

/// The Berlin calendar date of a lexoffice timestamp (its own date part).
fn day(v: &Value) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(v.as_str()?.get(..10)?, "%Y-%m-%d").ok()
}

fn instant(v: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()
}

fn date_param(req: &Request, name: &str) -> Result<Option<chrono::NaiveDate>, Answer> {
    match param(req, name) {
        None => Ok(None),
        Some(v) => chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| bad(req, &format!("{name} must be yyyy-MM-dd"))),
    }
}

fn voucherlist(data: &MockData, req: &Request) -> Answer {
    let parsed = (|| {
        let types = list_param(req, "voucherType", TYPES)?;
        let statuses = list_param(req, "voucherStatus", STATUSES)?;
        if statuses.len() > 1 && statuses.iter().any(|s| s == "overdue") {
            return Err(bad(req, "voucherStatus overdue cannot be combined"));
        }
        let from = date_param(req, "updatedDateFrom")?;
        let to = date_param(req, "updatedDateTo")?;
        let (page, size) = page_params(req)?;
        Ok((types, statuses, from, to, page, size))
    })();
    let (types, statuses, from, to, page, size) = match parsed {
        Ok(p) => p,
        Err(e) => return e,
    };
    let today = chrono::Utc::now().date_naive();
    let mut list: Vec<Value> = data
        .streams
        .get("voucherlist")
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|v| {
            let ty = v["voucherType"].as_str().unwrap_or_default();
            let st = v["voucherStatus"].as_str().unwrap_or_default();
            let overdue = st == "open" && day(&v["dueDate"]).is_some_and(|d| d < today);
            let status_ok = statuses
                .iter()
                .any(|s| s == st || (s == "overdue" && overdue));
            let updated = day(&v["updatedDate"]);
            types.iter().any(|t| t == ty)
                && status_ok
                && from.is_none_or(|f| updated.is_some_and(|u| u >= f))
                && to.is_none_or(|t| updated.is_some_and(|u| u <= t))
        })
        .cloned()
        .collect();
    let sort = param(req, "sort").unwrap_or_else(|| "voucherDate,DESC".into());
    let (field, dir) = sort.split_once(',').unwrap_or((sort.as_str(), "ASC"));
    let desc = dir.eq_ignore_ascii_case("DESC");
    // Timestamps with offsets sort by their instant (summer and winter time mixed).
    list.sort_by(|a, b| {
        let (x, y) = (&a[field], &b[field]);
        let o = match (instant(x), instant(y)) {
            (Some(p), Some(q)) => p.cmp(&q),
            _ => query::cmp_values(Some(x), Some(y)),
        };
        if desc { o.reverse() } else { o }
    });
    if page.saturating_mul(size).saturating_add(size) > data.lexoffice.voucherlist_cap {
        return (
            spring_error(500, "Internal Server Error", req.url.path()),
            Vec::new(),
            500,
        );
    }
    let sort_obj = json!([{"property": field, "direction": if desc { "DESC" } else { "ASC" },
        "ignoreCase": false, "nullHandling": "NATIVE", "ascending": !desc, "descending": desc}]);
    (page_object(&list, page, size, sort_obj), Vec::new(), 200)
}

fn contact(id: &str, no: Option<u32>, company: Option<&str>, person: (&str, &str)) -> Value {
    let mut c = json!({
        "id": id,
        "organizationId": "aa93e8a8-2aa3-470b-b914-caad8a255dd8",
        "version": 1,
        "roles": {},
        "archived": false,
    });
    if let Some(n) = no {
        c["roles"]["customer"] = json!({"number": n});
    }
    match company {
        Some(name) => c["company"] = json!({"name": name, "allowTaxFreeInvoices": false}),
        None => {
            c["person"] = json!({"salutation": "Frau", "firstName": person.0, "lastName": person.1})
        }
    }
    c
}

/// A voucherlist entry: (id, type, status, number, voucher day, updated i-th day of February
/// 2026 at 09:00 Berlin, due day, contact, name, total, open).
#[allow(clippy::too_many_arguments)]
fn voucher(
    id: &str,
    ty: &str,
    status: &str,
    number: &str,
    date: &str,
    updated_day: u32,
    due: Option<&str>,
    contact: Option<&str>,
    name: &str,
    total: &str,
    open: &str,
) -> Value {
    let num = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    let mut v = json!({
        "id": id,
        "voucherType": ty,
        "voucherStatus": status,
        "voucherNumber": number,
        "voucherDate": format!("{date}T00:00:00.000+01:00"),
        "createdDate": format!("{date}T10:15:00.000+01:00"),
        "updatedDate": format!("2026-02-{updated_day:02}T09:00:00.000+01:00"),
        "contactName": name,
        "totalAmount": num(total),
        "openAmount": num(open),
        "currency": "EUR",
        "archived": false,
    });
    if let Some(d) = due {
        v["dueDate"] = json!(format!("{d}T00:00:00.000+01:00"));
    }
    if let Some(c) = contact {
        v["contactId"] = json!(c);
    }
    v
}

pub const CONTACT_KRANZ: &str = "e9066f04-8cc7-4616-93f8-ac9ecc8479c8";
pub const CONTACT_MUSTERMANN: &str = "313ac2b0-8a80-4f2e-8ba3-8ad64fd7f9b1";
pub const CONTACT_SONNENHANG: &str = "5f0f5d6e-2c1a-4a3b-9b3e-0d8f0c6b7a21";
pub const CONTACT_KRANICH: &str = "a2c4e6f8-1b3d-4f5a-8c7e-9d0b1a2c3e4f";
const CONTACT_VENDOR: &str = "0b1c2d3e-4f5a-4b6c-8d7e-8f9a0b1c2d3e";

/// Contacts (four customers, one vendor) and eight vouchers: open, partly paid, paid,
/// overdue, transferred and voided invoices, an open credit note, and a collective-customer
/// invoice without contact.
pub fn fixtures() -> BTreeMap<String, Vec<Value>> {
    let mut kranz = contact(
        CONTACT_KRANZ,
        Some(10001),
        Some("Brauhaus Kranz GmbH"),
        ("", ""),
    );
    kranz["company"]["vatRegistrationId"] = json!("DE123456789");
    kranz["addresses"] = json!({"billing": [{"street": "Hopfenweg 3", "zip": "50667",
        "city": "Köln", "countryCode": "DE"}]});
    kranz["emailAddresses"] = json!({"business": ["buchhaltung@brauhaus-kranz.de"]});
    kranz["phoneNumbers"] = json!({"business": ["+49 221 123456"], "fax": ["+49 221 123457"]});
    let mut mustermann = contact(
        CONTACT_MUSTERMANN,
        Some(10002),
        None,
        ("Erika", "Mustermann"),
    );
    mustermann["emailAddresses"] = json!({"private": ["erika.mustermann@example.de"]});
    mustermann["phoneNumbers"] =
        json!({"mobile": ["+49 171 2345678"], "private": ["+49 30 9876543"]});
    mustermann["addresses"] = json!({"billing": [{"street": "Heidestraße 17", "zip": "51147",
        "city": "Köln", "countryCode": "DE"}]});
    let mut sonnenhang = contact(
        CONTACT_SONNENHANG,
        Some(10003),
        Some("Weingut Sonnenhang KG"),
        ("", ""),
    );
    sonnenhang["archived"] = json!(true);
    let mut kranich = contact(
        CONTACT_KRANICH,
        Some(10004),
        Some("Kranich Logistik AG"),
        ("", ""),
    );
    kranich["roles"]["vendor"] = json!({"number": 70001});
    kranich["emailAddresses"] = json!({"office": ["dispo@kranich-logistik.de"],
        "other": ["rechnung@kranich-logistik.de"]});
    kranich["phoneNumbers"] = json!({"office": ["+49 40 555000"]});
    let mut vendor = contact(CONTACT_VENDOR, None, Some("Papier Profi GmbH"), ("", ""));
    vendor["roles"]["vendor"] = json!({"number": 70002});
    let vouchers = vec![
        voucher(
            "7e1b0f2a-0001-4c3d-9e8f-000000000001",
            "invoice",
            "open",
            "RE1001",
            "2026-01-15",
            1,
            Some("2026-03-14"),
            Some(CONTACT_KRANZ),
            "Brauhaus Kranz GmbH",
            "1190.00",
            "1190.00",
        ),
        voucher(
            "7e1b0f2a-0002-4c3d-9e8f-000000000002",
            "invoice",
            "paid",
            "RE1002",
            "2026-01-16",
            2,
            Some("2026-01-30"),
            Some(CONTACT_MUSTERMANN),
            "Erika Mustermann",
            "238.00",
            "0.00",
        ),
        voucher(
            "7e1b0f2a-0003-4c3d-9e8f-000000000003",
            "invoice",
            "open",
            "RE1003",
            "2026-01-20",
            3,
            Some("2026-03-20"),
            Some(CONTACT_KRANZ),
            "Brauhaus Kranz GmbH",
            "595.00",
            "295.00",
        ),
        voucher(
            "7e1b0f2a-0004-4c3d-9e8f-000000000004",
            "creditnote",
            "open",
            "GS1001",
            "2026-01-22",
            4,
            None,
            Some(CONTACT_KRANZ),
            "Brauhaus Kranz GmbH",
            "119.00",
            "119.00",
        ),
        voucher(
            "7e1b0f2a-0005-4c3d-9e8f-000000000005",
            "invoice",
            "paid",
            "RE1004",
            "2026-01-23",
            5,
            Some("2026-01-23"),
            None,
            "Sammelkunde",
            "49.90",
            "0.00",
        ),
        voucher(
            "7e1b0f2a-0006-4c3d-9e8f-000000000006",
            "invoice",
            "voided",
            "RE1005",
            "2026-01-26",
            6,
            Some("2026-02-09"),
            Some(CONTACT_KRANICH),
            "Kranich Logistik AG",
            "300.00",
            "0.00",
        ),
        voucher(
            "7e1b0f2a-0007-4c3d-9e8f-000000000007",
            "invoice",
            "transferred",
            "RE1006",
            "2026-01-28",
            7,
            Some("2026-02-11"),
            Some(CONTACT_SONNENHANG),
            "Weingut Sonnenhang KG",
            "714.00",
            "714.00",
        ),
        voucher(
            "7e1b0f2a-0008-4c3d-9e8f-000000000008",
            "invoice",
            "open",
            "RE1007",
            "2025-12-10",
            8,
            Some("2026-01-10"),
            Some(CONTACT_MUSTERMANN),
            "Erika Mustermann",
            "1785.00",
            "1785.00",
        ),
    ];
    let mut m = BTreeMap::new();
    m.insert(
        "contacts".to_owned(),
        vec![kranz, mustermann, sonnenhang, kranich, vendor],
    );
    m.insert("voucherlist".to_owned(), vouchers);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_carry_the_berlin_offset() {
        // 2026-01-15T09:00:00Z and 2026-07-15T09:00:00Z
        assert_eq!(
            timestamp(1_768_467_600_000),
            "2026-01-15T10:00:00.000+01:00"
        );
        assert_eq!(
            timestamp(1_784_106_000_000),
            "2026-07-15T11:00:00.000+02:00"
        );
    }

    #[test]
    fn the_bucket_admits_the_rate() {
        let mut l = Limits {
            rate: Some(2.0),
            ..Limits::default()
        };
        assert!(l.admit() && l.admit());
        assert!(!l.admit(), "a third request in the same instant is refused");
    }
}
