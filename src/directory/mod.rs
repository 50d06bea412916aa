//! The in-memory directory of merged customers: search (customer number, name with typos
//! and umlauts, city, VAT ID, phone, e-mail, document number) and the caller-ID lookup. It is
//! built from the store after every resolution (the API server reloads it when the store's
//! identity generation moves) and answers without touching the database, except for document
//! numbers.
//!
//! It is compact (issue 17, target 3: ≤ 1 KB per customer): every text is interned once in
//! one buffer and referred to by a 4-byte symbol; phone numbers are integers; every index is
//! a sorted array searched by bisection (no hash map of strings, no per-entry allocations).

mod build;
mod load;
mod phone;
mod search;
#[cfg(test)]
mod tests;

pub use phone::{PhoneCandidate, PhoneLookup};
pub use search::{Match, SearchError, SearchHit, SearchPage};

use crate::identity::{KeyId, MatchedOn};
use crate::store::KeyRow;
use std::collections::BTreeMap;
use string_interner::StringInterner;
use string_interner::backend::BufferBackend;
use string_interner::symbol::SymbolU32;

/// A text in the directory's buffer.
type Sym = SymbolU32;

/// The directory's texts, each once.
#[derive(Debug)]
struct Strings(StringInterner<BufferBackend<Sym>>);

impl Default for Strings {
    fn default() -> Self {
        Strings(StringInterner::new())
    }
}

impl std::ops::Deref for Strings {
    type Target = StringInterner<BufferBackend<Sym>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Strings {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// One merged customer as the directory knows it (a copy; the directory keeps it compact).
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub id: i64,
    pub name: Option<String>,
    pub keys: Vec<KeyId>,
    pub city: Option<String>,
    pub postcode: Option<String>,
    /// Known from supplier records (we buy from it).
    pub supplier: bool,
    /// Known from customer records, or from documents only.
    pub customer: bool,
}

/// What a party is to us: `customer`, `supplier` or both. A party known from documents only
/// is a customer (as before suppliers existed).
fn roles(customer: bool, supplier: bool) -> Vec<String> {
    let mut out = Vec::new();
    if customer || !supplier {
        out.push("customer".to_owned());
    }
    if supplier {
        out.push("supplier".to_owned());
    }
    out
}

impl Entry {
    pub fn roles(&self) -> Vec<String> {
        roles(self.customer, self.supplier)
    }
}

/// Where a phone number of a customer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PhoneKind {
    Customer,
    Fax,
    ContactPerson,
}

/// Which field a search term came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    CustomerNo,
    Name,
    City,
    Postcode,
    VatId,
    Email,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::CustomerNo => "customer_no",
            Field::Name => "name",
            Field::City => "city",
            Field::Postcode => "postcode",
            Field::VatId => "vat_id",
            Field::Email => "email",
        }
    }
}

/// A merged customer: its texts by symbol, its keys a range of [`Directory::keys`].
#[derive(Debug, Clone, Copy)]
struct Slot {
    id: i64,
    name: Option<Sym>,
    city: Option<Sym>,
    postcode: Option<Sym>,
    keys: u32,
    key_count: u32,
    supplier: bool,
    customer: bool,
}

/// How a source customer joined its merged customer ([`KeyRow::matched_on`]).
#[derive(Debug, Clone, Copy)]
struct Matched {
    rule: Sym,
    value: Sym,
    via_system: Sym,
    via_no: Sym,
}

/// A source customer number of a merged customer ([`KeyRow`] without the fingerprint, which
/// only the resolution reads).
#[derive(Debug, Clone, Copy)]
struct Key {
    system: Sym,
    no: Sym,
    home_id: i64,
    rule: Sym,
    matched: Option<Matched>,
}

/// An original value of an entry's field, for "what matched".
#[derive(Debug, Clone, Copy)]
struct Value {
    entry: u32,
    text: Sym,
    field: Field,
}

/// An entry's field holds a value (by index into [`Directory::values`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Posting {
    entry: u32,
    field: Field,
    value: u32,
}

/// A phone number (see [`phone::encode`]) of an entry.
#[derive(Debug, Clone, Copy)]
struct Phone {
    number: u64,
    entry: u32,
    contact: Option<Sym>,
    kind: PhoneKind,
}

/// Per connector, its last successful run.
pub type Successes = std::sync::Arc<BTreeMap<String, chrono::DateTime<chrono::Utc>>>;

/// One built index of merged customers: the directory's base (a full load) or the customers
/// changed since (see [`Directory`]).
#[derive(Debug, Default)]
struct Index {
    strings: Strings,
    /// Sorted by id.
    entries: Vec<Slot>,
    /// Grouped by entry, in the store's order.
    keys: Vec<Key>,
    /// (system, customer number, entry), sorted.
    key_index: Vec<(Sym, Sym, u32)>,
    values: Vec<Value>,
    /// Exact identifiers (customer numbers lower-cased, postcodes, VAT IDs, e-mails), sorted
    /// by key.
    exact: Vec<(Sym, Posting)>,
    /// Sorted by number, so a search for the start of a number (`0221 4711`) finds its
    /// extensions.
    phones: Vec<Phone>,
    /// Searchable words (folded), sorted; term `t`'s postings are
    /// `postings[term_postings[t]..term_postings[t + 1]]`.
    terms: Vec<Sym>,
    term_postings: Vec<u32>,
    postings: Vec<Posting>,
    /// Trigram → terms: `gram_terms[gram_start[g]..gram_start[g + 1]]` for `grams[g]`.
    grams: Vec<u64>,
    gram_start: Vec<u32>,
    gram_terms: Vec<u32>,
    /// (Kölner Phonetik code, term), sorted.
    phonetic: Vec<(Sym, u32)>,
    /// Bytes of distinct text in `strings` (with each one's length prefix, at most 5).
    text_bytes: usize,
}

/// An entry of one of the directory's two indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct At {
    /// In the index of the changed customers (else the base).
    delta: bool,
    idx: u32,
}

/// The directory: a base built by a full load and, after syncs, the customers changed since
/// (issue 17, target 3: a reload after a sync reads only what changed). The base's entries of
/// changed customers are hidden; the changes hold them as they are now (if they still
/// exist). Every lookup asks both.
#[derive(Debug, Default)]
pub struct Directory {
    pub generation: i64,
    base: std::sync::Arc<Index>,
    delta: Index,
    /// Customers changed since the base was built, sorted.
    changed: Vec<i64>,
    /// Entries shown: the base's not changed, and the changes'.
    live: usize,
    systems: BTreeMap<String, String>,
    successes: std::sync::RwLock<Successes>,
    pub region: String,
    /// The field policy and phone region the base was built with ([`load::settings`]).
    settings: String,
}

impl Directory {
    /// Customers read again since the last full load.
    pub fn changed_since_load(&self) -> usize {
        self.changed.len()
    }

    fn index(&self, delta: bool) -> &Index {
        if delta { &self.delta } else { &self.base }
    }

    /// Whether an entry is shown: the base's only if its customer did not change since.
    fn live(&self, at: At) -> bool {
        at.delta
            || self
                .changed
                .binary_search(&self.base.entries[at.idx as usize].id)
                .is_err()
    }

    /// The entry of customer `id`.
    fn find(&self, id: i64) -> Option<At> {
        if let Some(idx) = self.delta.index_of(id) {
            return Some(At { delta: true, idx });
        }
        if self.changed.binary_search(&id).is_ok() {
            return None;
        }
        self.base.index_of(id).map(|idx| At { delta: false, idx })
    }

    /// The entry a source customer number belongs to.
    fn entry_of(&self, connector: &str, customer_no: Option<&str>) -> Option<At> {
        let system = self.systems.get(connector)?;
        let no = customer_no?;
        [true, false]
            .into_iter()
            .filter_map(|delta| {
                let idx = self.index(delta).entry_of(system, no)?;
                Some(At { delta, idx })
            })
            .find(|at| self.live(*at))
    }

    fn slot(&self, at: At) -> &Slot {
        &self.index(at.delta).entries[at.idx as usize]
    }

    fn name_of(&self, at: At) -> Option<&str> {
        self.index(at.delta).name_of(at.idx)
    }

    fn roles_of(&self, at: At) -> Vec<String> {
        let e = self.slot(at);
        roles(e.customer, e.supplier)
    }

    fn key_ids(&self, at: At) -> Vec<KeyId> {
        self.index(at.delta).key_ids(at.idx)
    }

    pub fn len(&self) -> usize {
        self.live
    }

    /// What the directory's own structures take on the heap, in bytes: its arrays by
    /// capacity, its texts with their length prefixes, and the interner's table (≈ 9 bytes
    /// per text: a 4-byte symbol and a control byte at a load of ⅞, rounded up).
    pub fn heap_bytes(&self) -> usize {
        let systems: usize = self
            .systems
            .iter()
            .map(|(c, s)| c.len() + s.len() + 64)
            .sum();
        self.base.heap_bytes()
            + self.delta.heap_bytes()
            + self.changed.capacity() * 8
            + systems
            + std::mem::size_of_val(self)
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn contains(&self, id: i64) -> bool {
        self.find(id).is_some()
    }

    /// A copy of what the directory knows of customer `id`.
    pub fn entry(&self, id: i64) -> Option<Entry> {
        let at = self.find(id)?;
        let ix = self.index(at.delta);
        let e = self.slot(at);
        Some(Entry {
            id,
            name: ix.opt_text(e.name),
            keys: ix.key_ids(at.idx),
            city: ix.opt_text(e.city),
            postcode: ix.opt_text(e.postcode),
            supplier: e.supplier,
            customer: e.customer,
        })
    }

    /// What the merged view of a customer in the directory needs besides its records.
    pub fn known(&self, id: i64) -> Option<crate::view::Known<'_>> {
        let at = self.find(id)?;
        Some(crate::view::Known {
            keys: std::borrow::Cow::Owned(self.index(at.delta).key_rows(at.idx)),
            systems: &self.systems,
            successes: self.successes(),
            generation: Some(self.generation),
        })
    }

    /// The last successful run per connector as of the last load or [`Self::set_successes`].
    pub fn successes(&self) -> Successes {
        self.successes
            .read()
            .map(|s| std::sync::Arc::clone(&s))
            .unwrap_or_default()
    }

    /// Runs that changed nothing do not reload the directory; their success is noted here.
    pub fn set_successes(&self, s: BTreeMap<String, chrono::DateTime<chrono::Utc>>) {
        if let Ok(mut slot) = self.successes.write() {
            *slot = std::sync::Arc::new(s);
        }
    }

    /// The customer a source customer number belongs to.
    pub fn customer_of(&self, connector: &str, customer_no: &str) -> Option<i64> {
        self.entry_of(connector, Some(customer_no))
            .map(|at| self.slot(at).id)
    }
}

impl Index {
    fn text(&self, s: Sym) -> &str {
        self.strings.resolve(s).unwrap_or_default()
    }

    fn opt_text(&self, s: Option<Sym>) -> Option<String> {
        s.map(|s| self.text(s).to_owned())
    }

    /// The entry of a source customer number of `system`.
    fn entry_of(&self, system: &str, customer_no: &str) -> Option<u32> {
        let system = self.strings.get(system)?;
        let no = self.strings.get(customer_no)?;
        let i = self
            .key_index
            .binary_search_by(|k| (k.0, k.1).cmp(&(system, no)))
            .ok()?;
        Some(self.key_index[i].2)
    }

    fn index_of(&self, id: i64) -> Option<u32> {
        self.entries
            .binary_search_by_key(&id, |e| e.id)
            .ok()
            .map(|i| i as u32)
    }

    fn slot_keys(&self, slot: &Slot) -> &[Key] {
        let start = slot.keys as usize;
        &self.keys[start..start + slot.key_count as usize]
    }

    fn key_id(&self, system: Sym, no: Sym) -> KeyId {
        KeyId::new(self.text(system), self.text(no))
    }

    /// `system:number` of the entry's source customers, in the store's order.
    fn key_ids(&self, idx: u32) -> Vec<KeyId> {
        let slot = &self.entries[idx as usize];
        self.slot_keys(slot)
            .iter()
            .map(|k| self.key_id(k.system, k.no))
            .collect()
    }

    fn name_of(&self, idx: u32) -> Option<&str> {
        self.entries[idx as usize].name.map(|s| self.text(s))
    }

    /// The heap of [`Directory::heap_bytes`] for one index.
    fn heap_bytes(&self) -> usize {
        fn vec<T>(v: &Vec<T>) -> usize {
            v.capacity() * std::mem::size_of::<T>()
        }
        let arrays = vec(&self.entries)
            + vec(&self.keys)
            + vec(&self.key_index)
            + vec(&self.values)
            + vec(&self.exact)
            + vec(&self.phones)
            + vec(&self.terms)
            + vec(&self.term_postings)
            + vec(&self.postings)
            + vec(&self.grams)
            + vec(&self.gram_start)
            + vec(&self.gram_terms)
            + vec(&self.phonetic);
        arrays + self.text_bytes + self.strings.len() * 9
    }

    /// The entry's keys as stored (with how they joined), for the merged view.
    fn key_rows(&self, idx: u32) -> Vec<KeyRow> {
        let slot = &self.entries[idx as usize];
        self.slot_keys(slot)
            .iter()
            .map(|k| KeyRow {
                key: self.key_id(k.system, k.no),
                customer_id: slot.id,
                home_id: k.home_id,
                rule: self.text(k.rule).to_owned(),
                matched_on: k.matched.map(|m| MatchedOn {
                    rule: self.text(m.rule).to_owned(),
                    value: self.text(m.value).to_owned(),
                    via: self.key_id(m.via_system, m.via_no),
                }),
                attrs: None,
            })
            .collect()
    }

    /// The index range of the items of a sorted array whose key equals `key`.
    fn equal_range<T, K: Ord>(
        items: &[T],
        key: &K,
        of: impl Fn(&T) -> K,
    ) -> std::ops::Range<usize> {
        let start = items.partition_point(|t| of(t) < *key);
        let end = start + items[start..].partition_point(|t| of(t) == *key);
        start..end
    }
}
