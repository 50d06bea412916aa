//! Caller-ID lookup: any German or international notation to E.164, then the exact number,
//! then the company's main number for an extension (longest prefix).

use super::{At, Directory, Index, Phone, PhoneKind};
use crate::model::phone::parse_phone;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhoneCandidate {
    pub customer_id: i64,
    pub name: Option<String>,
    /// 0..1, best first.
    pub confidence: f64,
    /// The stored number that matched (E.164).
    pub matched_number: String,
    /// `exact`, or `main_number`: the caller dialled an extension of this stored main number
    /// (or of a switchboard number stored with `-0`).
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
type Best = HashMap<(At, u64), (f64, &'static str, Phone)>;

/// Extensions are at most this many digits.
const MAX_EXTENSION: usize = 5;
/// A main number has at least this many characters (`+` and 7 digits).
const MIN_MAIN: usize = 8;
/// Digits a number holds at most (E.164 allows 15).
const DIGITS: usize = 16;

/// A number in E.164 as an integer that sorts like its text: a nibble per digit (the digit
/// plus one), from the top, 0 after the last. `None` for anything else.
pub(super) fn encode(e164: &str) -> Option<u64> {
    let digits = e164.strip_prefix('+')?;
    if digits.is_empty() || digits.len() > DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().enumerate().fold(0u64, |acc, (i, b)| {
        acc | (u64::from(b - b'0' + 1) << (60 - 4 * i))
    }))
}

/// The E.164 text of an [`encode`]d number.
pub(super) fn decode(mut n: u64) -> String {
    let mut out = String::from("+");
    while n != 0 {
        out.push(char::from(b'0' + (n >> 60) as u8 - 1));
        n <<= 4;
    }
    out
}

/// Every number that begins with the encoded `prefix` of `digits` digits.
fn prefix_range(prefix: u64, digits: usize) -> std::ops::RangeInclusive<u64> {
    // `encode` holds 1..=16 digits: fewer than 64 bits rest.
    let rest = 4 * (DIGITS - digits.clamp(1, DIGITS));
    prefix..=prefix | ((1u64 << rest) - 1)
}

impl Index {
    /// The phones stored under exactly this number.
    fn phones_of(&self, number: u64) -> &[Phone] {
        &self.phones[Self::equal_range(&self.phones, &number, |p| p.number)]
    }

    /// The phones of a number written with a trailing `-0` (the switchboard) for `base`.
    fn switchboard_of(&self, base: &str) -> &[Phone] {
        match encode(&format!("{base}0")) {
            Some(n) if base.len() >= MIN_MAIN => self.phones_of(n),
            _ => &[],
        }
    }

    /// Stored numbers that begin with `number` (E.164) with a phone `keep` keeps, at most
    /// `limit` of them, each with those phones.
    fn phones_starting(
        &self,
        number: &str,
        limit: usize,
        keep: impl Fn(&Phone) -> bool,
    ) -> Vec<(u64, Vec<Phone>)> {
        let Some(prefix) = encode(number) else {
            return Vec::new();
        };
        let range = prefix_range(prefix, number.len() - 1);
        let start = self.phones.partition_point(|p| p.number < *range.start());
        let mut out: Vec<(u64, Vec<Phone>)> = Vec::new();
        let mut at = start;
        while at < self.phones.len() && range.contains(&self.phones[at].number) && out.len() < limit
        {
            let n = self.phones[at].number;
            let len = self.phones[at..].partition_point(|p| p.number == n);
            let kept: Vec<Phone> = self.phones[at..at + len]
                .iter()
                .filter(|p| keep(p))
                .copied()
                .collect();
            if !kept.is_empty() {
                out.push((n, kept));
            }
            at += len;
        }
        out
    }
}

impl Directory {
    /// The shown phones of both indexes a lookup in each gives.
    fn phones_in<'a>(&'a self, of: impl Fn(&'a Index) -> &'a [Phone]) -> Vec<(At, Phone)> {
        [false, true]
            .into_iter()
            .flat_map(|delta| {
                of(self.index(delta)).iter().map(move |p| {
                    let at = At {
                        delta,
                        idx: p.entry,
                    };
                    (at, *p)
                })
            })
            .filter(|(at, _)| self.live(*at))
            .collect()
    }

    /// Stored numbers that begin with `number` (E.164), at most `limit` of them, each with
    /// the entries it belongs to.
    pub(super) fn phones_starting(&self, number: &str, limit: usize) -> Vec<(u64, Vec<At>)> {
        let mut out: BTreeMap<u64, Vec<At>> = BTreeMap::new();
        for delta in [false, true] {
            let at = |p: &Phone| At {
                delta,
                idx: p.entry,
            };
            let shown = |p: &Phone| self.live(at(p));
            for (n, phones) in self.index(delta).phones_starting(number, limit, shown) {
                out.entry(n).or_default().extend(phones.iter().map(at));
            }
        }
        // The first `limit` shown numbers of each index: the first `limit` of both.
        out.into_iter().take(limit).collect()
    }

    /// Looks up a caller's number; `Err` when it is not a phone number.
    pub fn lookup_phone(&self, input: &str) -> Result<PhoneLookup, String> {
        let parsed = parse_phone(input, &self.region)?;
        let mut best = Best::new();
        let offer = |best: &mut Best, refs: &[(At, Phone)], base: f64, matched: &'static str| {
            // A number several customers share says less about each.
            let customers = {
                let mut ids: Vec<At> = refs.iter().map(|r| r.0).collect();
                ids.sort_unstable();
                ids.dedup();
                ids.len()
            };
            for (at, r) in refs {
                let kind = match r.kind {
                    PhoneKind::Customer => 1.0,
                    PhoneKind::ContactPerson => 0.95,
                    PhoneKind::Fax => 0.6,
                };
                let c = base * kind / customers as f64;
                let key = (*at, r.number);
                if best.get(&key).is_none_or(|b| b.0 < c) {
                    best.insert(key, (c, matched, *r));
                }
            }
        };
        if let Some(n) = encode(&parsed.e164) {
            offer(
                &mut best,
                &self.phones_in(|ix| ix.phones_of(n)),
                1.0,
                "exact",
            );
        }
        // The caller wrote an extension: the company's main number.
        if let Some(base) = &parsed.base {
            if let Some(n) = encode(base) {
                offer(
                    &mut best,
                    &self.phones_in(|ix| ix.phones_of(n)),
                    0.9,
                    "main_number",
                );
            }
            let switchboard = self.phones_in(|ix| ix.switchboard_of(base));
            offer(&mut best, &switchboard, 0.9, "main_number");
        }
        // Then the longest prefix: the caller's number is an extension of a stored main
        // number (or of a switchboard number written with `-0`).
        let n = &parsed.e164;
        let shortest = n.len().saturating_sub(MAX_EXTENSION).max(MIN_MAIN);
        let exact_found = !best.is_empty();
        for len in (shortest..n.len()).rev().filter(|_| !exact_found) {
            let prefix = &n[..len];
            let extra = (n.len() - len) as f64;
            let main = match encode(prefix) {
                Some(p) => self.phones_in(|ix| ix.phones_of(p)),
                None => Vec::new(),
            };
            let switchboard = self.phones_in(|ix| ix.switchboard_of(prefix));
            offer(&mut best, &main, 0.85 - 0.05 * (extra - 1.0), "main_number");
            offer(
                &mut best,
                &switchboard,
                0.8 - 0.05 * (extra - 1.0),
                "main_number",
            );
            if !main.is_empty() || !switchboard.is_empty() {
                break;
            }
        }
        let mut candidates: Vec<PhoneCandidate> = Vec::new();
        // By number, so that of a customer's equally good numbers the lowest is shown.
        let mut best: Vec<_> = best.into_iter().collect();
        best.sort_unstable_by_key(|((at, number), _)| (*number, *at));
        for ((at, _), (confidence, matched, r)) in best {
            let e = self.slot(at);
            // One candidate per customer: its best match.
            if let Some(c) = candidates.iter_mut().find(|c| c.customer_id == e.id) {
                if c.confidence >= confidence {
                    continue;
                }
                candidates.retain(|c| c.customer_id != e.id);
            }
            candidates.push(PhoneCandidate {
                customer_id: e.id,
                name: self.name_of(at).map(str::to_owned),
                confidence: (confidence * 1000.0).round() / 1000.0,
                matched_number: decode(r.number),
                matched: matched.to_owned(),
                via: match r.kind {
                    PhoneKind::Customer => "customer",
                    PhoneKind::ContactPerson => "contact_person",
                    PhoneKind::Fax => "fax",
                }
                .to_owned(),
                contact: r.contact.map(|c| self.index(at.delta).text(c).to_owned()),
                roles: self.roles_of(at),
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
