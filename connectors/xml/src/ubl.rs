//! UBL 2.1 `Invoice` and `CreditNote` (XRechnung, Peppol BIS, EN 16931).

use crate::detect::{Handler, too_many_lines};
use crate::error::XmlError;
use crate::model::{Attachment, Doc, Line, Party, TaxSubtotal, set, set_date};
use crate::reader::Elem;

/// Most tax totals kept (the rest is ignored).
pub const MAX_TAXES: usize = 1000;

pub struct Ubl {
    doc: Doc,
    credit_root: bool,
    buyer: Party,
    seller: Party,
    billing_ref: Option<String>,
    /// `TaxTotal/TaxAmount` values with their currency.
    taxes: Vec<(Option<String>, String)>,
    /// `PartyTaxScheme` being read: company id and scheme, per party (0 buyer, 1 seller).
    tax_scheme: [(Option<String>, Option<String>); 2],
    max_lines: usize,
}

impl Ubl {
    pub fn new(root: &Elem, max_lines: usize) -> Self {
        Self {
            doc: Doc {
                profile: "ubl",
                root: root.qname(),
                ..Doc::default()
            },
            credit_root: root.name == "CreditNote",
            buyer: Party::default(),
            seller: Party::default(),
            billing_ref: None,
            taxes: Vec::new(),
            tax_scheme: Default::default(),
            max_lines,
        }
    }
}

fn is_line(name: &str) -> bool {
    name == "InvoiceLine" || name == "CreditNoteLine"
}

impl Handler for Ubl {
    fn start(&mut self, path: &[&str], el: &Elem) -> Result<(), XmlError> {
        if let [l] = path
            && is_line(l)
        {
            if self.doc.lines.len() >= self.max_lines {
                return Err(too_many_lines(el, self.max_lines));
            }
            self.doc.lines.push(Line::default());
        }
        if let ["TaxTotal", "TaxSubtotal"] = path
            && self.doc.taxes.len() < MAX_TAXES
        {
            self.doc.taxes.push(TaxSubtotal::default());
        }
        Ok(())
    }

    fn attachment(&mut self, el: &Elem, payload: u64) {
        Attachment::push(&mut self.doc.attachments, el, payload);
    }

    fn text(&mut self, path: &[&str], el: &Elem, t: &str) {
        let d = &mut self.doc;
        match path {
            ["ID"] => set(&mut d.number, t),
            ["IssueDate"] => set_date(&mut d.issue_date, t),
            ["DueDate"] | ["PaymentMeans", "PaymentDueDate"] => set_date(&mut d.due_date, t),
            ["InvoiceTypeCode"] | ["CreditNoteTypeCode"] => set(&mut d.type_code, t),
            ["DocumentCurrencyCode"] => set(&mut d.currency, t),
            ["BuyerReference"] => set(&mut d.buyer_reference, t),
            ["OrderReference", "ID"] => set(&mut d.order_ref, t),
            ["OrderReference", "SalesOrderID"] => set(&mut d.supplier_order_ref, t),
            ["BillingReference", "InvoiceDocumentReference", "ID"] => set(&mut self.billing_ref, t),
            ["Delivery", "ActualDeliveryDate"] => set_date(&mut d.dispatch_date, t),
            ["AccountingCustomerParty", "Party", rest @ ..] => {
                party(&mut self.buyer, &mut self.tax_scheme[0], rest, el, t)
            }
            ["AccountingSupplierParty", "Party", rest @ ..] => {
                party(&mut self.seller, &mut self.tax_scheme[1], rest, el, t)
            }
            ["TaxTotal", "TaxAmount"] if self.taxes.len() < MAX_TAXES => self.taxes.push((
                el.attr("currencyID").map(str::to_owned),
                t.trim().to_owned(),
            )),
            ["TaxTotal", "TaxSubtotal", field @ ..] => {
                if let Some(sub) = d.taxes.last_mut() {
                    let slot = match field {
                        ["TaxableAmount"] => &mut sub.basis,
                        ["TaxAmount"] => &mut sub.amount,
                        ["TaxCategory", "ID"] => &mut sub.category,
                        ["TaxCategory", "Percent"] => &mut sub.rate,
                        _ => return,
                    };
                    set(slot, t);
                }
            }
            ["LegalMonetaryTotal", field] => {
                let slot = match *field {
                    "LineExtensionAmount" => &mut d.totals.line_total,
                    "TaxExclusiveAmount" => &mut d.totals.net,
                    "TaxInclusiveAmount" => &mut d.totals.gross,
                    "PrepaidAmount" => &mut d.totals.prepaid,
                    "PayableAmount" => &mut d.totals.due,
                    "AllowanceTotalAmount" => &mut d.totals.allowances,
                    "ChargeTotalAmount" => &mut d.totals.charges,
                    "PayableRoundingAmount" => &mut d.totals.rounding,
                    _ => return,
                };
                set(slot, t);
            }
            [l, rest @ ..] if is_line(l) => {
                if let Some(line) = d.lines.last_mut() {
                    line_text(line, rest, el, t);
                }
            }
            _ => {}
        }
    }

    fn end(&mut self, path: &[&str]) {
        let (party, scheme) = match path {
            ["AccountingCustomerParty", "Party", "PartyTaxScheme"] => {
                (&mut self.buyer, &mut self.tax_scheme[0])
            }
            ["AccountingSupplierParty", "Party", "PartyTaxScheme"] => {
                (&mut self.seller, &mut self.tax_scheme[1])
            }
            _ => return,
        };
        let (company_id, tax_scheme) = std::mem::take(scheme);
        if let Some(id) = company_id {
            if tax_scheme
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case("VAT"))
            {
                set(&mut party.vat_id, &id);
            } else {
                set(&mut party.tax_number, &id);
            }
        }
    }

    fn finish(mut self) -> Doc {
        let d = &mut self.doc;
        d.totals.tax = pick_tax(&self.taxes, d.currency.as_deref());
        d.classify_invoice(self.credit_root, self.billing_ref.take());
        self.buyer.finish_einvoice();
        self.seller.finish_einvoice();
        d.buyer = Some(self.buyer);
        d.seller = Some(self.seller.into_seller());
        self.doc.finish()
    }
}

/// The VAT total in the document currency (a second `TaxTotal` may be in the tax currency).
pub fn pick_tax(taxes: &[(Option<String>, String)], currency: Option<&str>) -> Option<String> {
    taxes
        .iter()
        .find(|(c, _)| c.is_some() && c.as_deref() == currency)
        .or_else(|| taxes.first())
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

fn party(
    p: &mut Party,
    scheme: &mut (Option<String>, Option<String>),
    path: &[&str],
    el: &Elem,
    t: &str,
) {
    match path {
        ["EndpointID"] => {
            set(&mut p.endpoint, t);
            if let Some(s) = el.attr("schemeID") {
                set(&mut p.endpoint_scheme, s);
            }
        }
        ["PartyIdentification", "ID"] => {
            if el.attr("schemeID") == Some("0088") {
                set(&mut p.gln, t);
            } else {
                if p.party_id.is_none()
                    && let Some(s) = el.attr("schemeID")
                {
                    set(&mut p.party_id_type, s);
                }
                set(&mut p.party_id, t);
            }
        }
        ["PartyName", "Name"] => set(&mut p.trade_name, t),
        ["PostalAddress", field] => {
            let a = &mut p.address;
            let slot = match *field {
                "StreetName" => &mut a.street,
                "AdditionalStreetName" => &mut a.street2,
                "CityName" => &mut a.city,
                "PostalZone" => &mut a.postcode,
                _ => return,
            };
            set(slot, t);
        }
        ["PostalAddress", "Country", "IdentificationCode"] => set(&mut p.address.country, t),
        ["PartyTaxScheme", "CompanyID"] => set(&mut scheme.0, t),
        ["PartyTaxScheme", "TaxScheme", "ID"] => set(&mut scheme.1, t),
        ["PartyLegalEntity", "RegistrationName"] => set(&mut p.name, t),
        ["PartyLegalEntity", "CompanyID"] if el.attr("schemeID") == Some("0088") => {
            set(&mut p.gln, t)
        }
        ["Contact", "Name"] => set(&mut p.contact_name, t),
        ["Contact", "Telephone"] => set(&mut p.phone, t),
        ["Contact", "Telefax"] => set(&mut p.fax, t),
        ["Contact", "ElectronicMail"] => set(&mut p.email, t),
        _ => {}
    }
}

fn line_text(line: &mut Line, path: &[&str], el: &Elem, t: &str) {
    match path {
        ["ID"] => set(&mut line.line_no, t),
        ["InvoicedQuantity"] | ["CreditedQuantity"] => {
            set(&mut line.quantity, t);
            if let Some(u) = el.attr("unitCode") {
                set(&mut line.unit, u);
            }
        }
        ["LineExtensionAmount"] => set(&mut line.net, t),
        ["OrderLineReference", "LineID"] => set(&mut line.order_line_no, t),
        ["Item", "Name"] => set(&mut line.description, t),
        ["Item", "SellersItemIdentification", "ID"] => set(&mut line.sku, t),
        ["Item", "BuyersItemIdentification", "ID"] => set(&mut line.buyer_sku, t),
        ["Item", "StandardItemIdentification", "ID"] => set(&mut line.gtin, t),
        ["Price", "PriceAmount"] => set(&mut line.unit_price, t),
        _ => {}
    }
}
