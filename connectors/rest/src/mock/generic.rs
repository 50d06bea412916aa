//! A generic `/items` API in one of the five paging styles. Records are sorted by
//! `(modified, id)`, or by `id` with `sort=id`; `modified_since` filters `modified >=`.
//! Link and cursor styles continue with a keyset token (the sort key of the last record), the
//! way well-behaved servers do.

use super::MockData;
use super::query::{self, param};
use serde_json::{Value, json};
use std::cmp::Ordering;
use wiremock::Request;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `offset` / `limit`, body `{"items": [...]}`.
    Offset,
    /// `page` (from 1) / `per_page`, body `{"items": [...]}`.
    Page,
    /// `{"value": [...], "@odata.nextLink": "<absolute URL>"}`.
    NextLink,
    /// A bare array and `Link: <...>; rel="next"`.
    LinkHeader,
    /// `{"data": [...], "meta": {"next_cursor": "..."}}`, sent back as `cursor`.
    Cursor,
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn key(r: &Value, by_id: bool) -> Vec<String> {
    let id = query::text(r.get("id")).unwrap_or_default();
    if by_id {
        vec![id]
    } else {
        vec![query::text(r.get("modified")).unwrap_or_default(), id]
    }
}

fn cmp_keys(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = query::cmp_values(Some(&json!(x)), Some(&json!(y)));
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

pub fn answer(
    data: &MockData,
    style: Style,
    req: &Request,
    base: &str,
) -> (Value, Vec<(String, String)>, u16) {
    if req.url.path() != "/items" {
        return (json!({"error": "not found"}), Vec::new(), 404);
    }
    let by_id = param(req, "sort").as_deref() == Some("id");
    let since = param(req, "modified_since");
    let mut list: Vec<Value> = data
        .streams
        .get("items")
        .map(|l| {
            l.iter()
                .filter(|r| {
                    since
                        .as_deref()
                        .is_none_or(|s| query::holds(r.get("modified"), "ge", s))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    list.sort_by(|a, b| cmp_keys(&key(a, by_id), &key(b, by_id)));
    let num = |name: &str, default: usize| -> usize {
        param(req, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    match style {
        Style::Offset => {
            let (o, l) = (num("offset", 0), num("limit", 50));
            let items: Vec<Value> = list.into_iter().skip(o).take(l).collect();
            (json!({ "items": items }), Vec::new(), 200)
        }
        Style::Page => {
            let (p, l) = (num("page", 1).max(1), num("per_page", 50));
            let items: Vec<Value> = list.into_iter().skip((p - 1) * l).take(l).collect();
            (json!({ "items": items }), Vec::new(), 200)
        }
        Style::NextLink | Style::LinkHeader | Style::Cursor => {
            let token = match style {
                Style::Cursor => param(req, "cursor"),
                _ => param(req, "after"),
            };
            let after: Option<Vec<String>> = match token {
                Some(t) => match unhex(&t) {
                    Some(k) => Some(k.split('\u{1f}').map(str::to_owned).collect()),
                    None => return (json!({"error": "bad token"}), Vec::new(), 400),
                },
                None => None,
            };
            let limit = num("limit", 50);
            let rest: Vec<Value> = list
                .into_iter()
                .filter(|r| {
                    after
                        .as_ref()
                        .is_none_or(|a| cmp_keys(&key(r, by_id), a) == Ordering::Greater)
                })
                .collect();
            let more = rest.len() > limit;
            let items: Vec<Value> = rest.into_iter().take(limit).collect();
            let next_token = match (more, items.last()) {
                (true, Some(last)) => Some(hex(&key(last, by_id).join("\u{1f}"))),
                _ => None,
            };
            let next_url = next_token.as_ref().map(|t| {
                let mut u = req.url.clone();
                let pairs: Vec<(String, String)> = req
                    .url
                    .query_pairs()
                    .filter(|(k, _)| k != "after")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .chain([("after".to_owned(), t.clone())])
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
                format!("{base}{}?{}", u.path(), u.query().unwrap_or(""))
            });
            match style {
                Style::NextLink => {
                    let mut body = json!({ "value": items });
                    if let Some(u) = next_url {
                        body["@odata.nextLink"] = json!(u);
                    }
                    (body, Vec::new(), 200)
                }
                Style::LinkHeader => {
                    let headers = next_url
                        .map(|u| vec![("Link".to_owned(), format!("<{u}>; rel=\"next\""))])
                        .unwrap_or_default();
                    (Value::Array(items), headers, 200)
                }
                _ => (
                    json!({ "data": items, "meta": { "next_cursor": next_token } }),
                    Vec::new(),
                    200,
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_roundtrip() {
        let k = "2026-01-15T10:00:00.000Z\u{1f}Müller";
        assert_eq!(super::unhex(&super::hex(k)).as_deref(), Some(k));
    }
}
