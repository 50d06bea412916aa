//! Filter and sort helpers shared by the mock APIs.

use rust_decimal::Decimal;
use serde_json::Value;
use std::cmp::Ordering;
use std::str::FromStr;

pub fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn num(s: &str) -> Option<Decimal> {
    Decimal::from_str(s.trim()).ok()
}

/// Compares a record value with a literal: numerically when both are numbers, else as text.
pub fn cmp_literal(v: Option<&Value>, lit: &str) -> Option<Ordering> {
    let t = text(v)?;
    match (num(&t), num(lit)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => Some(t.as_str().cmp(lit)),
    }
}

pub fn cmp_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (text(a), text(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => match (num(&x), num(&y)) {
            (Some(p), Some(q)) => p.cmp(&q),
            _ => x.cmp(&y),
        },
    }
}

/// Applies an operator (`eq ne gt ge lt le`, or `= != > >= < <=`).
pub fn holds(v: Option<&Value>, op: &str, lit: &str) -> bool {
    let Some(o) = cmp_literal(v, lit) else {
        return op == "ne" || op == "!=";
    };
    match op {
        "eq" | "=" => o == Ordering::Equal,
        "ne" | "!=" => o != Ordering::Equal,
        "gt" | ">" => o == Ordering::Greater,
        "ge" | ">=" => o != Ordering::Less,
        "lt" | "<" => o == Ordering::Less,
        "le" | "<=" => o != Ordering::Greater,
        _ => false,
    }
}

/// Sorts by fields, each `(name, descending)`.
pub fn sort(list: &mut [Value], keys: &[(String, bool)]) {
    list.sort_by(|a, b| {
        for (k, desc) in keys {
            let o = cmp_values(a.get(k), b.get(k));
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
}

pub fn param(req: &wiremock::Request, name: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub fn header(req: &wiremock::Request, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
