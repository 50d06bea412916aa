//! The Xentral API as its public documentation describes it (see the profile
//! `src/profiles/xentral.toml` for the URLs):
//! - `Authorization: Bearer <personal access token>`; an expired token (after
//!   [`super::Fault::ExpireSessions`]) or a wrong one answers `401` with `Unauthorized`
//!   (text/html, as in the OpenAPI spec);
//! - lists `{"data": [...], "extra": {"totalCount", "page": {"number", "size"}}}`, paged by
//!   `page[number]` (from 1) / `page[size]` (default 10; at most 100 for `/api/v3/customers`,
//!   1000 for the other v3 lists, 50 for v1 lists — more is a `400` RFC 7807 problem);
//! - filters `filter[n][key|op|value]` (AND; `equals`, `notEquals`, `greaterThan`,
//!   `greaterThanOrEquals`, `lessThan`, `lessThanOrEquals`; dotted keys for nested fields;
//!   date-times compared as instants), sort `order[n][field|dir]` (`ASC`/`DESC`);
//! - `X-RateLimit-Limit`/`X-RateLimit-Remaining` on every answer; with the limit enforced
//!   ([`super::MockErp::enforce_rate_limit`]) a fixed window per instance: beyond it `429`
//!   with `Retry-After` (seconds) and `X-RateLimit-Reset` (Unix time).

use super::query::{cmp_literal, cmp_values, header, param, text};
use super::{MockData, State, XENTRAL_TOKEN};
use chrono::DateTime;
use serde_json::{Value, json};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use wiremock::{Request, ResponseTemplate};

type Answer = (Value, Vec<(String, String)>, u16);

/// The rate limit window of one mock instance.
#[derive(Debug)]
pub struct RateWindow {
    pub limit: u32,
    pub window: Duration,
    /// Answer 429 beyond the limit (off by default: tests would wait a minute).
    pub enforce: bool,
    start: Option<Instant>,
    hits: u32,
}

impl Default for RateWindow {
    fn default() -> Self {
        RateWindow {
            limit: 100,
            window: Duration::from_secs(60),
            enforce: false,
            start: None,
            hits: 0,
        }
    }
}

impl RateWindow {
    /// An enforced limit of `limit` requests per fixed `window`.
    pub fn enforced(limit: u32, window: Duration) -> RateWindow {
        RateWindow {
            limit,
            window,
            enforce: true,
            start: None,
            hits: 0,
        }
    }

    fn roll(&mut self, now: Instant) {
        if self
            .start
            .is_none_or(|s| now.duration_since(s) >= self.window)
        {
            self.start = Some(now);
            self.hits = 0;
        }
    }
    fn remaining(&self) -> u32 {
        self.limit.saturating_sub(self.hits)
    }
}

/// Counts the request; `Some(429)` when the enforced limit is used up.
pub fn throttle(st: &mut State) -> Option<(ResponseTemplate, u16)> {
    let now = Instant::now();
    let w = &mut st.xentral_rate;
    w.roll(now);
    if w.enforce && w.hits >= w.limit {
        let left = w
            .window
            .saturating_sub(now.duration_since(w.start.unwrap_or(now)));
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            + secs;
        let t = ResponseTemplate::new(429)
            .insert_header("Retry-After", secs.to_string().as_str())
            .insert_header("X-RateLimit-Reset", reset.to_string().as_str())
            .set_body_json(json!({"message": "Too Many Attempts."}));
        return Some((t, 429));
    }
    w.hits += 1;
    None
}

/// Adds the rate limit headers every answer carries.
pub fn rate_headers(st: &State, t: ResponseTemplate) -> ResponseTemplate {
    let w = &st.xentral_rate;
    t.insert_header("X-RateLimit-Limit", w.limit.to_string().as_str())
        .insert_header("X-RateLimit-Remaining", w.remaining().to_string().as_str())
}

pub fn authorized(st: &State, req: &Request) -> bool {
    !st.token_expired
        && header(req, "authorization").as_deref() == Some(&format!("Bearer {XENTRAL_TOKEN}"))
}

pub fn unauthorized() -> (ResponseTemplate, u16) {
    let t = ResponseTemplate::new(401)
        .insert_header("Content-Type", "text/html; charset=UTF-8")
        .set_body_string("Unauthorized");
    (t, 401)
}

/// `updatedAt` in the instance's local time with its offset.
pub fn set_modified(rec: &mut Value, ms: i64) {
    let utc = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let local = crate::stamp::ServerTz::CentralEurope.utc_to_local(utc.naive_utc());
    let offset = (local - utc.naive_utc()).num_minutes();
    let zone = format!("{:+03}:{:02}", offset / 60, (offset % 60).abs());
    rec["updatedAt"] = json!(format!("{}{zone}", local.format("%Y-%m-%dT%H:%M:%S%.3f")));
}

fn problem(field: &str, sub: &str, msg: String) -> Answer {
    (
        json!({
            "type": "https://api.xentral.biz/problems/request-validation",
            "title": "Request payload validation failed.",
            "violations": { field: { sub: [msg] } },
        }),
        vec![(
            "Content-Type".to_owned(),
            "application/problem+json".to_owned(),
        )],
        400,
    )
}

fn not_found() -> Answer {
    (json!({"message": "Not Found"}), Vec::new(), 404)
}

/// `filter[0][key]` → ("filter", 0, "key").
fn indexed(k: &str) -> Option<(&str, usize, &str)> {
    let (name, rest) = k.split_once('[')?;
    let (n, rest) = rest.split_once("][")?;
    let part = rest.strip_suffix(']')?;
    Some((name, n.parse().ok()?, part))
}

fn get<'a>(rec: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(rec, |v, step| v.get(step))
}

fn instant(v: &str) -> Option<DateTime<chrono::FixedOffset>> {
    DateTime::parse_from_rfc3339(v.trim()).ok()
}

fn compare(v: Option<&Value>, lit: &str) -> Option<Ordering> {
    if let (Some(a), Some(b)) = (text(v).as_deref().and_then(instant), instant(lit)) {
        return Some(a.cmp(&b));
    }
    cmp_literal(v, lit)
}

fn sort_cmp(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (
        text(a).as_deref().and_then(instant),
        text(b).as_deref().and_then(instant),
    ) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => cmp_values(a, b),
    }
}

/// The answer of a data request.
pub fn answer(data: &MockData, req: &Request) -> Answer {
    let path = req.url.path();
    if let Some(rest) = path.strip_prefix("/api/v1/products/")
        && let Some(id) = rest.strip_suffix("/stocks")
    {
        let known = data
            .streams
            .get("products")
            .is_some_and(|l| l.iter().any(|p| text(p.get("id")).as_deref() == Some(id)));
        if !known {
            return not_found();
        }
        let stocks: Vec<Value> = data
            .streams
            .get("productStocks")
            .into_iter()
            .flatten()
            .filter(|s| text(s.get("productId")).as_deref() == Some(id))
            .map(|s| {
                let mut s = s.clone();
                if let Value::Object(m) = &mut s {
                    m.remove("productId");
                }
                s
            })
            .collect();
        return (json!({ "data": stocks }), Vec::new(), 200);
    }
    let (stream, max) = match path {
        "/api/v3/customers" => ("customers", 100),
        "/api/v3/invoices" => ("invoices", 1000),
        "/api/v3/salesOrders" => ("salesOrders", 1000),
        "/api/v1/creditNotes" => ("creditNotes", 50),
        "/api/v1/products" => ("products", 50),
        _ => return not_found(),
    };
    let mut filters: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    let mut order: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    for (k, v) in req.url.query_pairs() {
        match indexed(&k) {
            Some(("filter", n, part)) => {
                filters
                    .entry(n)
                    .or_default()
                    .insert(part.to_owned(), v.into_owned());
            }
            Some(("order", n, part)) => {
                order
                    .entry(n)
                    .or_default()
                    .insert(part.to_owned(), v.into_owned());
            }
            _ => {}
        }
    }
    let mut conds = Vec::new();
    for f in filters.values() {
        let (Some(key), Some(op), Some(value)) = (f.get("key"), f.get("op"), f.get("value")) else {
            return problem("filter", "_", "A filter needs key, op and value.".into());
        };
        let ok: fn(Ordering) -> bool = match op.as_str() {
            "equals" => |o| o == Ordering::Equal,
            "notEquals" => |o| o != Ordering::Equal,
            "greaterThan" => |o| o == Ordering::Greater,
            "greaterThanOrEquals" => |o| o != Ordering::Less,
            "lessThan" => |o| o == Ordering::Less,
            "lessThanOrEquals" => |o| o != Ordering::Greater,
            other => return problem("filter", "op", format!("Unknown operator `{other}`.")),
        };
        conds.push((key.clone(), value.clone(), ok));
    }
    let mut keys = Vec::new();
    for o in order.values() {
        let field = o.get("field").cloned().unwrap_or_default();
        let desc = match o.get("dir").map(String::as_str) {
            None | Some("ASC") => false,
            Some("DESC") => true,
            Some(d) => return problem("order", "dir", format!("`{d}` is not ASC or DESC.")),
        };
        keys.push((field, desc));
    }
    let size = match param(req, "page[size]") {
        None => 10,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                return problem(
                    "page",
                    "size",
                    format!("This value should be between 1 and {max}."),
                );
            }
        },
    };
    let number = match param(req, "page[number]").map(|s| s.parse::<usize>()) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => return problem("page", "number", "This value should be 1 or more.".into()),
    };
    let mut list: Vec<Value> = data
        .streams
        .get(stream)
        .into_iter()
        .flatten()
        .filter(|r| {
            conds
                .iter()
                .all(|(k, v, ok)| compare(get(r, k), v).is_some_and(ok))
        })
        .cloned()
        .collect();
    list.sort_by(|a, b| {
        keys.iter()
            .map(|(k, desc)| {
                let o = sort_cmp(get(a, k), get(b, k));
                if *desc { o.reverse() } else { o }
            })
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
    let total = list.len();
    let page: Vec<Value> = list
        .into_iter()
        .skip((number - 1) * size)
        .take(size)
        .collect();
    (
        json!({
            "data": page,
            "extra": { "totalCount": total, "page": { "number": number, "size": size } },
        }),
        Vec::new(),
        200,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_params_and_instants() {
        assert_eq!(indexed("filter[0][key]"), Some(("filter", 0, "key")));
        assert_eq!(indexed("order[12][dir]"), Some(("order", 12, "dir")));
        assert_eq!(indexed("page[size]"), None);
        // The same instant in two offsets compares equal; later is greater.
        let v = json!("2026-02-15T08:04:00+01:00");
        assert_eq!(
            compare(Some(&v), "2026-02-15T07:04:00Z"),
            Some(Ordering::Equal)
        );
        assert_eq!(
            compare(Some(&v), "2026-02-15T07:03:59.999Z"),
            Some(Ordering::Greater)
        );
        let mut rec = json!({});
        // 2026-07-01T10:00:00Z is summer time in Berlin.
        set_modified(&mut rec, 1_782_900_000_000);
        assert_eq!(rec["updatedAt"], "2026-07-01T12:00:00.000+02:00");
    }
}
