//! Building the compact directory: collect what each customer says into flat lists, then
//! sort them into the arrays the lookups bisect.

use super::{Directory, Field, Key, Matched, Phone, PhoneKind, Posting, Slot, Sym, Value, phone};
use crate::identity::attrs::{CustomerRow, normalise_vat};
use crate::identity::normalize::{fold, koelner_phonetik, trigrams};
use crate::model::typed::Customer;
use crate::store::KeyRow;
use crate::view::Policy;
use std::collections::BTreeMap;

/// The texts of one directory fit in one buffer addressed by 32-bit offsets; this much is
/// left as a margin (a directory this large, ~10 M customers, needs several nodes anyway).
const MAX_TEXT_BYTES: usize = (u32::MAX as usize) - (64 << 20);

#[derive(Debug, thiserror::Error)]
#[error(
    "the directory's texts exceed {} MiB: too many customers for one node's memory",
    MAX_TEXT_BYTES >> 20
)]
pub struct TooLarge;

struct Builder<'p> {
    d: Directory,
    text_bytes: usize,
    /// (word, posting) before the words are sorted into terms.
    words: Vec<(Sym, Posting)>,
    policy: &'p Policy,
}

impl Builder<'_> {
    fn sym(&mut self, s: &str) -> Result<Sym, TooLarge> {
        if let Some(sym) = self.d.strings.get(s) {
            return Ok(sym);
        }
        // The buffer holds the length (a varint of ≤ 5 bytes) and the bytes.
        self.text_bytes += s.len() + 5;
        if self.text_bytes > MAX_TEXT_BYTES {
            return Err(TooLarge);
        }
        Ok(self.d.strings.get_or_intern(s))
    }

    fn opt_sym(&mut self, s: Option<&str>) -> Result<Option<Sym>, TooLarge> {
        s.map(|s| self.sym(s)).transpose()
    }

    /// The entry's value `original` of `field` (one per distinct text: values of an entry
    /// are pushed together, `from` is where its values start).
    fn value(
        &mut self,
        from: usize,
        idx: u32,
        field: Field,
        original: &str,
    ) -> Result<u32, TooLarge> {
        let text = self.sym(original)?;
        let values = &mut self.d.values;
        if let Some(i) = values[from..]
            .iter()
            .position(|v| v.entry == idx && v.field == field && v.text == text)
        {
            return Ok((from + i) as u32);
        }
        values.push(Value {
            entry: idx,
            text,
            field,
        });
        Ok((values.len() - 1) as u32)
    }

    fn exact(
        &mut self,
        from: usize,
        key: &str,
        idx: u32,
        field: Field,
        original: &str,
    ) -> Result<(), TooLarge> {
        if key.is_empty() {
            return Ok(());
        }
        let value = self.value(from, idx, field, original)?;
        let key = self.sym(key)?;
        let posting = Posting {
            entry: idx,
            field,
            value,
        };
        self.d.exact.push((key, posting));
        Ok(())
    }

    fn words(&mut self, from: usize, text: &str, idx: u32, field: Field) -> Result<(), TooLarge> {
        let value = self.value(from, idx, field, text)?;
        for w in fold(text).split(' ').filter(|w| !w.is_empty()) {
            let word = self.sym(w)?;
            let posting = Posting {
                entry: idx,
                field,
                value,
            };
            self.words.push((word, posting));
        }
        Ok(())
    }

    fn phone(
        &mut self,
        number: &str,
        idx: u32,
        kind: PhoneKind,
        contact: Option<&str>,
    ) -> Result<(), TooLarge> {
        // Only numbers in E.164 can ever match a looked-up number (always E.164).
        let Some(number) = phone::encode(number) else {
            return Ok(());
        };
        let contact = self.opt_sym(contact)?;
        self.d.phones.push(Phone {
            number,
            entry: idx,
            contact,
            kind,
        });
        Ok(())
    }

    /// The entries, their keys and customer numbers, from the store's key rows.
    fn keys(&mut self, keys: &[KeyRow]) -> Result<(), TooLarge> {
        let mut order: Vec<&KeyRow> = keys.iter().collect();
        order.sort_by_key(|k| k.customer_id);
        // Where the values of the current entry's customer numbers start.
        let mut from = 0;
        for k in order {
            if self.d.entries.last().is_none_or(|e| e.id != k.customer_id) {
                from = self.d.values.len();
                self.d.entries.push(Slot {
                    id: k.customer_id,
                    name: None,
                    city: None,
                    postcode: None,
                    keys: self.d.keys.len() as u32,
                    key_count: 0,
                    supplier: false,
                    customer: false,
                });
            }
            let idx = (self.d.entries.len() - 1) as u32;
            let system = self.sym(&k.key.system)?;
            let no = self.sym(&k.key.customer_no)?;
            let rule = self.sym(&k.rule)?;
            let matched = match &k.matched_on {
                None => None,
                Some(m) => Some(Matched {
                    rule: self.sym(&m.rule)?,
                    value: self.sym(&m.value)?,
                    via_system: self.sym(&m.via.system)?,
                    via_no: self.sym(&m.via.customer_no)?,
                }),
            };
            self.d.keys.push(Key {
                system,
                no,
                home_id: k.home_id,
                rule,
                matched,
            });
            let slot = &mut self.d.entries[idx as usize];
            slot.key_count += 1;
            self.d.key_index.push((system, no, idx));
            self.exact(
                from,
                &k.key.customer_no.to_lowercase(),
                idx,
                Field::CustomerNo,
                &k.key.customer_no,
            )?;
        }
        self.d.key_index.sort_unstable();
        // One entry per key: the first, as a key belongs to one customer.
        self.d.key_index.dedup_by_key(|k| (k.0, k.1));
        Ok(())
    }

    /// Name and address as the merged view shows them; every source's values searchable.
    fn customer(&mut self, idx: u32, recs: &[&CustomerRow]) -> Result<(), TooLarge> {
        let policy = self.policy;
        // The field policy decides which source's name and address the entry shows.
        let pick = |field: &str, has: &dyn Fn(&Customer) -> bool| {
            recs.iter()
                .filter(|r| has(&r.data))
                .min_by_key(|r| (policy.rank(field, &r.connector, r.synced_at), &r.connector))
                .map(|r| &r.data)
        };
        let name = pick("name", &|d| d.name.is_some()).and_then(|d| d.name.as_deref());
        let addr = pick("address", &|d| d.address != Default::default()).map(|d| &d.address);
        let slot = Slot {
            name: self.opt_sym(name)?,
            city: self.opt_sym(addr.and_then(|a| a.city.as_deref()))?,
            postcode: self.opt_sym(addr.and_then(|a| a.postcode.as_deref()))?,
            supplier: recs.iter().any(|r| r.entity == "supplier"),
            customer: recs.iter().any(|r| r.entity != "supplier"),
            ..self.d.entries[idx as usize]
        };
        self.d.entries[idx as usize] = slot;
        let from = self.d.values.len();
        for r in recs {
            let data = &r.data;
            for v in [&data.name, &data.name2].into_iter().flatten() {
                self.words(from, v, idx, Field::Name)?;
            }
            if let Some(c) = &data.address.city {
                self.words(from, c, idx, Field::City)?;
            }
            if let Some(p) = &data.address.postcode {
                self.exact(from, &p.to_lowercase(), idx, Field::Postcode, p)?;
            }
            if let Some(v) = &data.vat_id {
                self.exact(from, &normalise_vat(v).to_lowercase(), idx, Field::VatId, v)?;
            }
            if let Some(v) = &data.email {
                self.exact(from, &v.to_lowercase(), idx, Field::Email, v)?;
            }
            for p in &data.phones {
                self.phone(p, idx, PhoneKind::Customer, None)?;
            }
            if let Some(f) = &data.fax {
                self.phone(f, idx, PhoneKind::Fax, None)?;
            }
        }
        Ok(())
    }

    /// Sorts the collected words into terms with their postings, trigrams and sounds.
    fn terms(&mut self) -> Result<(), TooLarge> {
        let d = &mut self.d;
        let mut terms: Vec<Sym> = self.words.iter().map(|w| w.0).collect();
        terms.sort_unstable();
        terms.dedup();
        terms.sort_by(|a, b| d.text(*a).cmp(d.text(*b)));
        let mut id_of: Vec<(Sym, u32)> = terms
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, i as u32))
            .collect();
        id_of.sort_unstable();
        let id = |s: Sym| id_of[id_of.partition_point(|x| x.0 < s)].1;
        let mut postings: Vec<(u32, Posting)> = std::mem::take(&mut self.words)
            .into_iter()
            .map(|(w, p)| (id(w), p))
            .collect();
        // Per term and entry, a field once (with its first value).
        postings.sort_unstable();
        postings.dedup_by_key(|(t, p)| (*t, p.entry, p.field));
        d.term_postings = Vec::with_capacity(terms.len() + 1);
        let mut at = 0;
        for t in 0..terms.len() as u32 {
            d.term_postings.push(at as u32);
            while at < postings.len() && postings[at].0 == t {
                at += 1;
            }
        }
        d.term_postings.push(at as u32);
        d.postings = postings.into_iter().map(|(_, p)| p).collect();
        let mut grams: Vec<(u64, u32)> = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            grams.extend(trigrams(d.text(*t)).iter().map(|g| (gram(g), i as u32)));
        }
        grams.sort_unstable();
        grams.dedup();
        for (i, (g, t)) in grams.iter().enumerate() {
            if d.grams.last() != Some(g) {
                d.grams.push(*g);
                d.gram_start.push(i as u32);
            }
            d.gram_terms.push(*t);
        }
        d.gram_start.push(grams.len() as u32);
        let codes: Vec<(String, u32)> = terms
            .iter()
            .enumerate()
            .map(|(i, t)| (koelner_phonetik(d.text(*t)), i as u32))
            .filter(|(c, _)| !c.is_empty())
            .collect();
        d.terms = terms;
        for (code, t) in codes {
            let code = self.sym(&code)?;
            self.d.phonetic.push((code, t));
        }
        self.d.phonetic.sort_unstable();
        Ok(())
    }
}

/// A trigram as a number: three characters of 21 bits each (longer grams, which
/// [`trigrams`] does not make, are cut).
pub(super) fn gram(g: &str) -> u64 {
    g.chars()
        .take(3)
        .fold(0u64, |acc, c| (acc << 21) | u64::from(u32::from(c)))
}

impl Directory {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn build(
        generation: i64,
        keys: &[KeyRow],
        systems: BTreeMap<String, String>,
        customers: &[CustomerRow],
        contacts: &[CustomerRow],
        policy: &Policy,
        region: &str,
    ) -> Result<Self, TooLarge> {
        let mut b = Builder {
            d: Directory {
                generation,
                systems,
                region: region.to_owned(),
                ..Directory::default()
            },
            text_bytes: 0,
            words: Vec::new(),
            policy,
        };
        b.keys(keys)?;
        let mut per_entry: Vec<(u32, &CustomerRow)> = customers
            .iter()
            .filter_map(|r| Some((b.d.entry_of(&r.connector, Some(&r.customer_no))?, r)))
            .collect();
        per_entry.sort_by_key(|(idx, _)| *idx);
        for group in per_entry.chunk_by(|a, b| a.0 == b.0) {
            let recs: Vec<&CustomerRow> = group.iter().map(|(_, r)| *r).collect();
            b.customer(group[0].0, &recs)?;
        }
        for r in contacts {
            let Some(idx) = b.d.entry_of(&r.connector, Some(&r.customer_no)) else {
                continue;
            };
            for p in &r.data.phones {
                b.phone(p, idx, PhoneKind::ContactPerson, r.data.name.as_deref())?;
            }
        }
        b.terms()?;
        let mut d = b.d;
        // Per key an entry's field once, with its first value.
        d.exact.sort_unstable();
        d.exact.dedup_by_key(|(k, p)| (*k, p.entry, p.field));
        // Per number an entry's kind of phone once (the first: its contact person).
        d.phones.sort_by_key(|p| (p.number, p.entry, p.kind));
        d.phones.dedup_by_key(|p| (p.number, p.entry, p.kind));
        d.strings.shrink_to_fit();
        for v in [&mut d.gram_start, &mut d.gram_terms, &mut d.term_postings] {
            v.shrink_to_fit();
        }
        d.entries.shrink_to_fit();
        d.keys.shrink_to_fit();
        d.key_index.shrink_to_fit();
        d.values.shrink_to_fit();
        d.exact.shrink_to_fit();
        d.phones.shrink_to_fit();
        d.terms.shrink_to_fit();
        d.postings.shrink_to_fit();
        d.grams.shrink_to_fit();
        d.phonetic.shrink_to_fit();
        Ok(d)
    }
}
