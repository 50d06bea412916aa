//! Building the compact directory: collect what each customer says into flat lists, then
//! sort them into the arrays the lookups bisect.

#[cfg(test)]
use super::Directory;
use super::{Field, Index, Key, Matched, Phone, PhoneKind, Posting, Slot, Sym, Value, phone};
use crate::identity::attrs::{CustomerRow, normalise_vat};
use crate::identity::normalize::{fold, koelner_phonetik, trigrams};
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

/// A field policy's rank of a source ([`Policy::rank`]).
type Rank = (usize, i64);

/// The sources an entry's name and address come from so far.
#[derive(Debug, Clone, Copy, Default)]
struct Pick {
    name: Option<(Rank, Sym)>,
    address: Option<(Rank, Sym)>,
}

pub(super) struct Builder<'p> {
    d: Index,
    /// connector → system, as the store has it.
    systems: &'p BTreeMap<String, String>,
    /// Per entry, while records come in.
    picks: Vec<Pick>,
    text_bytes: usize,
    /// (word, posting) before the words are sorted into terms.
    words: Vec<(Sym, Posting)>,
    policy: &'p Policy,
    /// The first error; what comes after it is ignored.
    failed: Option<TooLarge>,
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

    /// The entry's value `original` of `field` (duplicates are merged by [`Self::values`]).
    fn value(&mut self, idx: u32, field: Field, original: &str) -> Result<u32, TooLarge> {
        let text = self.sym(original)?;
        self.d.values.push(Value {
            entry: idx,
            text,
            field,
        });
        Ok((self.d.values.len() - 1) as u32)
    }

    fn exact(&mut self, key: &str, idx: u32, field: Field, original: &str) -> Result<(), TooLarge> {
        if key.is_empty() {
            return Ok(());
        }
        let value = self.value(idx, field, original)?;
        let key = self.sym(key)?;
        let posting = Posting {
            entry: idx,
            field,
            value,
        };
        self.d.exact.push((key, posting));
        Ok(())
    }

    fn words(&mut self, text: &str, idx: u32, field: Field) -> Result<(), TooLarge> {
        let value = self.value(idx, field, text)?;
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
        for k in order {
            if self.d.entries.last().is_none_or(|e| e.id != k.customer_id) {
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

    /// A customer or supplier record of entry `idx`: its name and address if the field
    /// policy ranks its source first (as the merged view shows them), every value searchable.
    fn record(&mut self, idx: u32, r: &CustomerRow) -> Result<(), TooLarge> {
        let data = &r.data;
        let connector = self.sym(&r.connector)?;
        let i = idx as usize;
        if self.picks.len() <= i {
            self.picks.resize(i + 1, Pick::default());
        }
        let rank = |field: &str| self.policy.rank(field, &r.connector, r.synced_at);
        let (name_rank, addr_rank) = (rank("name"), rank("address"));
        let slot = &mut self.d.entries[i];
        if r.entity == "supplier" {
            slot.supplier = true;
        } else {
            slot.customer = true;
        }
        if let Some(name) = &data.name
            && self.beats(self.picks[i].name, name_rank, connector)
        {
            self.picks[i].name = Some((name_rank, connector));
            self.d.entries[i].name = Some(self.sym(name)?);
        }
        let address = &data.address;
        if *address != Default::default() && self.beats(self.picks[i].address, addr_rank, connector)
        {
            self.picks[i].address = Some((addr_rank, connector));
            let city = self.opt_sym(address.city.as_deref())?;
            let postcode = self.opt_sym(address.postcode.as_deref())?;
            let slot = &mut self.d.entries[i];
            (slot.city, slot.postcode) = (city, postcode);
        }
        // Every source's values are searchable, not only the shown ones.
        for v in [&data.name, &data.name2].into_iter().flatten() {
            self.words(v, idx, Field::Name)?;
        }
        if let Some(c) = &address.city {
            self.words(c, idx, Field::City)?;
        }
        if let Some(p) = &address.postcode {
            self.exact(&p.to_lowercase(), idx, Field::Postcode, p)?;
        }
        if let Some(v) = &data.vat_id {
            self.exact(&normalise_vat(v).to_lowercase(), idx, Field::VatId, v)?;
        }
        if let Some(v) = &data.email {
            self.exact(&v.to_lowercase(), idx, Field::Email, v)?;
        }
        for p in &data.phones {
            self.phone(p, idx, PhoneKind::Customer, None)?;
        }
        if let Some(f) = &data.fax {
            self.phone(f, idx, PhoneKind::Fax, None)?;
        }
        Ok(())
    }

    /// Whether a source of rank `rank` beats the one picked so far (rank, then connector).
    fn beats(&self, picked: Option<(Rank, Sym)>, rank: Rank, connector: Sym) -> bool {
        picked.is_none_or(|(r, c)| (rank, self.d.text(connector)) < (r, self.d.text(c)))
    }

    fn contact(&mut self, idx: u32, r: &CustomerRow) -> Result<(), TooLarge> {
        for p in &r.data.phones {
            self.phone(p, idx, PhoneKind::ContactPerson, r.data.name.as_deref())?;
        }
        Ok(())
    }

    /// Merges values of an entry's field with the same text (several sources say the same)
    /// and points the postings at the one left. The merged values keep the order in which
    /// their texts first came, so "the first value" of an index key stays the first added.
    fn values(&mut self) {
        let values = std::mem::take(&mut self.d.values);
        let same = |v: &Value| (v.entry, v.field, v.text);
        let mut order: Vec<u32> = (0..values.len() as u32).collect();
        order.sort_unstable_by_key(|&i| (same(&values[i as usize]), i));
        // Per group of equal values its first (lowest) index, and each value's group.
        let mut firsts: Vec<u32> = Vec::new();
        let mut group_of = vec![0u32; values.len()];
        for (n, &i) in order.iter().enumerate() {
            if n == 0 || same(&values[order[n - 1] as usize]) != same(&values[i as usize]) {
                firsts.push(i);
            }
            group_of[i as usize] = (firsts.len() - 1) as u32;
        }
        drop(order);
        let mut groups: Vec<u32> = (0..firsts.len() as u32).collect();
        groups.sort_unstable_by_key(|&g| firsts[g as usize]);
        let mut new_id = vec![0u32; firsts.len()];
        for (id, &g) in groups.iter().enumerate() {
            new_id[g as usize] = id as u32;
        }
        for (_, p) in self.d.exact.iter_mut().chain(self.words.iter_mut()) {
            p.value = new_id[group_of[p.value as usize] as usize];
        }
        self.d.values = groups
            .iter()
            .map(|&g| values[firsts[g as usize] as usize])
            .collect();
    }

    /// Sorts the collected words into terms with their postings, trigrams and sounds.
    fn terms(&mut self) -> Result<(), TooLarge> {
        let d = &mut self.d;
        let mut terms: Vec<Sym> = self.words.iter().map(|w| w.0).collect();
        // By text; a text has one symbol, so equal symbols end up side by side.
        terms.sort_unstable_by(|a, b| d.text(*a).cmp(d.text(*b)));
        terms.dedup();
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

impl<'p> Builder<'p> {
    /// An index of the merged customers in `keys`; their records follow by [`Self::add`].
    pub(super) fn new(
        keys: &[KeyRow],
        systems: &'p BTreeMap<String, String>,
        policy: &'p Policy,
    ) -> Self {
        let mut b = Builder {
            d: Index::default(),
            systems,
            picks: Vec::new(),
            text_bytes: 0,
            words: Vec::new(),
            policy,
            failed: None,
        };
        if let Err(e) = b.keys(keys) {
            b.failed = Some(e);
        }
        b
    }

    /// A customer, supplier or contact person record, in any order.
    pub(super) fn add(&mut self, r: &CustomerRow) {
        if self.failed.is_some() {
            return;
        }
        let Some(idx) = self
            .systems
            .get(&r.connector)
            .and_then(|system| self.d.entry_of(system, &r.customer_no))
        else {
            return;
        };
        let done = if r.entity == "contact_person" {
            self.contact(idx, r)
        } else {
            self.record(idx, r)
        };
        if let Err(e) = done {
            self.failed = Some(e);
        }
    }

    pub(super) fn finish(mut self) -> Result<Index, TooLarge> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.values();
        self.terms()?;
        let mut d = self.d;
        d.text_bytes = self.text_bytes;
        // Per key an entry's field once (with its first value).
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

#[cfg(test)]
impl Directory {
    /// The directory of `keys` with the given records (customers, suppliers, contacts).
    pub(super) fn build(
        generation: i64,
        keys: &[KeyRow],
        systems: BTreeMap<String, String>,
        records: &[CustomerRow],
        policy: &Policy,
        region: &str,
    ) -> Result<Self, TooLarge> {
        let mut b = Builder::new(keys, &systems, policy);
        for r in records {
            b.add(r);
        }
        let base = b.finish()?;
        Ok(Directory::loaded(generation, base, systems, policy, region))
    }

    /// This directory with the customers `changed` read again: `keys` and `records` are
    /// theirs as they are now ([`Directory::refreshed`] without a store).
    pub(super) fn with_changed(
        &self,
        generation: i64,
        changed: &[i64],
        keys: &[KeyRow],
        records: &[CustomerRow],
        policy: &Policy,
    ) -> Result<Self, TooLarge> {
        let mut all = self.changed.clone();
        all.extend_from_slice(changed);
        all.sort_unstable();
        all.dedup();
        let keys: Vec<KeyRow> = keys
            .iter()
            .filter(|k| all.binary_search(&k.customer_id).is_ok())
            .cloned()
            .collect();
        let mut b = Builder::new(&keys, &self.systems, policy);
        for r in records {
            b.add(r);
        }
        Ok(self.with_changes(generation, all, b.finish()?))
    }
}
