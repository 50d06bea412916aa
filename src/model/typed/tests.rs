//! Every typed struct against its entity's definition.

use super::*;
use crate::model::{FieldDef, FieldType};
use serde_json::{Map, json};

/// A value of every field of `fields`, as the mapping engine stores it (dotted names nest).
fn sample(fields: &[FieldDef]) -> Value {
    let mut out = Map::new();
    for f in fields {
        let v = match f.ty {
            FieldType::Id | FieldType::Text => json!(format!("{}-1", f.name)),
            FieldType::Date => json!("2026-12-31"),
            FieldType::Decimal => json!("12.50"),
            FieldType::Money => json!({"amount": "1234.56", "currency": "EUR"}),
            FieldType::Currency => json!("EUR"),
            FieldType::Int => json!(3),
            FieldType::Bool => json!(true),
            FieldType::Phone => json!("+492214711230"),
            FieldType::Phones => json!(["+492214711230"]),
            FieldType::Texts => json!(["BR-CO-10"]),
            FieldType::Email => json!("info@example.de"),
            FieldType::Vat => json!("DE123456789"),
            FieldType::Gln => json!("4000001000005"),
            FieldType::Country => json!("DE"),
            FieldType::Enum(values) => json!(values[0]),
            FieldType::Lines(line) => json!([sample(line)]),
        };
        match f.name.split_once('.') {
            Some((outer, inner)) => {
                let o = out.entry(outer).or_insert_with(|| json!({}));
                o[inner] = v;
            }
            None => {
                out.insert(f.name.to_owned(), v);
            }
        }
    }
    Value::Object(out)
}

/// `v` without nulls, empty lists and empty objects: what a struct writes back for absent
/// fields.
fn present(v: Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, present(v)))
                .filter(|(_, v)| {
                    !(v.is_null()
                        || v.as_array().is_some_and(Vec::is_empty)
                        || v.as_object().is_some_and(Map::is_empty))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(present).collect()),
        v => v,
    }
}

fn round_trip<T: Record>() -> (Value, Value) {
    let full = sample(T::ENTITY.def().fields);
    let typed = T::read(&full);
    (full, present(serde_json::to_value(typed).unwrap()))
}

/// Reads every field of `entity` into its struct and back.
fn check(entity: Entity) -> (Value, Value) {
    // A new entity without a typed struct does not compile here.
    match entity {
        Entity::Customer => round_trip::<Customer>(),
        Entity::Invoice => round_trip::<Invoice>(),
        Entity::CreditNote => round_trip::<CreditNote>(),
        Entity::Order => round_trip::<Order>(),
        Entity::OrderLine => round_trip::<OrderLine>(),
        Entity::OrderConfirmation => round_trip::<OrderConfirmation>(),
        Entity::Delivery => round_trip::<Delivery>(),
        Entity::Stock => round_trip::<Stock>(),
        Entity::ContactPerson => round_trip::<ContactPerson>(),
        Entity::Activity => round_trip::<Activity>(),
        Entity::Supplier => round_trip::<Supplier>(),
        Entity::SupplierInvoice => round_trip::<SupplierInvoice>(),
        Entity::Quote => round_trip::<Quote>(),
        Entity::Payment => round_trip::<Payment>(),
    }
}

#[test]
fn every_struct_reads_and_writes_every_field_of_its_entity() {
    for e in Entity::ALL {
        let (full, back) = check(e);
        assert_eq!(
            back, full,
            "{e}: the typed struct and the EntityDef disagree"
        );
    }
}

#[test]
fn no_struct_has_a_field_its_entity_does_not_know() {
    let of = |fields: &[FieldDef]| -> Vec<String> {
        let mut names: Vec<String> = fields
            .iter()
            .map(|f| f.name.split('.').next().unwrap_or(f.name).to_owned())
            .collect();
        names.dedup();
        names
    };
    let pairs: [(&[&str], &[FieldDef]); 14] = [
        (Customer::FIELDS, crate::model::CUSTOMER.fields),
        (Supplier::FIELDS, crate::model::SUPPLIER.fields),
        (Invoice::FIELDS, crate::model::INVOICE.fields),
        (CreditNote::FIELDS, crate::model::CREDIT_NOTE.fields),
        (Order::FIELDS, crate::model::ORDER.fields),
        (OrderLine::FIELDS, crate::model::ORDER_LINE.fields),
        (
            OrderConfirmation::FIELDS,
            crate::model::ORDER_CONFIRMATION.fields,
        ),
        (Delivery::FIELDS, crate::model::DELIVERY.fields),
        (Stock::FIELDS, crate::model::STOCK.fields),
        (ContactPerson::FIELDS, crate::model::CONTACT_PERSON.fields),
        (Activity::FIELDS, crate::model::ACTIVITY.fields),
        (
            SupplierInvoice::FIELDS,
            crate::model::SUPPLIER_INVOICE.fields,
        ),
        (Quote::FIELDS, crate::model::QUOTE.fields),
        (Payment::FIELDS, crate::model::PAYMENT.fields),
    ];
    for (typed, def) in pairs {
        assert_eq!(typed, of(def).as_slice());
    }
}

#[test]
fn reading_is_forgiving_per_field() {
    let inv = Invoice::read(&json!({
        "number": "R-1",
        "due_date": "31.12.2026",
        "gross": {"amount": 119.5, "currency": "EUR"},
        "open_amount": {"currency": "EUR"},
        "status": "",
        "dunning_level": "zwei",
        "extra": {"kostenstelle": "4711"}
    }));
    assert_eq!(inv.number.as_deref(), Some("R-1"));
    // Not an ISO date, no amount, an empty text, not a number: absent, the rest stays.
    assert_eq!(inv.due_date, None);
    assert_eq!(inv.open_amount, None);
    assert_eq!(inv.status, None);
    assert_eq!(inv.dunning_level, None);
    // A decimal written as a JSON number still reads.
    assert_eq!(inv.gross.map(|g| g.amount), Some(Decimal::new(1195, 1)));
    assert_eq!(inv.extra["kostenstelle"], "4711");
    // Not an object at all: an empty record, no panic.
    assert_eq!(Invoice::read(&json!("x")), Invoice::default());
}

#[test]
fn a_head_is_the_record_without_its_lines() {
    let full = sample(crate::model::INVOICE.fields);
    let whole = Invoice::read(&full);
    assert_eq!(whole.lines.len(), 1);
    let head = Invoice::head(&full);
    assert!(head.lines.is_empty());
    assert_eq!(
        Invoice {
            lines: Vec::new(),
            ..whole.clone()
        },
        head
    );
    // From the stored text too; a bad field elsewhere reads as absent, as in `read`.
    assert_eq!(Invoice::head_of_text(&full.to_string()), Some(head));
    let mut bad = full.clone();
    bad["due_date"] = json!("31.12.2026");
    let h = Invoice::head_of_text(&bad.to_string()).unwrap();
    assert_eq!(
        (h.due_date, h.number.as_deref(), h.lines.len()),
        (None, Some("number-1"), 0)
    );
    assert_eq!(Invoice::head_of_text("not json"), None);
    // The whole record from its text, forgiving alike.
    assert_eq!(Invoice::of_text(&full.to_string()), Some(whole));
    assert_eq!(Invoice::of_text(&bad.to_string()).unwrap().lines.len(), 1);
    assert_eq!(Invoice::of_text("[1"), None);
}

#[test]
fn warnings_read_alone_as_in_the_whole_record() {
    let full = sample(crate::model::INVOICE.fields);
    assert_eq!(warnings_of(&full), Invoice::read(&full).warnings);
    let note = sample(crate::model::CREDIT_NOTE.fields);
    assert_eq!(warnings_of(&note), CreditNote::read(&note).warnings);
    assert!(!warnings_of(&full).is_empty());
    // Not a list of texts, or no object at all: none.
    assert!(warnings_of(&json!({"warnings": 5})).is_empty());
    assert!(warnings_of(&json!("x")).is_empty());
}
