//! Caller-ID lookup: any German or international notation to E.164, then the exact number,
//! then the company's main number for an extension (longest prefix).

use super::{Directory, PhoneKind, PhoneRef};
use crate::model::phone::parse_phone;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhoneCandidate {
    pub customer_id: i64,
    pub name: Option<String>,
    /// 0..1, best first.
    pub confidence: f64,
    /// The stored number that matched (E.164).
    pub matched_number: String,
    /// `exact`, `main_number` (the caller dialled an extension of it), or
    /// `extension_of_main` (a stored number is the caller's number plus an extension).
    pub matched: String,
    /// `customer`, `contact_person` or `fax`.
    pub via: String,
    /// The contact person whose number it is.
    pub contact: Option<String>,
    /// `customer`, `supplier` or both: callers are customers or suppliers.
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhoneLookup {
    /// The number as E.164.
    pub number: String,
    pub candidates: Vec<PhoneCandidate>,
}

/// Per (customer entry, matched number): confidence, number, how, which phone.
type Best = HashMap<(u32, String), (f64, String, String, PhoneRef)>;

/// Extensions are at most this many digits.
const MAX_EXTENSION: usize = 5;
/// A main number has at least this many characters (`+` and 7 digits).
const MIN_MAIN: usize = 8;

impl Directory {
    /// Looks up a caller's number; `Err` when it is not a phone number.
    pub fn lookup_phone(&self, input: &str) -> Result<PhoneLookup, String> {
        let parsed = parse_phone(input, &self.region)?;
        let mut best = Best::new();
        let offer = |best: &mut Best, refs: &[PhoneRef], base: f64, number: &str, matched: &str| {
            // A number several customers share says less about each.
            let customers = {
                let mut ids: Vec<u32> = refs.iter().map(|r| r.entry).collect();
                ids.sort_unstable();
                ids.dedup();
                ids.len()
            };
            for r in refs {
                let kind = match r.kind {
                    PhoneKind::Customer => 1.0,
                    PhoneKind::ContactPerson => 0.95,
                    PhoneKind::Fax => 0.6,
                };
                let c = base * kind / customers as f64;
                let key = (r.entry, number.to_owned());
                if best.get(&key).is_none_or(|b| b.0 < c) {
                    best.insert(key, (c, number.to_owned(), matched.to_owned(), r.clone()));
                }
            }
        };
        if let Some(refs) = self.phones.get(&parsed.e164) {
            offer(&mut best, refs, 1.0, &parsed.e164, "exact");
        }
        // The caller wrote an extension: the company's main number.
        if let Some(base) = &parsed.base {
            if let Some(refs) = self.phones.get(base) {
                offer(&mut best, refs, 0.9, base, "main_number");
            }
            if let Some(refs) = self.switchboards.get(base) {
                offer(&mut best, refs, 0.9, &format!("{base}0"), "main_number");
            }
        }
        // Then the longest prefix: the caller's number is an extension of a stored main
        // number (or of a switchboard number written with `-0`).
        let n = &parsed.e164;
        let shortest = n.len().saturating_sub(MAX_EXTENSION).max(MIN_MAIN);
        let exact_found = !best.is_empty();
        for len in (shortest..n.len()).rev().filter(|_| !exact_found) {
            let prefix = &n[..len];
            let extra = (n.len() - len) as f64;
            let mut found = false;
            if let Some(refs) = self.phones.get(prefix) {
                offer(
                    &mut best,
                    refs,
                    0.85 - 0.05 * (extra - 1.0),
                    prefix,
                    "main_number",
                );
                found = true;
            }
            if let Some(refs) = self.switchboards.get(prefix) {
                offer(
                    &mut best,
                    refs,
                    0.8 - 0.05 * (extra - 1.0),
                    &format!("{prefix}0"),
                    "main_number",
                );
                found = true;
            }
            if found {
                break;
            }
        }
        let mut candidates: Vec<PhoneCandidate> = Vec::new();
        for ((entry, _), (confidence, number, matched, r)) in best {
            let e = &self.entries[entry as usize];
            // One candidate per customer: its best match.
            if let Some(c) = candidates.iter_mut().find(|c| c.customer_id == e.id) {
                if c.confidence >= confidence {
                    continue;
                }
                candidates.retain(|c| c.customer_id != e.id);
            }
            candidates.push(PhoneCandidate {
                customer_id: e.id,
                name: e.name.clone(),
                confidence: (confidence * 1000.0).round() / 1000.0,
                matched_number: number,
                matched,
                via: match r.kind {
                    PhoneKind::Customer => "customer",
                    PhoneKind::ContactPerson => "contact_person",
                    PhoneKind::Fax => "fax",
                }
                .to_owned(),
                contact: r.contact.clone(),
                roles: e.roles(),
            });
        }
        candidates.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then(a.customer_id.cmp(&b.customer_id))
        });
        Ok(PhoneLookup {
            number: parsed.e164,
            candidates,
        })
    }
}
