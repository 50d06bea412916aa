//! The ERPNext mock's payment ledger: what was paid of each demo invoice, as the list API of
//! `Payment Ledger Entry` answers it.

use super::fixtures::{CUSTOMERS, INVOICES, erp_mod, num};
use serde_json::{Value, json};

/// Payments of the ERPNext demo: (entry, invoice, posting date, amount, delinked). What was
/// paid of each invoice ([`INVOICES`]) — RE-2026-0002 in part, RE-2026-0003 in full, 11 days
/// after its due date — and a payment of RE-2026-0004 that was cancelled.
const ERPNEXT_PAYMENTS: &[(&str, &str, &str, &str, u8)] = &[
    (
        "ACC-PAY-2026-00001",
        "RE-2026-0002",
        "2026-02-20",
        "1000.00",
        0,
    ),
    (
        "ACC-PAY-2026-00002",
        "RE-2026-0003",
        "2026-03-02",
        "452.20",
        0,
    ),
    (
        "ACC-PAY-2026-00003",
        "RE-2026-0004",
        "2026-03-10",
        "15339.10",
        1,
    ),
];

/// The Payment Ledger Entries the list API answers with `party_type` Customer and
/// `against_voucher_type` Sales Invoice: each invoice's own entry (positive), each return's
/// against its invoice and each payment's (negative: credits on the receivable). Names are
/// ERPNext's random hashes.
pub(super) fn erpnext_payment_ledger(next: &mut impl FnMut() -> usize) -> Vec<Value> {
    let ple = |n: usize,
               (vtype, vno): (&str, &str),
               inv: &str,
               c: usize,
               date: &str,
               amount: String,
               delinked: u8,
               modified: usize| {
        json!({
            "name": format!("{:010x}", 0x003c_7a91_e205_u64 + n as u64 * 7919), "docstatus": 1,
            "posting_date": date, "company": "Kontor Demo GmbH", "account_type": "Receivable",
            "account": "1400 - Forderungen aus Lieferungen und Leistungen - MS",
            "party_type": "Customer", "party": format!("CUST-{}", CUSTOMERS[c].no),
            "due_date": INVOICES.iter().find(|x| x.0 == inv).map(|x| x.3),
            "cost_center": "Main - MS", "finance_book": null,
            "voucher_type": vtype, "voucher_no": vno, "against_voucher_type": "Sales Invoice",
            "against_voucher_no": inv, "amount": num(&amount), "account_currency": "EUR",
            "amount_in_account_currency": num(&amount), "delinked": delinked, "remarks": null,
            "modified": erp_mod(modified),
        })
    };
    let mut out = Vec::new();
    for (no, c, d, _, _, _, gross, _, against) in INVOICES {
        let n = out.len();
        out.push(match against {
            None => ple(
                n,
                ("Sales Invoice", no),
                no,
                *c,
                d,
                gross.to_string(),
                0,
                next(),
            ),
            Some(inv) => ple(
                n,
                ("Sales Invoice", no),
                inv,
                *c,
                d,
                format!("-{gross}"),
                0,
                next(),
            ),
        });
    }
    for (entry, inv, date, amount, delinked) in ERPNEXT_PAYMENTS {
        let c = INVOICES.iter().find(|x| x.0 == *inv).map_or(0, |x| x.1);
        let n = out.len();
        let m = next();
        out.push(ple(
            n,
            ("Payment Entry", entry),
            inv,
            c,
            date,
            format!("-{amount}"),
            *delinked,
            m,
        ));
    }
    out
}
