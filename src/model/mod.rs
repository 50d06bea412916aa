//! The canonical model: entities, their fields and types, and value normalisation.
//!
//! Records are kept as canonical JSON objects whose shape is given by [`EntityDef`]: the
//! mapping engine fills them, the store keeps them, the views read them into typed structs.

pub mod phone;
pub mod typed;
pub mod values;

use serde::{Deserialize, Serialize};
use std::fmt;

/// Kinds of canonical records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Customer,
    Invoice,
    CreditNote,
    Order,
    OrderLine,
    OrderConfirmation,
    Delivery,
    Stock,
    ContactPerson,
    Activity,
    Supplier,
    SupplierInvoice,
    Quote,
    Payment,
}

impl Entity {
    pub const ALL: [Entity; 14] = [
        Entity::Customer,
        Entity::Invoice,
        Entity::CreditNote,
        Entity::Order,
        Entity::OrderLine,
        Entity::OrderConfirmation,
        Entity::Delivery,
        Entity::Stock,
        Entity::ContactPerson,
        Entity::Activity,
        Entity::Supplier,
        Entity::SupplierInvoice,
        Entity::Quote,
        Entity::Payment,
    ];

    /// The entities whose records are parties (who someone is): customers and suppliers.
    pub const PARTIES: [Entity; 2] = [Entity::Customer, Entity::Supplier];

    /// The entities the directory (search, caller-ID) is built from: the parties and their
    /// contact persons. Records of other entities (documents) change nothing it shows.
    pub const DIRECTORY: [Entity; 3] = [Entity::Customer, Entity::Supplier, Entity::ContactPerson];

    pub fn as_str(self) -> &'static str {
        self.def().name
    }

    pub fn parse(s: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.as_str() == s)
    }

    pub fn def(self) -> &'static EntityDef {
        match self {
            Entity::Customer => &CUSTOMER,
            Entity::Invoice => &INVOICE,
            Entity::CreditNote => &CREDIT_NOTE,
            Entity::Order => &ORDER,
            Entity::OrderLine => &ORDER_LINE,
            Entity::OrderConfirmation => &ORDER_CONFIRMATION,
            Entity::Delivery => &DELIVERY,
            Entity::Stock => &STOCK,
            Entity::ContactPerson => &CONTACT_PERSON,
            Entity::Activity => &ACTIVITY,
            Entity::Supplier => &SUPPLIER,
            Entity::SupplierInvoice => &SUPPLIER_INVOICE,
            Entity::Quote => &QUOTE,
            Entity::Payment => &PAYMENT,
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of a canonical field; decides how the mapping engine parses a source value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text kept exactly (leading zeros stay): customer numbers, document numbers, SKUs.
    Id,
    Text,
    Date,
    Decimal,
    /// Amount in the record's currency: `{"amount": "1234.56", "currency": "EUR"}`.
    Money,
    /// ISO 4217 code.
    Currency,
    Int,
    Bool,
    Phone,
    /// A list of phone numbers.
    Phones,
    /// A list of texts (warnings of a document).
    Texts,
    Email,
    Vat,
    Gln,
    Country,
    Enum(&'static [&'static str]),
    /// Nested list of line items with these fields.
    Lines(&'static [FieldDef]),
}

/// One canonical field. Dotted names (`address.city`) build nested objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: FieldType,
}

const fn f(name: &'static str, ty: FieldType) -> FieldDef {
    FieldDef { name, ty }
}

/// Schema of one entity.
#[derive(Debug)]
pub struct EntityDef {
    pub name: &'static str,
    pub fields: &'static [FieldDef],
    /// Fields forming the external id (joined with `/`).
    pub key: &'static [&'static str],
    /// Fields a record cannot do without (besides the key): a row without them is rejected.
    pub required: &'static [&'static str],
    /// Field holding the customer number, used to find a customer's records.
    pub customer_field: Option<&'static str>,
    /// Field holding the document number / SKU, used for search and joins.
    pub ref_field: Option<&'static str>,
}

impl EntityDef {
    pub fn field(&self, name: &str) -> Option<&'static FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

use FieldType::*;

pub const INVOICE_STATUS: &[&str] = &["open", "paid", "partially_paid", "cancelled", "closed"];
pub const ORDER_STATUS: &[&str] = &[
    "open",
    "confirmed",
    "partially_delivered",
    "delivered",
    "closed",
    "cancelled",
];

/// `open` until the customer accepts (`order_ref` then names the order) or rejects it;
/// `expired` is derived from `valid_until` where the source does not say; `requested` is the
/// customer's request for a quote (openTRANS RFQ) not yet answered; `cancelled`: withdrawn by
/// us (ERPNext, SAP B1).
pub const QUOTE_STATUS: &[&str] = &[
    "requested",
    "open",
    "accepted",
    "rejected",
    "expired",
    "cancelled",
];

const DOC_LINE: &[FieldDef] = &[
    f("line_no", Id),
    f("sku", Id),
    f("description", Text),
    f("quantity", Decimal),
    f("unit", Text),
    f("net", Money),
];

const ORDER_LINE_FIELDS: &[FieldDef] = &[
    f("line_no", Id),
    f("sku", Id),
    f("description", Text),
    f("quantity", Decimal),
    f("delivered_quantity", Decimal),
    f("unit", Text),
    f("promised_date", Date),
];

const CONFIRMATION_LINE: &[FieldDef] = &[
    f("line_no", Id),
    f("sku", Id),
    f("quantity", Decimal),
    f("promised_date", Date),
];

const DELIVERY_LINE: &[FieldDef] = &[
    f("line_no", Id),
    f("order_number", Id),
    f("sku", Id),
    f("quantity", Decimal),
];

/// What a party record (customer, supplier) says about who it is, after its number.
macro_rules! party_fields {
    ($no:literal) => {
        &[
            f($no, Id),
            f("name", Text),
            f("name2", Text),
            f("vat_id", Vat),
            f("gln", Gln),
            f("email", Email),
            f("phones", Phones),
            f("fax", Phone),
            f("address.street", Text),
            f("address.postcode", Id),
            f("address.city", Text),
            f("address.country", Country),
            f("payment_terms_days", Int),
            // The number is kontor's key `name:<hash>` of name and address (an e-invoice
            // party without any identifier).
            f("synthetic_key", Bool),
        ]
    };
}

pub static CUSTOMER: EntityDef = EntityDef {
    name: "customer",
    fields: party_fields!("customer_no"),
    key: &["customer_no"],
    required: &[],
    customer_field: Some("customer_no"),
    ref_field: Some("customer_no"),
};

pub static INVOICE: EntityDef = EntityDef {
    name: "invoice",
    fields: &[
        f("number", Id),
        f("customer_no", Id),
        f("issue_date", Date),
        f("due_date", Date),
        f("currency", Currency),
        f("net", Money),
        f("tax", Money),
        f("gross", Money),
        f("open_amount", Money),
        f("status", Enum(INVOICE_STATUS)),
        // The day it was paid (in full), where the source says so; else kontor takes the day
        // the open item left a snapshot source.
        f("paid_date", Date),
        // The dunning level (Mahnstufe): 0 = not dunned, 1 = first reminder, …
        f("dunning_level", Int),
        f("order_ref", Id),
        f("type_code", Text),
        f("self_billed", Bool),
        f("supersedes", Id),
        f("buyer_reference", Id),
        f("warnings", Texts),
        f("lines", Lines(DOC_LINE)),
    ],
    key: &["number"],
    required: &["customer_no"],
    customer_field: Some("customer_no"),
    ref_field: Some("number"),
};

pub static CREDIT_NOTE: EntityDef = EntityDef {
    name: "credit_note",
    fields: &[
        f("number", Id),
        f("customer_no", Id),
        f("issue_date", Date),
        f("currency", Currency),
        f("net", Money),
        f("tax", Money),
        f("gross", Money),
        // What is still to be settled (paid out or offset); only a credit note that carries
        // it counts in the customer's open items.
        f("open_amount", Money),
        f("invoice_ref", Id),
        f("type_code", Text),
        f("buyer_reference", Id),
        f("warnings", Texts),
        f("lines", Lines(DOC_LINE)),
    ],
    key: &["number"],
    required: &["customer_no"],
    customer_field: Some("customer_no"),
    ref_field: Some("number"),
};

pub static ORDER: EntityDef = EntityDef {
    name: "order",
    fields: &[
        f("number", Id),
        f("customer_no", Id),
        f("order_date", Date),
        f("status", Enum(ORDER_STATUS)),
        f("promised_date", Date),
        f("currency", Currency),
        f("total", Money),
        f("customer_order_ref", Id),
        // The quote the order came from (ERPs keep the link on the order).
        f("quote_ref", Id),
        f("lines", Lines(ORDER_LINE_FIELDS)),
    ],
    key: &["number"],
    required: &["customer_no"],
    customer_field: Some("customer_no"),
    ref_field: Some("number"),
};

/// A quote (Angebot) to a customer, or the customer's request for one.
pub static QUOTE: EntityDef = EntityDef {
    name: "quote",
    fields: &[
        f("number", Id),
        f("customer_no", Id),
        f("quote_date", Date),
        f("valid_until", Date),
        f("status", Enum(QUOTE_STATUS)),
        f("currency", Currency),
        f("total", Money),
        // The order the accepted quote became.
        f("order_ref", Id),
        // The customer's request (RFQ) this quote answers, or their own reference.
        f("request_ref", Id),
        f("lines", Lines(DOC_LINE)),
    ],
    key: &["number"],
    required: &["customer_no"],
    customer_field: Some("customer_no"),
    ref_field: Some("number"),
};

pub static ORDER_LINE: EntityDef = EntityDef {
    name: "order_line",
    fields: &[
        f("order_number", Id),
        f("customer_no", Id),
        f("line_no", Id),
        f("sku", Id),
        f("description", Text),
        f("quantity", Decimal),
        f("delivered_quantity", Decimal),
        f("unit", Text),
        f("promised_date", Date),
    ],
    key: &["order_number", "line_no"],
    required: &[],
    customer_field: Some("customer_no"),
    ref_field: Some("order_number"),
};

pub static ORDER_CONFIRMATION: EntityDef = EntityDef {
    name: "order_confirmation",
    fields: &[
        f("order_number", Id),
        f("supplier_order_number", Id),
        f("customer_no", Id),
        f("confirmation_date", Date),
        f("promised_date", Date),
        f("lines", Lines(CONFIRMATION_LINE)),
    ],
    key: &["order_number"],
    required: &[],
    customer_field: Some("customer_no"),
    ref_field: Some("order_number"),
};

pub static DELIVERY: EntityDef = EntityDef {
    name: "delivery",
    fields: &[
        f("number", Id),
        f("order_number", Id),
        f("customer_no", Id),
        f("dispatch_date", Date),
        f("lines", Lines(DELIVERY_LINE)),
    ],
    key: &["number"],
    required: &[],
    customer_field: Some("customer_no"),
    ref_field: Some("order_number"),
};

pub static STOCK: EntityDef = EntityDef {
    name: "stock",
    fields: &[
        f("sku", Id),
        f("warehouse", Id),
        f("description", Text),
        f("on_hand", Decimal),
        f("available", Decimal),
        f("unit", Text),
        f("next_receipt_date", Date),
        // The item's EAN/GTIN (`kontor item` finds it by this too).
        f("ean", Id),
    ],
    key: &["sku", "warehouse"],
    required: &[],
    customer_field: None,
    ref_field: Some("sku"),
};

pub static CONTACT_PERSON: EntityDef = EntityDef {
    name: "contact_person",
    fields: &[
        f("customer_no", Id),
        // The source's own id of the contact person (`key = ["customer_no", "id"]`).
        f("id", Id),
        f("name", Text),
        f("first_name", Text),
        f("last_name", Text),
        f("function", Text),
        f("department", Text),
        f("email", Email),
        f("phones", Phones),
    ],
    // The name part of the key is stored as a salted hash (see [`PERSONAL_FIELDS`]).
    key: &["customer_no", "name"],
    required: &[],
    customer_field: Some("customer_no"),
    ref_field: None,
};

/// Fields that describe a person. A record key built from one of them is stored as a salted
/// hash (`p-…`), never as the value: keys and positions outlive an erasure's data rewrite.
pub const PERSONAL_FIELDS: &[&str] = &[
    "name",
    "name2",
    "first_name",
    "last_name",
    "email",
    "phones",
    "fax",
    "function",
    "department",
];

/// The stored form of a personal key part: `p-` and 32 hex digits of a BLAKE3 hash keyed with
/// the store's salt, over the case- and umlaut-folded value.
pub fn personal_key(salt: &[u8; 32], value: &str) -> String {
    let folded = crate::identity::normalize::fold(value);
    let h = blake3::keyed_hash(salt, folded.as_bytes());
    format!("p-{}", &h.to_hex()[..32])
}

pub const ACTIVITY_KINDS: &[&str] = &["call", "email", "visit", "note"];

/// A contact from another system's history (calls, e-mails, visits, notes), imported through
/// a mapping; shown in the customer's timeline with the ones recorded in kontor.
pub static ACTIVITY: EntityDef = EntityDef {
    name: "activity",
    fields: &[
        f("id", Id),
        f("customer_no", Id),
        f("kind", Enum(ACTIVITY_KINDS)),
        f("direction", Enum(&["in", "out"])),
        f("date", Date),
        f("time", Text),
        f("subject", Text),
        f("text", Text),
        f("team", Text),
    ],
    key: &["id"],
    required: &["customer_no", "date"],
    customer_field: Some("customer_no"),
    ref_field: Some("id"),
};

/// A supplier: a party we buy from (the seller of an e-invoice whose buyer is us), with the
/// same identity rules as a customer. Its number shares the number space of its system.
pub static SUPPLIER: EntityDef = EntityDef {
    name: "supplier",
    fields: party_fields!("supplier_no"),
    key: &["supplier_no"],
    required: &[],
    customer_field: Some("supplier_no"),
    ref_field: Some("supplier_no"),
};

pub const SUPPLIER_DOC_KINDS: &[&str] = &["invoice", "credit_note"];

/// An invoice or credit note we received from a supplier: what we owe, never a customer's open
/// item. Supplier invoice numbers are unique per supplier only.
pub static SUPPLIER_INVOICE: EntityDef = EntityDef {
    name: "supplier_invoice",
    fields: &[
        f("number", Id),
        f("supplier_no", Id),
        f("kind", Enum(SUPPLIER_DOC_KINDS)),
        f("issue_date", Date),
        f("due_date", Date),
        f("currency", Currency),
        f("net", Money),
        f("tax", Money),
        f("gross", Money),
        f("due_amount", Money),
        f("order_ref", Id),
        f("type_code", Text),
        f("buyer_reference", Id),
        f("warnings", Texts),
        f("lines", Lines(DOC_LINE)),
    ],
    key: &["supplier_no", "number"],
    required: &["supplier_no"],
    customer_field: Some("supplier_no"),
    ref_field: Some("number"),
};

/// A customer's payment towards one invoice (a bank posting, an ERP payment or its
/// allocation): what [`crate::view`] reads to tell when an invoice without a mapped
/// `paid_date` was paid — the day the payments towards it reached its gross amount.
pub static PAYMENT: EntityDef = EntityDef {
    name: "payment",
    fields: &[
        // The source's id of the payment (or of its allocation to the invoice).
        f("id", Id),
        f("customer_no", Id),
        // The number of the invoice it pays.
        f("invoice_ref", Id),
        f("date", Date),
        f("currency", Currency),
        f("amount", Money),
        // Reversed or unlinked in the source: it pays nothing.
        f("cancelled", Bool),
    ],
    key: &["id"],
    required: &["customer_no", "invoice_ref", "date", "amount"],
    customer_field: Some("customer_no"),
    ref_field: Some("invoice_ref"),
};

/// A canonical record ready for the store.
#[derive(Debug, Clone, PartialEq)]
pub struct CanonicalRecord {
    pub entity: Entity,
    pub external_id: String,
    /// Canonical JSON object (fields in schema order, so the content hash is stable).
    pub data: serde_json::Value,
}

impl CanonicalRecord {
    fn str_field(&self, name: Option<&str>) -> Option<&str> {
        self.data.get(name?)?.as_str()
    }
    pub fn customer_no(&self) -> Option<&str> {
        self.str_field(self.entity.def().customer_field)
    }
    pub fn ref_no(&self) -> Option<&str> {
        self.str_field(self.entity.def().ref_field)
    }
    /// Serialized data and its content hash (BLAKE3, first 16 bytes, hex).
    pub fn encode(&self) -> (String, String) {
        encode_data(&self.data)
    }
}

/// A record's data as stored, and its content hash (BLAKE3, first 16 bytes, hex): what a sync
/// compares to tell a changed record from an unchanged one.
pub fn encode_data(data: &serde_json::Value) -> (String, String) {
    let text = serde_json::to_string(data).unwrap_or_default();
    let hash = blake3::hash(text.as_bytes());
    (text, hash.to_hex()[..32].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entity_parses_its_name_and_has_its_key_fields() {
        for e in Entity::ALL {
            assert_eq!(Entity::parse(e.as_str()), Some(e));
            for k in e.def().key {
                assert!(e.def().field(k).is_some(), "{e}: key field {k}");
            }
            for name in [e.def().customer_field, e.def().ref_field]
                .into_iter()
                .flatten()
            {
                assert!(e.def().field(name).is_some(), "{e}: {name}");
            }
        }
    }
}
