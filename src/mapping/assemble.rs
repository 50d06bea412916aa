//! The canonical object of one mapped record: derived defaults (invoice status and open
//! amount, order status) and the nesting of dotted field names.

use crate::model::Entity;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// Field values of one record by canonical name (a handful: a list beats a map).
pub(super) type Values<'a> = Vec<(&'a str, Value)>;

pub(super) fn get<'v>(values: &'v Values, name: &str) -> Option<&'v Value> {
    values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// Defaults that follow from other fields.
pub(super) fn derive(entity: Entity, v: &mut Values, currency: &str) {
    match entity {
        Entity::Invoice => {
            let gross = get(v, "gross").and_then(money_amount);
            let open = get(v, "open_amount").and_then(money_amount);
            if get(v, "status").is_none() {
                let status = match (open, gross) {
                    (Some(o), _) if o.is_zero() => "paid",
                    (Some(o), Some(g)) if o.abs() < g.abs() => "partially_paid",
                    _ => "open",
                };
                v.push(("status", Value::String(status.into())));
            }
            // Open: all of it; settled: nothing. Partly paid without an open amount: unknown
            // — never a guessed 0 (the invoice would vanish from the open items).
            let derived = match get(v, "status").and_then(Value::as_str) {
                Some("open") => gross,
                Some("paid" | "cancelled" | "closed") => gross.map(|_| Decimal::ZERO),
                _ => None,
            };
            if open.is_none()
                && let Some(o) = derived
            {
                v.push(("open_amount", money(o, currency)));
            }
        }
        Entity::Order if get(v, "status").is_none() => {
            v.push(("status", Value::String("open".into())))
        }
        _ => {}
    }
}

/// The fields [`derive`] fills when a record of `entity` lacks them, given the fields its
/// mapping fills.
pub(super) fn derived_fields(
    entity: Entity,
    mapped: &std::collections::BTreeSet<String>,
) -> Vec<&'static str> {
    match entity {
        Entity::Invoice if mapped.contains("gross") => vec!["status", "open_amount"],
        Entity::Invoice => vec!["status"],
        Entity::Order => vec!["status"],
        _ => Vec::new(),
    }
}

fn money_amount(v: &Value) -> Option<Decimal> {
    v.get("amount")?.as_str()?.parse().ok()
}

pub(super) fn money(d: Decimal, currency: &str) -> Value {
    let mut m = Map::with_capacity(2);
    m.insert("amount".into(), Value::String(d.to_string()));
    m.insert("currency".into(), Value::String(currency.to_owned()));
    Value::Object(m)
}

/// Builds the canonical object (keys sorted: stable content hashes), nesting dotted names.
pub(super) fn assemble(values: Values) -> Value {
    let mut obj = Map::new();
    for (k, v) in values {
        insert_dotted(&mut obj, k, v);
    }
    Value::Object(obj)
}

fn insert_dotted(obj: &mut Map<String, Value>, name: &str, v: Value) {
    match name.split_once('.') {
        None => {
            obj.insert(name.to_owned(), v);
        }
        Some((head, rest)) => {
            let child = obj
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = child {
                insert_dotted(m, rest, v);
            }
        }
    }
}

/// Contacts happen between 1970 and tomorrow (a date outside is a typo that would sort first
/// forever or vanish at the next retention run).
pub(super) fn activity_date_ok(iso: &str) -> bool {
    let Ok(d) = chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d") else {
        return true;
    };
    let latest = chrono::Local::now().date_naive() + chrono::TimeDelta::days(1);
    d >= chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(d) && d <= latest
}

pub(super) fn elements(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_partly_paid_invoice_without_open_amount_is_not_shown_as_settled() {
        let open = |status: &str| {
            let mut v: Values = vec![
                ("gross", json!({"amount": "1190.00", "currency": "EUR"})),
                ("status", json!(status)),
            ];
            derive(Entity::Invoice, &mut v, "EUR");
            get(&v, "open_amount").map(|o| o["amount"].clone())
        };
        // Open: all of it; paid: nothing; partly paid: unknown, never a guessed 0.
        assert_eq!(open("open"), Some(json!("1190.00")));
        assert_eq!(open("paid"), Some(json!("0")));
        assert_eq!(open("partially_paid"), None);
    }
}
