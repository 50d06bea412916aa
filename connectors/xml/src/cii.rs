//! UN/CEFACT Cross Industry Invoice D16B (XRechnung CII, ZUGFeRD 2.x / Factur-X XML), and its
//! predecessor ZUGFeRD 1.0 (`CrossIndustryDocument`, namespace
//! `urn:ferd:CrossIndustryDocument:invoice:1p0`), whose element names are folded to the D16B
//! names before matching.

use crate::detect::{Handler, too_many_lines};
use crate::error::XmlError;
use crate::model::{Attachment, Doc, Line, Party, TaxSubtotal, set, set_date};
use crate::reader::Elem;
use crate::ubl::pick_tax;

pub struct Cii {
    doc: Doc,
    buyer: Party,
    seller: Party,
    billing_ref: Option<String>,
    taxes: Vec<(Option<String>, String)>,
    max_lines: usize,
    /// ZUGFeRD 1.0 names.
    v1: bool,
}

const LINE: &str = "IncludedSupplyChainTradeLineItem";

impl Cii {
    pub fn new(root: &Elem, max_lines: usize) -> Self {
        Self {
            doc: Doc {
                profile: "cii",
                root: root.qname(),
                ..Doc::default()
            },
            buyer: Party::default(),
            seller: Party::default(),
            billing_ref: None,
            taxes: Vec::new(),
            max_lines,
            v1: root.name == "CrossIndustryDocument",
        }
    }

    /// The path with ZUGFeRD 1.0 names folded to their D16B counterparts.
    fn fold<'a>(&self, path: &[&'a str]) -> Vec<&'a str> {
        let mut out: Vec<&'a str> = path.to_vec();
        if !self.v1 {
            return out;
        }
        let in_line = out.get(1) == Some(&LINE);
        for (i, step) in out.iter_mut().enumerate() {
            *step = match (*step, i, in_line) {
                ("HeaderExchangedDocument", 0, _) => "ExchangedDocument",
                ("SpecifiedSupplyChainTradeTransaction", 0, _) => "SupplyChainTradeTransaction",
                ("ApplicableSupplyChainTradeAgreement", 1, _) => "ApplicableHeaderTradeAgreement",
                ("ApplicableSupplyChainTradeDelivery", 1, _) => "ApplicableHeaderTradeDelivery",
                ("ApplicableSupplyChainTradeSettlement", 1, _) => "ApplicableHeaderTradeSettlement",
                ("SpecifiedTradeSettlementMonetarySummation", _, false) => {
                    "SpecifiedTradeSettlementHeaderMonetarySummation"
                }
                ("SpecifiedTradeSettlementMonetarySummation", _, true) => {
                    "SpecifiedTradeSettlementLineMonetarySummation"
                }
                ("SpecifiedSupplyChainTradeAgreement", _, true) => "SpecifiedLineTradeAgreement",
                ("SpecifiedSupplyChainTradeDelivery", _, true) => "SpecifiedLineTradeDelivery",
                ("SpecifiedSupplyChainTradeSettlement", _, true) => "SpecifiedLineTradeSettlement",
                ("ApplicablePercent", _, _) => "RateApplicablePercent",
                (other, _, _) => other,
            };
        }
        out
    }
}

const TAX: &[&str] = &[
    "SupplyChainTradeTransaction",
    "ApplicableHeaderTradeSettlement",
    "ApplicableTradeTax",
];

impl Handler for Cii {
    fn start(&mut self, path: &[&str], el: &Elem) -> Result<(), XmlError> {
        let path = self.fold(path);
        if let ["SupplyChainTradeTransaction", LINE] = path.as_slice() {
            if self.doc.lines.len() >= self.max_lines {
                return Err(too_many_lines(el, self.max_lines));
            }
            self.doc.lines.push(Line::default());
        }
        if path.as_slice() == TAX && self.doc.taxes.len() < crate::ubl::MAX_TAXES {
            self.doc.taxes.push(TaxSubtotal::default());
        }
        Ok(())
    }

    fn attachment(&mut self, el: &Elem, payload: u64) {
        Attachment::push(&mut self.doc.attachments, el, payload);
    }

    fn text(&mut self, path: &[&str], el: &Elem, t: &str) {
        let folded = self.fold(path);
        let d = &mut self.doc;
        match folded.as_slice() {
            ["ExchangedDocument", "ID"] => set(&mut d.number, t),
            ["ExchangedDocument", "TypeCode"] => set(&mut d.type_code, t),
            ["ExchangedDocument", "IssueDateTime", "DateTimeString"] => {
                set_date(&mut d.issue_date, t)
            }
            ["SupplyChainTradeTransaction", rest @ ..] => match rest {
                [LINE, l @ ..] => {
                    if let Some(line) = d.lines.last_mut() {
                        line_text(line, l, el, t);
                    }
                }
                ["ApplicableHeaderTradeAgreement", a @ ..] => match a {
                    ["BuyerReference"] => set(&mut d.buyer_reference, t),
                    ["BuyerTradeParty", p @ ..] => party(&mut self.buyer, p, el, t),
                    ["SellerTradeParty", p @ ..] => party(&mut self.seller, p, el, t),
                    ["BuyerOrderReferencedDocument", "IssuerAssignedID" | "ID"] => {
                        set(&mut d.order_ref, t)
                    }
                    ["SellerOrderReferencedDocument", "IssuerAssignedID"] => {
                        set(&mut d.supplier_order_ref, t)
                    }
                    _ => {}
                },
                [
                    "ApplicableHeaderTradeDelivery",
                    "ActualDeliverySupplyChainEvent",
                    "OccurrenceDateTime",
                    "DateTimeString",
                ] => set_date(&mut d.dispatch_date, t),
                ["ApplicableHeaderTradeSettlement", s @ ..] => match s {
                    ["InvoiceCurrencyCode"] => set(&mut d.currency, t),
                    [
                        "SpecifiedTradePaymentTerms",
                        "DueDateDateTime",
                        "DateTimeString",
                    ] => set_date(&mut d.due_date, t),
                    ["InvoiceReferencedDocument", "IssuerAssignedID" | "ID"] => {
                        set(&mut self.billing_ref, t)
                    }
                    ["ApplicableTradeTax", field] => {
                        if let Some(sub) = d.taxes.last_mut() {
                            let slot = match *field {
                                "CalculatedAmount" => &mut sub.amount,
                                "BasisAmount" => &mut sub.basis,
                                "CategoryCode" => &mut sub.category,
                                "RateApplicablePercent" => &mut sub.rate,
                                _ => return,
                            };
                            set(slot, t);
                        }
                    }
                    ["SpecifiedTradeSettlementHeaderMonetarySummation", field] => {
                        let slot = match *field {
                            "LineTotalAmount" => &mut d.totals.line_total,
                            "TaxBasisTotalAmount" => &mut d.totals.net,
                            "GrandTotalAmount" => &mut d.totals.gross,
                            "TotalPrepaidAmount" => &mut d.totals.prepaid,
                            "DuePayableAmount" => &mut d.totals.due,
                            "AllowanceTotalAmount" => &mut d.totals.allowances,
                            "ChargeTotalAmount" => &mut d.totals.charges,
                            "RoundingAmount" => &mut d.totals.rounding,
                            "TaxTotalAmount" => {
                                if self.taxes.len() < crate::ubl::MAX_TAXES {
                                    self.taxes.push((
                                        el.attr("currencyID").map(str::to_owned),
                                        t.trim().to_owned(),
                                    ));
                                }
                                return;
                            }
                            _ => return,
                        };
                        set(slot, t);
                    }
                    _ => {}
                },
                _ => {}
            },
            _ => {}
        }
    }

    fn finish(mut self) -> Doc {
        let d = &mut self.doc;
        d.totals.tax = pick_tax(&self.taxes, d.currency.as_deref());
        d.classify_invoice(false, self.billing_ref.take());
        self.buyer.finish_einvoice();
        self.seller.finish_einvoice();
        d.buyer = Some(self.buyer);
        d.seller = Some(self.seller.into_seller());
        self.doc.finish()
    }
}

fn party(p: &mut Party, path: &[&str], el: &Elem, t: &str) {
    let scheme = el.attr("schemeID");
    match path {
        ["ID"] => {
            if scheme == Some("0088") {
                set(&mut p.gln, t);
            } else {
                if p.party_id.is_none()
                    && let Some(s) = scheme
                {
                    set(&mut p.party_id_type, s);
                }
                set(&mut p.party_id, t);
            }
        }
        ["GlobalID"] if scheme == Some("0088") => set(&mut p.gln, t),
        ["Name"] => set(&mut p.name, t),
        ["SpecifiedLegalOrganization", "TradingBusinessName"] => set(&mut p.trade_name, t),
        ["SpecifiedLegalOrganization", "ID"] if scheme == Some("0088") => set(&mut p.gln, t),
        ["DefinedTradeContact", c @ ..] => match c {
            ["PersonName"] => set(&mut p.contact_name, t),
            ["TelephoneUniversalCommunication", "CompleteNumber"] => set(&mut p.phone, t),
            ["FaxUniversalCommunication", "CompleteNumber"] => set(&mut p.fax, t),
            ["EmailURIUniversalCommunication", "URIID"] => set(&mut p.email, t),
            _ => {}
        },
        ["PostalTradeAddress", field] => {
            let a = &mut p.address;
            let slot = match *field {
                "LineOne" => &mut a.street,
                "LineTwo" => &mut a.street2,
                "PostcodeCode" => &mut a.postcode,
                "CityName" => &mut a.city,
                "CountryID" => &mut a.country,
                _ => return,
            };
            set(slot, t);
        }
        ["URIUniversalCommunication", "URIID"] => {
            set(&mut p.endpoint, t);
            if let Some(s) = scheme {
                set(&mut p.endpoint_scheme, s);
            }
        }
        ["SpecifiedTaxRegistration", "ID"] => match scheme {
            Some("FC") => set(&mut p.tax_number, t),
            _ => set(&mut p.vat_id, t),
        },
        _ => {}
    }
}

fn line_text(line: &mut Line, path: &[&str], el: &Elem, t: &str) {
    match path {
        ["AssociatedDocumentLineDocument", "LineID"] => set(&mut line.line_no, t),
        ["AssociatedDocumentLineDocument", "ParentLineID"] => set(&mut line.parent_line_no, t),
        ["SpecifiedTradeProduct", "SellerAssignedID"] => set(&mut line.sku, t),
        ["SpecifiedTradeProduct", "BuyerAssignedID"] => set(&mut line.buyer_sku, t),
        ["SpecifiedTradeProduct", "GlobalID"] => set(&mut line.gtin, t),
        ["SpecifiedTradeProduct", "Name"] => set(&mut line.description, t),
        [
            "SpecifiedLineTradeAgreement",
            "NetPriceProductTradePrice",
            "ChargeAmount",
        ] => set(&mut line.unit_price, t),
        [
            "SpecifiedLineTradeAgreement",
            "BuyerOrderReferencedDocument",
            "LineID",
        ] => set(&mut line.order_line_no, t),
        ["SpecifiedLineTradeDelivery", "BilledQuantity"] => {
            set(&mut line.quantity, t);
            if let Some(u) = el.attr("unitCode") {
                set(&mut line.unit, u);
            }
        }
        [
            "SpecifiedLineTradeSettlement",
            "SpecifiedTradeSettlementLineMonetarySummation",
            "LineTotalAmount",
        ] => set(&mut line.net, t),
        _ => {}
    }
}
