//! The normalised JSON shape of profile documents (one raw record per document).
//!
//! Decimal values are the strings of the document, unchanged; dates are ISO `YYYY-MM-DD`
//! (CII format 102 and openTRANS date-times are converted, anything else is kept as written).
//! Empty values are left out.

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

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// ISO 3166 alpha-2 when the document has it coded, else the country name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        *self == Address::default()
    }
}

/// A party (buyer or seller).
#[derive(Debug, Default, Clone, Serialize)]
pub struct Party {
    /// The chosen customer number (see the crate README for the rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_no: Option<String>,
    /// Where `customer_no` came from: `party_id`, `gln`, `vat_id` or `endpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_no_source: Option<&'static str>,
    /// Party identification (UBL `PartyIdentification/ID`, CII `ram:ID`, openTRANS `PARTY_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party_id: Option<String>,
    /// The scheme or openTRANS `type` of `party_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party_id_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trade_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vat_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gln: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    /// Electronic address (UBL `EndpointID`, CII `URIUniversalCommunication/URIID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_scheme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(skip_serializing_if = "Address::is_empty")]
    pub address: Address,
}

impl Party {
    /// Applies the customer-number rule of the e-invoice profiles: party identification, then
    /// GLN, then VAT ID, then the electronic address. Also uses an `EM` endpoint as e-mail when
    /// no contact e-mail is given, and a `0088` endpoint as GLN.
    pub fn finish_einvoice(&mut self) {
        if self.name.is_none() {
            self.name.clone_from(&self.trade_name);
        }
        if let (Some(ep), Some(scheme)) = (&self.endpoint, &self.endpoint_scheme) {
            match scheme.as_str() {
                "EM" => set(&mut self.email, &ep.clone()),
                "0088" => set(&mut self.gln, &ep.clone()),
                _ => {}
            }
        }
        let candidates = [
            ("party_id", self.party_id.clone()),
            ("gln", self.gln.clone()),
            ("vat_id", self.vat_id.clone()),
            ("endpoint", self.endpoint.clone()),
        ];
        self.choose(candidates);
    }

    /// A seller has no customer number of ours.
    pub fn into_seller(mut self) -> Self {
        self.customer_no = None;
        self.customer_no_source = None;
        self
    }

    pub fn choose<const N: usize>(&mut self, candidates: [(&'static str, Option<String>); N]) {
        if self.customer_no.is_some() {
            return;
        }
        if let Some((src, v)) = candidates.into_iter().find_map(|(s, v)| v.map(|v| (s, v))) {
            self.customer_no = Some(v);
            self.customer_no_source = Some(src);
        }
    }
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
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Line {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_no: Option<String>,
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
    /// `invoice`, `credit_note`, `order`, `order_confirmation` or `delivery`.
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
    pub lines: Vec<Line>,
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
        self
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

    #[test]
    fn customer_number_rule() {
        let mut p = Party {
            vat_id: Some("DE1".into()),
            endpoint: Some("a@b.de".into()),
            endpoint_scheme: Some("EM".into()),
            ..Party::default()
        };
        p.finish_einvoice();
        assert_eq!(
            (p.customer_no.as_deref(), p.customer_no_source),
            (Some("DE1"), Some("vat_id"))
        );
        assert_eq!(p.email.as_deref(), Some("a@b.de"));
        let mut p = Party {
            party_id: Some("K-7".into()),
            gln: Some("4000001000005".into()),
            ..Party::default()
        };
        p.finish_einvoice();
        assert_eq!(p.customer_no.as_deref(), Some("K-7"));
    }
}
