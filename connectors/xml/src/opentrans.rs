//! openTRANS 2.1 messages: RFQ, QUOTATION, ORDER, ORDERCHANGE, ORDERRESPONSE,
//! DISPATCHNOTIFICATION, INVOICE.
//!
//! The message-specific element names are folded before matching: `<ROOT>_HEADER` → `HEADER`,
//! `<ROOT>_INFO` → `INFO`, `<ROOT>_ITEM_LIST` → `ITEM_LIST`, its items → `ITEM`,
//! `<ROOT>_SUMMARY` → `SUMMARY`.

use crate::detect::{Handler, OtKind, too_many_lines};
use crate::error::{ErrorKind, XmlError};
use crate::model::{Doc, Line, Party, promised, set, set_date};
use crate::reader::Elem;
use std::str::FromStr;

/// Most `PARTY` elements in one message.
const MAX_PARTIES: usize = 1000;
/// Most tax amounts kept from a summary (the rest is ignored).
const MAX_TAXES: usize = 1000;

#[derive(Default)]
struct OtParty {
    /// `PARTY_ID` values with their `type`.
    ids: Vec<(Option<String>, String)>,
    roles: Vec<String>,
    country_name: Option<String>,
    party: Party,
}

pub struct OpenTrans {
    doc: Doc,
    kind: OtKind,
    parties: Vec<OtParty>,
    buyer_idref: Option<String>,
    recipient_idref: Option<String>,
    invoice_type: Option<String>,
    taxes: Vec<String>,
    total_amount: Option<String>,
    /// Payment dates of `TIME_FOR_PAYMENT` blocks and whether the block grants a discount.
    payment_dates: Vec<(String, bool)>,
    current_payment: (Option<String>, bool),
    max_lines: usize,
}

impl OpenTrans {
    pub fn new(root: &Elem, kind: OtKind, max_lines: usize) -> Self {
        let profile = crate::detect::Profile::OpenTrans(kind).stream();
        Self {
            doc: Doc {
                profile,
                root: root.qname(),
                type_code: root.attr("type").map(str::to_owned),
                ..Doc::default()
            },
            kind,
            parties: Vec::new(),
            buyer_idref: None,
            recipient_idref: None,
            invoice_type: None,
            taxes: Vec::new(),
            total_amount: None,
            payment_dates: Vec::new(),
            current_payment: (None, false),
            max_lines,
        }
    }
}

/// Folds the message-specific names of the first two steps.
fn fold<'a>(path: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&'a str> = path.to_vec();
    if let Some(first) = out.first_mut() {
        if first.ends_with("_HEADER") {
            *first = "HEADER";
        } else if first.ends_with("_ITEM_LIST") {
            *first = "ITEM_LIST";
        } else if first.ends_with("_SUMMARY") {
            *first = "SUMMARY";
        }
    }
    match out.as_mut_slice() {
        ["HEADER", second, ..] if second.ends_with("_INFO") && *second != "CONTROL_INFO" => {
            *second = "INFO"
        }
        ["ITEM_LIST", second, ..] if second.ends_with("_ITEM") => *second = "ITEM",
        _ => {}
    }
    out
}

impl Handler for OpenTrans {
    fn start(&mut self, path: &[&str], el: &Elem) -> Result<(), XmlError> {
        match fold(path).as_slice() {
            ["ITEM_LIST", "ITEM"] => {
                if self.doc.lines.len() >= self.max_lines {
                    return Err(too_many_lines(el, self.max_lines));
                }
                self.doc.lines.push(Line::default());
            }
            ["HEADER", "INFO", "PARTIES", "PARTY"] => {
                if self.parties.len() >= MAX_PARTIES {
                    return Err(XmlError::new(
                        ErrorKind::Limit,
                        (el.line, el.column),
                        format!("more than {MAX_PARTIES} parties"),
                    ));
                }
                self.parties.push(OtParty::default());
            }
            [.., "TIME_FOR_PAYMENT"] => self.current_payment = (None, false),
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, path: &[&str], el: &Elem, t: &str) {
        let folded = fold(path);
        let d = &mut self.doc;
        match folded.as_slice() {
            ["HEADER", "INFO", rest @ ..] => match rest {
                ["ORDER_ID"] => set(&mut d.order_number, t),
                ["QUOTATION_ID"] if self.kind == OtKind::Quotation => set(&mut d.number, t),
                // An order's `SOURCING_INFO` (folded like every `*_INFO`): the quote it accepts.
                ["QUOTATION_ID"] => set(&mut d.quote_ref, t),
                ["RFQ_ID"] if self.kind == OtKind::Rfq => set(&mut d.number, t),
                ["RFQ_ID"] => set(&mut d.request_ref, t),
                ["QUOTATION_DATE"] | ["RFQ_DATE"] => set_date(&mut d.issue_date, t),
                ["VALID_UNTIL"] | ["VALID_END_DATE"] => set_date(&mut d.valid_until, t),
                ["INVOICE_ID"] | ["DISPATCHNOTIFICATION_ID"] => set(&mut d.number, t),
                ["ORDER_DATE"] => set_date(&mut d.order_date, t),
                ["ORDERRESPONSE_DATE"] => set_date(&mut d.confirmation_date, t),
                ["INVOICE_DATE"] | ["ORDERCHANGE_DATE"] => set_date(&mut d.issue_date, t),
                ["DISPATCHNOTIFICATION_DATE"] => set_date(&mut d.dispatch_date, t),
                ["SUPPLIER_ORDER_ID"] => set(&mut d.supplier_order_ref, t),
                ["DELIVERY_DATE", "DELIVERY_START_DATE"] => set_date(&mut d.delivery_start, t),
                ["DELIVERY_DATE", "DELIVERY_END_DATE"] => set_date(&mut d.delivery_end, t),
                ["CURRENCY"] => set(&mut d.currency, t),
                ["INVOICE_TYPE"] => set(&mut self.invoice_type, t),
                ["SHIPMENT_ID"] => set(&mut d.shipment_id, t),
                ["CUSTOMER_ORDER_REFERENCE", "ORDER_ID"] => set(&mut d.customer_order_ref, t),
                ["BUYER_IDREF"] | ["ORDER_PARTIES_REFERENCE", "BUYER_IDREF"] => {
                    set(&mut self.buyer_idref, t)
                }
                // RFQ and QUOTATION name their own parties reference block.
                [reference, "BUYER_IDREF"]
                    if reference.ends_with("_PARTIES_REFERENCE")
                        && *reference != "DOCEXCHANGE_PARTIES_REFERENCE" =>
                {
                    set(&mut self.buyer_idref, t)
                }
                ["INVOICE_RECIPIENT_IDREF"]
                | ["ORDER_PARTIES_REFERENCE", "INVOICE_RECIPIENT_IDREF"] => {
                    set(&mut self.recipient_idref, t)
                }
                ["PARTIES", "PARTY", p @ ..] => {
                    if let Some(party) = self.parties.last_mut() {
                        party_text(party, p, el, t);
                    }
                }
                [.., "TIME_FOR_PAYMENT", "PAYMENT_DATE"] => {
                    set_date(&mut self.current_payment.0, t)
                }
                [.., "TIME_FOR_PAYMENT", "DISCOUNT_FACTOR"] => self.current_payment.1 = true,
                _ => {}
            },
            ["HEADER", "ORDER_HISTORY", "ORDER_ID"] => set(&mut d.order_ref, t),
            ["HEADER", "ORDER_HISTORY", "SUPPLIER_ORDER_ID"] => set(&mut d.supplier_order_ref, t),
            ["ITEM_LIST", "ITEM", l @ ..] => {
                if let Some(line) = d.lines.last_mut() {
                    line_text(line, l, t);
                }
            }
            ["SUMMARY", "TOTAL_AMOUNT"] => set(&mut self.total_amount, t),
            ["SUMMARY", "NET_VALUE_GOODS"] => set(&mut d.totals.net, t),
            ["SUMMARY", "TOTAL_TAX", "TAX_DETAILS_FIX", "TAX_AMOUNT"]
                if self.taxes.len() < MAX_TAXES =>
            {
                self.taxes.push(t.trim().to_owned())
            }
            _ => {}
        }
    }

    fn end(&mut self, path: &[&str]) {
        if let [.., "TIME_FOR_PAYMENT"] = path
            && let (Some(date), discount) = std::mem::take(&mut self.current_payment)
        {
            self.payment_dates.push((date, discount));
        }
    }

    fn finish(mut self) -> Doc {
        let buyer = self.buyer();
        let seller = self.seller();
        let d = &mut self.doc;
        d.buyer = buyer;
        d.seller = seller;
        d.promised_date = promised(&d.delivery_start, &d.delivery_end);
        for line in &mut d.lines {
            line.promised_date = promised(&line.delivery_start, &line.delivery_end);
        }
        match self.kind {
            OtKind::Order | OtKind::OrderChange => {
                d.doc_kind = "order";
                d.number = d.order_number.take();
                d.totals.total = self.total_amount.take();
            }
            OtKind::Quotation | OtKind::Rfq => {
                d.doc_kind = if self.kind == OtKind::Rfq {
                    "quote_request"
                } else {
                    "quote"
                };
                d.totals.total = self.total_amount.take();
            }
            OtKind::OrderResponse => {
                d.doc_kind = "order_confirmation";
                d.totals.total = self.total_amount.take();
            }
            OtKind::DispatchNotification => {
                d.doc_kind = "delivery";
                for n in d.lines.iter().filter_map(|l| l.order_number.as_ref()) {
                    if !d.order_numbers.contains(n) {
                        d.order_numbers.push(n.clone());
                    }
                }
                if d.order_number.is_none() && d.order_numbers.len() == 1 {
                    d.order_number = d.order_numbers.first().cloned();
                }
                if d.order_number.is_none() {
                    d.order_number.clone_from(&d.order_ref);
                }
            }
            OtKind::Invoice => {
                let credit = self
                    .invoice_type
                    .as_deref()
                    .is_some_and(|t| t.to_ascii_lowercase().contains("credit"));
                d.doc_kind = if credit { "credit_note" } else { "invoice" };
                if self.invoice_type.is_some() {
                    d.type_code = self.invoice_type.take();
                }
                d.self_billed = Some(false);
                d.totals.gross.clone_from(&self.total_amount);
                d.totals.due = self.total_amount.take();
                d.totals.tax = sum_decimals(&self.taxes);
                d.due_date = self
                    .payment_dates
                    .iter()
                    .find(|(_, discount)| !discount)
                    .or_else(|| self.payment_dates.last())
                    .map(|(date, _)| date.clone());
            }
        }
        self.doc.finish()
    }
}

impl OpenTrans {
    /// The buyer: the party with role `buyer`, else the party named by `BUYER_IDREF` (invoices:
    /// also `INVOICE_RECIPIENT_IDREF`), else a party whose `PARTY_ID` has type `buyer`.
    fn buyer(&mut self) -> Option<Party> {
        let idrefs = [self.buyer_idref.clone(), self.recipient_idref.clone()];
        let pos = self
            .parties
            .iter()
            .position(|p| p.roles.iter().any(|r| r == "buyer"))
            .or_else(|| {
                idrefs.iter().flatten().find_map(|idref| {
                    self.parties
                        .iter()
                        .position(|p| p.ids.iter().any(|(_, v)| v == idref))
                })
            })
            .or_else(|| {
                self.parties
                    .iter()
                    .position(|p| p.ids.iter().any(|(t, _)| t.as_deref() == Some("buyer")))
            });
        match pos {
            Some(i) if i < self.parties.len() => Some(finish_party(
                self.parties.swap_remove(i),
                &["supplier_specific", "buyer_specific"],
            )),
            _ => idrefs.into_iter().flatten().next().map(|id| Party {
                customer_no: Some(id.clone()),
                customer_no_source: Some("party_id"),
                party_id: Some(id),
                ..Party::default()
            }),
        }
    }

    fn seller(&mut self) -> Option<Party> {
        let pos = self
            .parties
            .iter()
            .position(|p| {
                p.roles
                    .iter()
                    .any(|r| r == "supplier" || r == "invoice_issuer")
            })
            .or_else(|| {
                self.parties.iter().position(|p| {
                    p.ids
                        .iter()
                        .any(|(t, _)| matches!(t.as_deref(), Some("supplier" | "issuer")))
                })
            })?;
        (pos < self.parties.len()).then(|| {
            finish_party(
                self.parties.swap_remove(pos),
                &["buyer_specific", "supplier_specific"],
            )
            .into_seller()
        })
    }
}

/// Picks the party's number: the `PARTY_ID` of the first preferred type, else the first one.
fn finish_party(p: OtParty, preferred: &[&str]) -> Party {
    let mut party = p.party;
    let chosen = preferred
        .iter()
        .find_map(|want| p.ids.iter().find(|(t, _)| t.as_deref() == Some(*want)))
        .or_else(|| p.ids.first());
    if let Some((t, v)) = chosen {
        party.party_id = Some(v.clone());
        party.party_id_type.clone_from(t);
        party.customer_no = Some(v.clone());
        party.customer_no_source = Some("party_id");
    }
    if let Some((_, gln)) = p
        .ids
        .iter()
        .find(|(t, _)| matches!(t.as_deref(), Some("gln" | "iln" | "GLN" | "ILN")))
    {
        set(&mut party.gln, gln);
    }
    if party.address.country.is_none() {
        party.address.country = p.country_name;
    }
    party
}

fn party_text(p: &mut OtParty, path: &[&str], el: &Elem, t: &str) {
    let party = &mut p.party;
    match path {
        ["PARTY_ID"] => {
            let v = t.trim();
            if !v.is_empty() {
                p.ids
                    .push((el.attr("type").map(str::to_owned), v.to_owned()));
            }
        }
        ["PARTY_ROLE"] => p.roles.push(t.trim().to_owned()),
        ["ADDRESS", a @ ..] => match a {
            ["NAME"] => set(&mut party.name, t),
            ["NAME2"] => set(&mut party.name2, t),
            ["STREET"] => set(&mut party.address.street, t),
            ["ZIP"] => set(&mut party.address.postcode, t),
            ["CITY"] => set(&mut party.address.city, t),
            ["COUNTRY_CODED"] => set(&mut party.address.country, t),
            ["COUNTRY"] => set(&mut p.country_name, t),
            ["VAT_ID"] => set(&mut party.vat_id, t),
            ["TAX_NUMBER"] => set(&mut party.tax_number, t),
            ["PHONE"] | ["CONTACT_DETAILS", "PHONE"] => set(&mut party.phone, t),
            ["FAX"] | ["CONTACT_DETAILS", "FAX"] => set(&mut party.fax, t),
            ["EMAIL"] | ["CONTACT_DETAILS", "EMAILS", "EMAIL"] => set(&mut party.email, t),
            ["CONTACT_DETAILS", "CONTACT_NAME"] => set(&mut party.contact_name, t),
            _ => {}
        },
        _ => {}
    }
}

fn line_text(line: &mut Line, path: &[&str], t: &str) {
    match path {
        ["LINE_ITEM_ID"] => set(&mut line.line_no, t),
        ["PRODUCT_ID", "SUPPLIER_PID"] => set(&mut line.sku, t),
        ["PRODUCT_ID", "BUYER_PID"] => set(&mut line.buyer_sku, t),
        ["PRODUCT_ID", "INTERNATIONAL_PID"] => set(&mut line.gtin, t),
        ["PRODUCT_ID", "DESCRIPTION_SHORT"] => set(&mut line.description, t),
        ["QUANTITY"] => set(&mut line.quantity, t),
        ["ORDER_UNIT"] => set(&mut line.unit, t),
        ["PRODUCT_PRICE_FIX", "PRICE_AMOUNT"] => set(&mut line.unit_price, t),
        ["PRICE_LINE_AMOUNT"] => set(&mut line.net, t),
        ["DELIVERY_DATE", "DELIVERY_START_DATE"] => set_date(&mut line.delivery_start, t),
        ["DELIVERY_DATE", "DELIVERY_END_DATE"] => set_date(&mut line.delivery_end, t),
        ["ORDER_REFERENCE", "ORDER_ID"] => set(&mut line.order_number, t),
        ["ORDER_REFERENCE", "LINE_ITEM_ID"] => set(&mut line.order_line_no, t),
        _ => {}
    }
}

/// One value as written; several are added up exactly (rust_decimal). `None` if any is not a
/// decimal number.
fn sum_decimals(values: &[String]) -> Option<String> {
    match values {
        [] => None,
        [one] => Some(one.clone()),
        many => many
            .iter()
            .map(|v| rust_decimal::Decimal::from_str(v.trim()).ok())
            .sum::<Option<rust_decimal::Decimal>>()
            .map(|d| d.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folded() {
        assert_eq!(
            fold(&["ORDERRESPONSE_HEADER", "ORDERRESPONSE_INFO", "ORDER_ID"]),
            ["HEADER", "INFO", "ORDER_ID"]
        );
        assert_eq!(
            fold(&["ORDER_HEADER", "CONTROL_INFO"]),
            ["HEADER", "CONTROL_INFO"]
        );
        assert_eq!(
            fold(&["ORDERCHANGE_ITEM_LIST", "ORDER_ITEM", "QUANTITY"]),
            ["ITEM_LIST", "ITEM", "QUANTITY"]
        );
        assert_eq!(
            fold(&["INVOICE_SUMMARY", "TOTAL_AMOUNT"]),
            ["SUMMARY", "TOTAL_AMOUNT"]
        );
    }

    #[test]
    fn taxes_add_up_exactly() {
        assert_eq!(sum_decimals(&["266.19".into()]).as_deref(), Some("266.19"));
        assert_eq!(
            sum_decimals(&["0.10".into(), "0.20".into()]).as_deref(),
            Some("0.30")
        );
        assert_eq!(sum_decimals(&["x".into(), "1".into()]), None);
    }
}
