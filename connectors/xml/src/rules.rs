//! EN 16931 business rules that are cheap to check on the normalised document. A broken rule
//! becomes a **warning** on the record, never a rejection: the document is what the partner
//! sent, and sales should see it. Also: a negative invoice ("avoir" as type 380) is read as a
//! credit note.

use crate::model::Doc;
use rust_decimal::Decimal;
use std::str::FromStr;

/// An `xs:decimal` as written (`64.`, `.5`, `+1.0`, `007` included); `None` when it is none.
pub fn decimal(s: &str) -> Option<Decimal> {
    let t = s.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let t = t.strip_suffix('.').unwrap_or(t);
    if t.is_empty() || t == "-" || !t.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = match t.strip_prefix("-.") {
        Some(rest) => format!("-0.{rest}"),
        None => match t.strip_prefix('.') {
            Some(rest) => format!("0.{rest}"),
            None => t.to_owned(),
        },
    };
    if !t
        .bytes()
        .enumerate()
        .all(|(i, b)| b.is_ascii_digit() || b == b'.' || (i == 0 && b == b'-'))
    {
        return None;
    }
    Decimal::from_str(&t).ok()
}

fn amount(v: &Option<String>) -> Option<Decimal> {
    v.as_deref().and_then(decimal)
}

/// Checks the sums of an e-invoice (UBL, CII) and adds a warning per broken rule:
/// BR-CO-10 (sum of line net amounts = BT-106), BR-CO-13 (BT-109 = BT-106 − BT-107 + BT-108),
/// BR-CO-14 (BT-110 = sum of BT-117), BR-CO-15 (BT-112 = BT-109 + BT-110), BR-CO-16
/// (BT-115 = BT-112 − BT-113 + BT-114), and per VAT breakdown BT-117 = BT-116 × rate
/// (±0.01). Sub-lines (a parent line given) are not added up.
pub fn check(doc: &mut Doc) {
    let t = &doc.totals;
    let mut w: Vec<String> = Vec::new();
    let zero = Decimal::ZERO;
    let line_total = amount(&t.line_total);
    let top_lines: Vec<&crate::model::Line> = doc
        .lines
        .iter()
        .filter(|l| l.parent_line_no.is_none())
        .collect();
    if let Some(bt106) = line_total
        && !top_lines.is_empty()
    {
        let nets: Option<Vec<Decimal>> = top_lines.iter().map(|l| amount(&l.net)).collect();
        if let Some(nets) = nets {
            let sum: Decimal = nets.iter().sum();
            if sum != bt106 {
                w.push(format!(
                    "BR-CO-10: Summe der Positionsnettobeträge {sum} ≠ Summe der Nettobeträge (BT-106) {bt106}"
                ));
            }
        }
    }
    let net = amount(&t.net);
    if let (Some(bt106), Some(bt109)) = (line_total, net) {
        let want =
            bt106 - amount(&t.allowances).unwrap_or(zero) + amount(&t.charges).unwrap_or(zero);
        if want != bt109 {
            w.push(format!(
                "BR-CO-13: Nettobetrag (BT-109) {bt109} ≠ Positionssumme − Nachlässe + Zuschläge = {want}"
            ));
        }
    }
    let tax = amount(&t.tax);
    if let Some(bt110) = tax
        && !doc.taxes.is_empty()
    {
        let parts: Option<Vec<Decimal>> = doc.taxes.iter().map(|s| amount(&s.amount)).collect();
        if let Some(parts) = parts {
            let sum: Decimal = parts.iter().sum();
            if sum != bt110 {
                w.push(format!(
                    "BR-CO-14: Umsatzsteuer gesamt (BT-110) {bt110} ≠ Summe der Steueraufschlüsselung {sum}"
                ));
            }
        }
    }
    let gross = amount(&t.gross);
    if let (Some(bt109), Some(bt112)) = (net, gross) {
        let want = bt109 + tax.unwrap_or(zero);
        if want != bt112 {
            w.push(format!(
                "BR-CO-15: Bruttobetrag (BT-112) {bt112} ≠ Nettobetrag + Umsatzsteuer = {want}"
            ));
        }
    }
    if let (Some(bt112), Some(bt115)) = (gross, amount(&t.due)) {
        let want = bt112 - amount(&t.prepaid).unwrap_or(zero) + amount(&t.rounding).unwrap_or(zero);
        if want != bt115 {
            w.push(format!(
                "BR-CO-16: Zahlbetrag (BT-115) {bt115} ≠ Bruttobetrag − Vorauszahlung + Rundung = {want}"
            ));
        }
    }
    let cent = Decimal::new(1, 2);
    for s in &doc.taxes {
        if let (Some(basis), Some(rate), Some(got)) =
            (amount(&s.basis), amount(&s.rate), amount(&s.amount))
        {
            let want = (basis * rate / Decimal::ONE_HUNDRED).round_dp(2);
            if (want - got).abs() > cent {
                w.push(format!(
                    "Steuerkategorie {} ({rate} %): Steuerbetrag (BT-117) {got} ≠ Bemessungsgrundlage {basis} × Satz = {want}",
                    s.category.as_deref().unwrap_or("?")
                ));
            }
        }
    }
    doc.warnings.extend(w);
}

/// An invoice (any type but 384 corrected and the self-billed 389) whose total (BT-112, else
/// the amount due) is negative is a credit note in disguise — the French/Belgian "avoir" sent
/// as 380. It becomes a `credit_note` with every amount's sign turned (credit notes carry
/// positive amounts, like UBL `CreditNote` and type 381), and says so in a warning.
pub fn negative_invoice_as_credit_note(doc: &mut Doc) {
    if doc.doc_kind != "invoice" || doc.self_billed == Some(true) {
        return;
    }
    let code = doc.type_code.as_deref().unwrap_or_default().trim();
    if code == "384" {
        return;
    }
    let Some(total) = amount(&doc.totals.gross).or_else(|| amount(&doc.totals.due)) else {
        return;
    };
    if total >= Decimal::ZERO {
        return;
    }
    doc.doc_kind = "credit_note";
    for slot in doc.totals.amounts_mut() {
        negate(slot);
    }
    for s in &mut doc.taxes {
        negate(&mut s.basis);
        negate(&mut s.amount);
    }
    for l in &mut doc.lines {
        negate(&mut l.net);
        if amount(&l.quantity).is_some_and(|q| q < Decimal::ZERO) {
            negate(&mut l.quantity);
        }
        if amount(&l.unit_price).is_some_and(|p| p < Decimal::ZERO) {
            negate(&mut l.unit_price);
        }
    }
    doc.warnings.push(format!(
        "Rechnung (Typ {code}) mit negativem Gesamtbetrag {total}: als Gutschrift gelesen, Beträge mit umgekehrtem Vorzeichen"
    ));
}

/// Turns the sign of an amount written as text, keeping its digits (`-12.50` ↔ `12.50`).
fn negate(slot: &mut Option<String>) {
    let Some(v) = slot.as_deref() else { return };
    let Some(d) = decimal(v) else { return };
    if d.is_zero() {
        return;
    }
    *slot = Some((-d).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Line, TaxSubtotal, Totals};

    #[test]
    fn xs_decimal_forms() {
        for (s, v) in [
            ("64.", "64"),
            (".5", "0.5"),
            ("+1.0", "1.0"),
            ("007", "7"),
            ("-.5", "-0.5"),
            ("-7.50", "-7.50"),
        ] {
            assert_eq!(decimal(s).map(|d| d.to_string()).as_deref(), Some(v), "{s}");
        }
        for s in ["", ".", "-", "1e3", "1,5", "abc", "1.2.3"] {
            assert_eq!(decimal(s), None, "{s}");
        }
    }

    fn doc(totals: Totals, lines: &[&str]) -> Doc {
        Doc {
            doc_kind: "invoice",
            type_code: Some("380".into()),
            totals,
            lines: lines
                .iter()
                .map(|n| Line {
                    net: Some((*n).into()),
                    ..Line::default()
                })
                .collect(),
            ..Doc::default()
        }
    }

    fn totals(l: &str, net: &str, tax: &str, gross: &str, due: &str) -> Totals {
        Totals {
            line_total: Some(l.into()),
            net: Some(net.into()),
            tax: Some(tax.into()),
            gross: Some(gross.into()),
            due: Some(due.into()),
            ..Totals::default()
        }
    }

    #[test]
    fn consistent_sums_give_no_warning() {
        let mut d = doc(
            totals("100.00", "90.00", "17.10", "107.10", "100.10"),
            &["60", "40.00"],
        );
        d.totals.allowances = Some("10.00".into());
        d.totals.prepaid = Some("7.00".into());
        d.taxes = vec![TaxSubtotal {
            category: Some("S".into()),
            rate: Some("19".into()),
            basis: Some("90.00".into()),
            amount: Some("17.10".into()),
        }];
        check(&mut d);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }

    #[test]
    fn each_broken_rule_is_one_warning() {
        let mut d = doc(
            totals("100.00", "95.00", "19.00", "115.00", "120.00"),
            &["60", "30"],
        );
        d.taxes = vec![TaxSubtotal {
            category: Some("S".into()),
            rate: Some("19".into()),
            basis: Some("100.00".into()),
            amount: Some("18.00".into()),
        }];
        check(&mut d);
        let rules: Vec<&str> = d
            .warnings
            .iter()
            .map(|w| w.split(':').next().unwrap())
            .collect();
        assert_eq!(
            rules,
            [
                "BR-CO-10",
                "BR-CO-13",
                "BR-CO-14",
                "BR-CO-15",
                "BR-CO-16",
                "Steuerkategorie S (19 %)"
            ],
            "{:#?}",
            d.warnings
        );
    }

    #[test]
    fn negative_380_becomes_a_credit_note() {
        let mut d = doc(
            totals("-100.00", "-100.00", "-19.00", "-119.00", "-119.00"),
            &["-100.00"],
        );
        d.lines[0].quantity = Some("-2".into());
        d.lines[0].unit_price = Some("50.00".into());
        negative_invoice_as_credit_note(&mut d);
        assert_eq!(d.doc_kind, "credit_note");
        assert_eq!(d.totals.gross.as_deref(), Some("119.00"));
        assert_eq!(d.lines[0].net.as_deref(), Some("100.00"));
        assert_eq!(d.lines[0].quantity.as_deref(), Some("2"));
        assert_eq!(d.lines[0].unit_price.as_deref(), Some("50.00"));
        assert!(d.warnings[0].contains("als Gutschrift"), "{:?}", d.warnings);
        // A positive invoice, a corrected (384) and a self-billed one stay invoices.
        for (code, gross) in [("380", "119.00"), ("384", "-119.00"), ("389", "-119.00")] {
            let mut d = doc(totals("1", "1", "0", gross, gross), &[]);
            d.type_code = Some(code.into());
            d.self_billed = Some(code == "389");
            negative_invoice_as_credit_note(&mut d);
            assert_eq!(d.doc_kind, "invoice", "{code} {gross}");
        }
    }
}
