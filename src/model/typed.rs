//! The canonical entities as Rust types: what the view, the front office and the CLI read a
//! stored record as, instead of looking its fields up by string.
//!
//! Each struct is checked against its [`EntityDef`](super::EntityDef) by a test that fills
//! every field of the definition, reads it into the struct and writes it back: a field the
//! definition has and the struct lacks (or types differently) fails it, and so does a struct
//! field the definition does not know. [`Record::ENTITY`] ties a struct to its entity, and
//! [`Entity`]'s `match` in the test makes a new entity without a struct a compile error.
//!
//! Reading is forgiving per field, as the view always was: a value of the wrong shape (an old
//! row, a hand-edited store) reads as absent instead of hiding the whole record; an empty text
//! reads as absent too. A record reads in one pass; only one that does not is read again
//! field by field.

use super::Entity;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A stored record's data read as one canonical entity.
pub trait Record: DeserializeOwned + Serialize + Default {
    /// The entity whose records this type reads.
    const ENTITY: Entity;

    /// Reads a record's canonical JSON object; never fails (see the module's docs).
    fn read(data: &Value) -> Self {
        Self::deserialize(data).unwrap_or_else(|_| forgiving(data))
    }

    /// Reads a record without its `lines` (left empty): what lists of documents need.
    fn head(data: &Value) -> Self {
        Self::deserialize(head::WithoutLines(data)).unwrap_or_else(|_| {
            let mut data = data.clone();
            if let Some(o) = data.as_object_mut() {
                o.remove("lines");
            }
            forgiving(&data)
        })
    }

    /// [`Record::read`] of a record's stored JSON text; `None` when it is not JSON.
    fn of_text(text: &str) -> Option<Self> {
        match serde_json::from_str(text) {
            Ok(t) => Some(t),
            Err(_) => Some(forgiving(&serde_json::from_str(text).ok()?)),
        }
    }

    /// [`Record::head`] of a record's stored JSON text; `None` when it is not JSON.
    fn head_of_text(text: &str) -> Option<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        match Self::deserialize(head::WithoutLines(&mut de)) {
            Ok(t) => Some(t),
            Err(_) => Some(Self::head(&serde_json::from_str(text).ok()?)),
        }
    }
}

/// A record that does not read as a whole (a field of the wrong shape: an old row, a
/// hand-edited store), read again without the fields that do not read on their own. Only for
/// such records: each field is tried alone.
fn forgiving<T: DeserializeOwned + Default>(data: &Value) -> T {
    let Some(obj) = data.as_object() else {
        return T::default();
    };
    let fits = |k: &String, v: &Value| {
        let one = Value::Object(serde_json::Map::from_iter([(k.clone(), v.clone())]));
        T::deserialize(&one).is_ok()
    };
    let clean: serde_json::Map<String, Value> = obj
        .iter()
        .filter(|(k, v)| fits(k, v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    T::deserialize(&Value::Object(clean)).unwrap_or_default()
}

/// How one field of a record reads: a blank text is absent; a decimal is written as text
/// (or, in old rows, as a JSON number); any other shape than the field's is an error (and the
/// record is read again by [`forgiving`]).
pub trait Field: Sized {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

fn field<'de, D: Deserializer<'de>, T: Field>(d: D) -> Result<T, D::Error> {
    T::de(d)
}

impl Field for Option<String> {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<String>::deserialize(d)?.filter(|s| !s.trim().is_empty()))
    }
}

impl Field for Option<NaiveDate> {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<String>::de(d)? {
            Some(s) => s.parse().map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

impl Field for Option<Decimal> {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(v) => decimal(v).map(Some).map_err(serde::de::Error::custom),
        }
    }
}

/// Fields read as their type says.
macro_rules! plain_fields {
    ($($t:ty),* $(,)?) => {$(
        impl Field for $t {
            fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$t>::deserialize(d)
            }
        }
    )*};
}

plain_fields!(
    Option<i64>,
    Option<bool>,
    Option<Amount>,
    Vec<String>,
    Address,
    Vec<DocLine>,
    Vec<OrderLineItem>,
    Vec<ConfirmationLine>,
    Vec<DeliveryLine>,
);

/// A document's `warnings` alone, without reading the rest of it (the other fields are
/// skipped, not built): [`crate::view::Provenance`] names them for every record it shows.
/// The field is the one of [`Invoice`], [`CreditNote`] and [`SupplierInvoice`] (the test
/// `warnings_read_alone_as_in_the_whole_record` compares them).
pub fn warnings_of(data: &Value) -> Vec<String> {
    #[derive(Deserialize)]
    struct Warnings {
        #[serde(default, deserialize_with = "field")]
        warnings: Vec<String>,
    }
    Warnings::deserialize(data).map_or_else(|_| Vec::new(), |w| w.warnings)
}

/// An amount as stored: `{"amount": "1234.56", "currency": "EUR"}`; without its own currency
/// it is in the record's `currency`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Amount {
    #[serde(deserialize_with = "amount")]
    pub amount: Decimal,
    #[serde(default, deserialize_with = "field")]
    pub currency: Option<String>,
}

fn amount<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    decimal(Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// A decimal written as text, or as a JSON number.
fn decimal(v: Value) -> Result<Decimal, String> {
    let text = match v {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        other => return Err(format!("not a decimal: {other}")),
    };
    text.trim().parse().map_err(|e| format!("{e}"))
}

/// Declares canonical record structs: every field optional and read forgivingly, plus the
/// mapping's `extra.<name>` fields; `Name: Entity` ties a struct to its entity.
macro_rules! records {
    ($(
        $(#[$m:meta])*
        $name:ident $(: $entity:ident)? {
            $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    )*) => { $(
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            $(
                $(#[$fm])*
                #[serde(default, deserialize_with = "field")]
                pub $field: $ty,
            )*
            /// The mapping's `extra.<name>` fields, by name.
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            pub extra: BTreeMap<String, Value>,
        }
        impl $name {
            /// The canonical fields of this struct (`extra` aside).
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];
        }
        $(impl Record for $name { const ENTITY: Entity = Entity::$entity; })?
    )* };
}

/// A party (customer, supplier): who it is, after its number.
macro_rules! party {
    ($(#[$m:meta])* $name:ident: $entity:ident, $no:ident) => {
        records! {
            $(#[$m])*
            $name: $entity {
                $no: Option<String>,
                name: Option<String>,
                name2: Option<String>,
                vat_id: Option<String>,
                gln: Option<String>,
                email: Option<String>,
                /// E.164 numbers.
                phones: Vec<String>,
                fax: Option<String>,
                address: Address,
                payment_terms_days: Option<i64>,
                /// The number is kontor's key `name:<hash>` of name and address.
                synthetic_key: Option<bool>,
            }
        }
    };
}

party!(
    /// A customer record.
    Customer: Customer, customer_no
);
party!(
    /// A supplier record.
    Supplier: Supplier, supplier_no
);

records! {
    /// A party's postal address.
    Address {
        street: Option<String>,
        postcode: Option<String>,
        city: Option<String>,
        country: Option<String>,
    }

    /// A line of an invoice, credit note or quote.
    DocLine {
        line_no: Option<String>,
        sku: Option<String>,
        description: Option<String>,
        quantity: Option<Decimal>,
        unit: Option<String>,
        net: Option<Amount>,
    }

    /// An invoice to a customer.
    Invoice: Invoice {
        number: Option<String>,
        customer_no: Option<String>,
        issue_date: Option<NaiveDate>,
        due_date: Option<NaiveDate>,
        currency: Option<String>,
        net: Option<Amount>,
        tax: Option<Amount>,
        gross: Option<Amount>,
        open_amount: Option<Amount>,
        /// `open`, `paid`, `partially_paid`, `cancelled`, `closed`.
        status: Option<String>,
        paid_date: Option<NaiveDate>,
        /// The dunning level (Mahnstufe): 0 = not dunned, 1 = first reminder, …
        dunning_level: Option<i64>,
        order_ref: Option<String>,
        type_code: Option<String>,
        self_billed: Option<bool>,
        /// The invoice this one corrects (type code 384).
        supersedes: Option<String>,
        buyer_reference: Option<String>,
        warnings: Vec<String>,
        lines: Vec<DocLine>,
    }

    /// A credit note to a customer.
    CreditNote: CreditNote {
        number: Option<String>,
        customer_no: Option<String>,
        issue_date: Option<NaiveDate>,
        currency: Option<String>,
        net: Option<Amount>,
        tax: Option<Amount>,
        gross: Option<Amount>,
        open_amount: Option<Amount>,
        invoice_ref: Option<String>,
        type_code: Option<String>,
        buyer_reference: Option<String>,
        warnings: Vec<String>,
        lines: Vec<DocLine>,
    }

    /// A line of an order.
    OrderLineItem {
        line_no: Option<String>,
        sku: Option<String>,
        description: Option<String>,
        quantity: Option<Decimal>,
        delivered_quantity: Option<Decimal>,
        unit: Option<String>,
        promised_date: Option<NaiveDate>,
    }

    /// A customer's order.
    Order: Order {
        number: Option<String>,
        customer_no: Option<String>,
        order_date: Option<NaiveDate>,
        status: Option<String>,
        promised_date: Option<NaiveDate>,
        currency: Option<String>,
        total: Option<Amount>,
        customer_order_ref: Option<String>,
        quote_ref: Option<String>,
        lines: Vec<OrderLineItem>,
    }

    /// A quote (Angebot) or the customer's request for one.
    Quote: Quote {
        number: Option<String>,
        customer_no: Option<String>,
        quote_date: Option<NaiveDate>,
        valid_until: Option<NaiveDate>,
        status: Option<String>,
        currency: Option<String>,
        total: Option<Amount>,
        order_ref: Option<String>,
        request_ref: Option<String>,
        lines: Vec<DocLine>,
    }

    /// An order line delivered as a record of its own.
    OrderLine: OrderLine {
        order_number: Option<String>,
        customer_no: Option<String>,
        line_no: Option<String>,
        sku: Option<String>,
        description: Option<String>,
        quantity: Option<Decimal>,
        delivered_quantity: Option<Decimal>,
        unit: Option<String>,
        promised_date: Option<NaiveDate>,
    }

    /// A line of an order confirmation.
    ConfirmationLine {
        line_no: Option<String>,
        sku: Option<String>,
        quantity: Option<Decimal>,
        promised_date: Option<NaiveDate>,
    }

    /// An order confirmation.
    OrderConfirmation: OrderConfirmation {
        order_number: Option<String>,
        supplier_order_number: Option<String>,
        customer_no: Option<String>,
        confirmation_date: Option<NaiveDate>,
        promised_date: Option<NaiveDate>,
        lines: Vec<ConfirmationLine>,
    }

    /// A line of a delivery.
    DeliveryLine {
        line_no: Option<String>,
        order_number: Option<String>,
        sku: Option<String>,
        quantity: Option<Decimal>,
    }

    /// A delivery (dispatch notification).
    Delivery: Delivery {
        number: Option<String>,
        order_number: Option<String>,
        customer_no: Option<String>,
        dispatch_date: Option<NaiveDate>,
        lines: Vec<DeliveryLine>,
    }

    /// Stock of an item in a warehouse.
    Stock: Stock {
        sku: Option<String>,
        warehouse: Option<String>,
        description: Option<String>,
        on_hand: Option<Decimal>,
        available: Option<Decimal>,
        unit: Option<String>,
        next_receipt_date: Option<NaiveDate>,
        ean: Option<String>,
    }

    /// A contact person at a customer.
    ContactPerson: ContactPerson {
        customer_no: Option<String>,
        id: Option<String>,
        name: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
        function: Option<String>,
        department: Option<String>,
        email: Option<String>,
        phones: Vec<String>,
    }

    /// A contact from another system's history.
    Activity: Activity {
        id: Option<String>,
        customer_no: Option<String>,
        /// `call`, `email`, `visit`, `note`.
        kind: Option<String>,
        /// `in` or `out`.
        direction: Option<String>,
        date: Option<NaiveDate>,
        time: Option<String>,
        subject: Option<String>,
        text: Option<String>,
        team: Option<String>,
    }

    /// An invoice or credit note we received from a supplier.
    SupplierInvoice: SupplierInvoice {
        number: Option<String>,
        supplier_no: Option<String>,
        /// `invoice` or `credit_note`.
        kind: Option<String>,
        issue_date: Option<NaiveDate>,
        due_date: Option<NaiveDate>,
        currency: Option<String>,
        net: Option<Amount>,
        tax: Option<Amount>,
        gross: Option<Amount>,
        due_amount: Option<Amount>,
        order_ref: Option<String>,
        type_code: Option<String>,
        buyer_reference: Option<String>,
        warnings: Vec<String>,
        lines: Vec<DocLine>,
    }

    /// A customer's payment towards one invoice.
    Payment: Payment {
        id: Option<String>,
        customer_no: Option<String>,
        invoice_ref: Option<String>,
        date: Option<NaiveDate>,
        currency: Option<String>,
        amount: Option<Amount>,
        /// Reversed or unlinked in the source: it pays nothing.
        cancelled: Option<bool>,
    }
}

mod head;
#[cfg(test)]
mod tests;
