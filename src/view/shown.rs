//! The source fields the merged view shows, per entity: what `kontor check` warns about when a
//! mapping stops filling one, and what a field priority (`[identity] field_priority`) can name
//! for the customer's master data. Declared here, beside the view types that read them; a
//! name that is not a field of its entity fails this module's test.

use crate::model::Entity;

/// Fields of the merged customer (master data, merged field by field with provenance) that a
/// field priority can name.
pub const MERGED_FIELDS: &[&str] = &[
    "name",
    "name2",
    "vat_id",
    "gln",
    "email",
    "phones",
    "fax",
    "address",
    "payment_terms_days",
];

/// Fields the merged view shows, per entity.
pub const SHOWN: &[(Entity, &[&str])] = &[
    (Entity::Customer, MERGED_FIELDS),
    (
        Entity::Invoice,
        &[
            "number",
            "issue_date",
            "due_date",
            "gross",
            "open_amount",
            "dunning_level",
            "order_ref",
        ],
    ),
    (
        Entity::CreditNote,
        &[
            "number",
            "issue_date",
            "gross",
            "open_amount",
            "invoice_ref",
        ],
    ),
    (
        Entity::Order,
        &[
            "number",
            "order_date",
            "promised_date",
            "total",
            "customer_order_ref",
            "lines",
        ],
    ),
    (
        Entity::Quote,
        &["number", "quote_date", "valid_until", "total", "order_ref"],
    ),
    (
        Entity::OrderLine,
        &[
            "line_no",
            "sku",
            "description",
            "quantity",
            "delivered_quantity",
            "promised_date",
        ],
    ),
    (
        Entity::ContactPerson,
        &["name", "function", "department", "email", "phones"],
    ),
    (
        Entity::Stock,
        &["on_hand", "available", "next_receipt_date"],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::typed::{Customer, Supplier};

    /// A field's top-level name in its entity (`address.city` → `address`).
    fn has(e: Entity, name: &str) -> bool {
        e.def()
            .fields
            .iter()
            .any(|f| f.name.split('.').next() == Some(name))
    }

    #[test]
    fn every_shown_field_is_a_field_of_its_entity() {
        for (e, fields) in SHOWN {
            for f in *fields {
                assert!(has(*e, f), "{e}: `{f}` is not one of its fields");
            }
        }
        // Customer and supplier records both give master data.
        for f in MERGED_FIELDS {
            assert!(
                Customer::FIELDS.contains(f) && Supplier::FIELDS.contains(f),
                "{f}"
            );
        }
    }
}
