//! The normalised JSON shape of profile documents (one raw record per document).
//!
//! Decimal values are the strings of the document, unchanged; dates are ISO `YYYY-MM-DD`
//! (CII format 102 and openTRANS date-times are converted, anything else is kept as written).
//! Empty values are left out.

pub use crate::party::{Address, Party};
use serde::Serialize;

/// Sets `slot` to the trimmed `value` unless it already holds a value or `value` is blank.
pub fn set(slot: &mut Option<String>, value: &str) {
    let v = value.trim();
    if slot.is_none() && !v.is_empty() {
        *slot = Some(v.to_owned());
    }
}

/// A date as ISO `YYYY-MM-DD`: accepts ISO dates and date-times, CII format 102 (`YYYYMMDD`);
/// anything else is returned trimmed, unchanged.
pub fn iso_date(value: &str) -> String {
    let v = value.trim();
    let b = v.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() == 8 && digits(0..8) {
        return format!("{}-{}-{}", &v[0..4], &v[4..6], &v[6..8]);
    }
    if b.len() >= 10
        && digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && (b.len() == 10 || matches!(b.get(10), Some(b'T' | b' ' | b'+' | b'Z' | b'-')))
    {
        return v[..10].to_owned();
    }
    v.to_owned()
}

pub fn set_date(slot: &mut Option<String>, value: &str) {
    if slot.is_none() && !value.trim().is_empty() {
        *slot = Some(iso_date(value));
    }
}

/// UNTDID 1001 document type codes that are credit notes (EN 16931 credit note codes plus the
/// self-billed and other credit note variants).
const CREDIT_NOTE_CODES: &[&str] = &[
    "81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532",
];
/// Self-billed codes: 389 (self-billed invoice), 261 (self-billed credit note), 527 (self-billed debit note).
const SELF_BILLED_CODES: &[&str] = &["389", "261", "527"];

pub fn is_credit_note_code(code: &str) -> bool {
    CREDIT_NOTE_CODES.contains(&code.trim())
}

pub fn is_self_billed_code(code: &str) -> bool {
    SELF_BILLED_CODES.contains(&code.trim())
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Totals {
    /// Sum of line net amounts (UBL `LineExtensionAmount`, CII `LineTotalAmount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_total: Option<String>,
    /// Total without VAT (UBL `TaxExclusiveAmount`, CII `TaxBasisTotalAmount`, openTRANS
    /// `NET_VALUE_GOODS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<String>,
    /// VAT total in the document currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax: Option<String>,
    /// Total with VAT (UBL `TaxInclusiveAmount`, CII `GrandTotalAmount`, openTRANS invoice
    /// `TOTAL_AMOUNT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gross: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepaid: Option<String>,
    /// Amount due for payment (UBL `PayableAmount`, CII `DuePayableAmount`; openTRANS invoice:
    /// `TOTAL_AMOUNT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// Order total (openTRANS orders and order responses: `TOTAL_AMOUNT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
    /// Sum of document-level allowances (BT-107).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowances: Option<String>,
    /// Sum of document-level charges (BT-108).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charges: Option<String>,
    /// Rounding amount (BT-114).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounding: Option<String>,
}

impl Totals {
    /// The amounts as written, for the sign change of a negative invoice read as credit note.
    pub fn amounts_mut(&mut self) -> [&mut Option<String>; 10] {
        [
            &mut self.line_total,
            &mut self.net,
            &mut self.tax,
            &mut self.gross,
            &mut self.prepaid,
            &mut self.due,
            &mut self.total,
            &mut self.allowances,
            &mut self.charges,
            &mut self.rounding,
        ]
    }
}

/// One VAT breakdown of an e-invoice (BG-23): category, rate, taxable amount, tax amount.
#[derive(Debug, Default, Clone, Serialize)]
pub struct TaxSubtotal {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// BT-116
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    /// BT-117
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
}

/// An embedded binary attachment (BG-24, BT-125) that was passed over, not kept: its name,
/// type and decoded size.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Attachment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_code: Option<String>,
    /// Decoded size in bytes (from the base64 length).
    pub bytes: u64,
}

/// Most attachments listed per document (the rest are passed over unlisted).
pub const MAX_ATTACHMENTS: usize = 1000;

impl Attachment {
    /// Lists the binary object element `el` whose content had `payload` base64 characters.
    pub fn push(list: &mut Vec<Attachment>, el: &crate::reader::Elem, payload: u64) {
        if list.len() < MAX_ATTACHMENTS {
            list.push(Attachment {
                filename: el.attr("filename").map(str::to_owned),
                mime_code: el.attr("mimeCode").map(str::to_owned),
                bytes: payload / 4 * 3 + (payload % 4).saturating_sub(1),
            });
        }
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Line {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_no: Option<String>,
    /// A sub-line's parent line (XRechnung CII `ParentLineID`): not added up in the totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_line_no: Option<String>,
    /// Seller's item number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_sku: Option<String>,
    /// Standard item id (GTIN/EAN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<String>,
    /// Line net amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<String>,
    /// The order this line refers to (openTRANS `ORDER_REFERENCE/ORDER_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    /// The order line this line refers to (UBL `OrderLineReference/LineID`, CII
    /// `BuyerOrderReferencedDocument/LineID`, openTRANS `ORDER_REFERENCE/LINE_ITEM_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_line_no: Option<String>,
    /// Promised delivery date: end of the delivery window, else its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promised_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_end: Option<String>,
}

/// One document.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Doc {
    /// `invoice`, `credit_note`, `order`, `order_confirmation`, `delivery`, `quote` or
    /// `quote_request`.
    pub doc_kind: &'static str,
    /// The stream name (`ubl`, `cii`, `opentrans-order`, …).
    pub profile: &'static str,
    /// Root element as written.
    pub root: String,
    /// UNTDID 1001 code (e-invoices) or openTRANS type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_code: Option<String>,
    /// Document number (invoice, credit note, order, delivery note).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The buyer's order number (order confirmations, deliveries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    /// All distinct order numbers referenced by the lines (deliveries).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_numbers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatch_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Invoices and credit notes: issued by the buyer (UNTDID 389/261/527).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_billed: Option<bool>,
    /// Invoices: a corrected invoice (384) replaces this invoice number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    /// Credit notes: the invoice credited. Invoices: the preceding invoice referenced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_ref: Option<String>,
    /// The buyer's order number referenced by an invoice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_ref: Option<String>,
    /// The seller's order number (openTRANS `SUPPLIER_ORDER_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier_order_ref: Option<String>,
    /// Quotes: until when the offer stands (openTRANS `VALID_UNTIL` / `VALID_END_DATE` of the
    /// quotation info, where the sender writes one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// Quotes: the buyer's request (`RFQ_ID`) the quote answers. Orders: the quote they accept
    /// (`SOURCING_INFO/QUOTATION_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote_ref: Option<String>,
    /// The end customer's order number (openTRANS `CUSTOMER_ORDER_REFERENCE/ORDER_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_order_ref: Option<String>,
    /// XRechnung BT-10 (often a Leitweg-ID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipment_id: Option<String>,
    /// Header promised delivery date: end of the delivery window, else its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promised_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_end: Option<String>,
    /// The buyer's `customer_no`, repeated at the top for mappings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Party>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller: Option<Party>,
    pub totals: Totals,
    /// VAT breakdown (e-invoices).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taxes: Vec<TaxSubtotal>,
    pub lines: Vec<Line>,
    /// Embedded binary attachments passed over.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// E-invoices: `sent` (we are the seller, or nobody is known as us) or `received` (the
    /// buyer is us: the seller is a supplier).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    /// The seller's `supplier_no`, repeated at the top for mappings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier_no: Option<String>,
    /// EN 16931 business rules the document breaks, and how it was read (never a rejection).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Doc {
    /// Sets `doc_kind`, `self_billed`, `supersedes` and `invoice_ref` of an e-invoice from its
    /// type code and the referenced preceding invoice.
    pub fn classify_invoice(&mut self, credit_root: bool, billing_ref: Option<String>) {
        let code = self.type_code.clone().unwrap_or_default();
        let credit = credit_root || is_credit_note_code(&code);
        self.doc_kind = if credit { "credit_note" } else { "invoice" };
        self.self_billed = Some(is_self_billed_code(&code));
        if code.trim() == "384" && !credit {
            self.supersedes.clone_from(&billing_ref);
        }
        self.invoice_ref = billing_ref;
    }

    pub fn finish(mut self) -> Self {
        self.customer_no = self.buyer.as_ref().and_then(|b| b.customer_no.clone());
        self.supplier_no = self.seller.as_ref().and_then(|s| s.supplier_no.clone());
        self
    }

    /// Sets `direction` of an invoice or credit note: `received` when the buyer is us.
    pub fn set_direction(&mut self, own: &crate::party::OwnParty) {
        if !matches!(self.doc_kind, "invoice" | "credit_note") {
            return;
        }
        let buyer_is_us = self.buyer.as_ref().is_some_and(|b| own.is_us(b));
        let seller_is_us = self.seller.as_ref().is_some_and(|s| own.is_us(s));
        self.direction = Some(if buyer_is_us && !seller_is_us {
            "received"
        } else {
            "sent"
        });
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// A delivery window from start and end dates: the promised date is the end, else the start.
pub fn promised(start: &Option<String>, end: &Option<String>) -> Option<String> {
    end.clone().or_else(|| start.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_normalised() {
        assert_eq!(iso_date("20160404"), "2016-04-04");
        assert_eq!(iso_date(" 2018-06-25T11:31:21 "), "2018-06-25");
        assert_eq!(iso_date("2009-05-13T06:20:00+01:00"), "2009-05-13");
        assert_eq!(iso_date("2016-04-04"), "2016-04-04");
        assert_eq!(iso_date("04.04.2016"), "04.04.2016");
        assert_eq!(iso_date("2016-04-0x"), "2016-04-0x");
    }

    #[test]
    fn type_codes_classify() {
        let mut d = Doc {
            type_code: Some("384".into()),
            ..Doc::default()
        };
        d.classify_invoice(false, Some("R-1".into()));
        assert_eq!(
            (d.doc_kind, d.supersedes.as_deref()),
            ("invoice", Some("R-1"))
        );
        d.type_code = Some("381".into());
        d.supersedes = None;
        d.classify_invoice(false, Some("R-1".into()));
        assert_eq!(
            (
                d.doc_kind,
                d.invoice_ref.as_deref(),
                d.supersedes.as_deref()
            ),
            ("credit_note", Some("R-1"), None)
        );
        d.type_code = Some("389".into());
        d.classify_invoice(false, None);
        assert_eq!((d.doc_kind, d.self_billed), ("invoice", Some(true)));
    }
}
