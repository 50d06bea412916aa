//! The in-memory directory of merged customers: search (customer number, name with typos
//! and umlauts, city, VAT ID, phone, e-mail, document number) and the caller-ID lookup. It is
//! built from the store after every resolution (the API server reloads it when the store's
//! identity generation moves) and answers without touching the database, except for document
//! numbers.

mod phone;
mod search;
#[cfg(test)]
mod tests;

pub use phone::{PhoneCandidate, PhoneLookup};
pub use search::{Match, SearchError, SearchHit, SearchPage};

use crate::identity::KeyId;
use crate::identity::attrs::{CustomerRow, normalise_vat};
use crate::identity::normalize::{fold, koelner_phonetik, trigrams};
use crate::model::typed::Customer;
use crate::store::{DynStore, StoreError};
use crate::view::Policy;
use std::collections::{BTreeMap, HashMap};

/// One merged customer as the directory knows it.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub id: i64,
    pub name: Option<String>,
    pub keys: Vec<KeyId>,
    /// The keys as stored (with how they joined), for the merged view.
    pub rows: Vec<crate::store::KeyRow>,
    pub city: Option<String>,
    pub postcode: Option<String>,
    /// Known from supplier records (we buy from it).
    pub supplier: bool,
    /// Known from customer records, or from documents only.
    pub customer: bool,
}

impl Entry {
    /// `customer`, `supplier` or both: what the party is to us. A party known from documents
    /// only is a customer (as before suppliers existed).
    pub fn roles(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.customer || !self.supplier {
            out.push("customer".to_owned());
        }
        if self.supplier {
            out.push("supplier".to_owned());
        }
        out
    }
}

/// Where a phone number of a customer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneKind {
    Customer,
    Fax,
    ContactPerson,
}

#[derive(Debug, Clone)]
struct PhoneRef {
    entry: u32,
    kind: PhoneKind,
    contact: Option<String>,
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

/// A searchable word (folded) with the entries and fields it occurs in.
#[derive(Debug, Default)]
struct Term {
    text: String,
    phonetic: String,
    postings: Vec<(u32, Field, u32)>,
}

/// Per connector, its last successful run.
pub type Successes = std::sync::Arc<BTreeMap<String, chrono::DateTime<chrono::Utc>>>;

#[derive(Debug, Default)]
pub struct Directory {
    pub generation: i64,
    entries: Vec<Entry>,
    by_id: HashMap<i64, u32>,
    /// Original values per entry and field, for "what matched".
    values: Vec<(u32, Field, String)>,
    /// Sorted, so a search for the start of a number (`0221 4711`) finds its extensions.
    phones: std::collections::BTreeMap<String, Vec<PhoneRef>>,
    /// Numbers stored with a trailing 0 (`0221/4711-0`: the switchboard), without that 0.
    switchboards: HashMap<String, Vec<PhoneRef>>,
    terms: Vec<Term>,
    term_ids: BTreeMap<String, u32>,
    trigram_index: HashMap<String, Vec<u32>>,
    phonetic_index: HashMap<String, Vec<u32>>,
    /// Exact identifiers (customer numbers lower-cased, VAT IDs, e-mails) → entries.
    exact: HashMap<String, Vec<(u32, Field, u32)>>,
    key_index: HashMap<KeyId, u32>,
    systems: BTreeMap<String, String>,
    successes: std::sync::RwLock<Successes>,
    pub region: String,
}

impl Directory {
    /// Builds the directory from the store.
    pub async fn load(store: &DynStore, policy: &Policy, region: &str) -> Result<Self, StoreError> {
        let generation = store.identity_generation().await?;
        let keys = store.customer_keys().await?;
        let systems = store.connector_systems().await?;
        // Customers and suppliers: both are found by search and caller-ID, marked by role.
        let mut customers = store.customer_rows("customer").await?;
        customers.extend(store.customer_rows("supplier").await?);
        let contacts = store.customer_rows("contact_person").await?;
        let d = Self::build(
            generation, &keys, systems, &customers, &contacts, policy, region,
        );
        d.set_successes(store.last_successes().await?);
        drop((customers, contacts, keys));
        crate::sys::trim_heap();
        Ok(d)
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        generation: i64,
        keys: &[crate::store::KeyRow],
        systems: BTreeMap<String, String>,
        customers: &[CustomerRow],
        contacts: &[CustomerRow],
        policy: &Policy,
        region: &str,
    ) -> Self {
        let mut d = Directory {
            generation,
            systems,
            region: region.to_owned(),
            ..Directory::default()
        };
        for k in keys {
            let idx = match d.by_id.get(&k.customer_id) {
                Some(&i) => i,
                None => {
                    let i = d.entries.len() as u32;
                    d.entries.push(Entry {
                        id: k.customer_id,
                        ..Entry::default()
                    });
                    d.by_id.insert(k.customer_id, i);
                    i
                }
            };
            d.entries[idx as usize].keys.push(k.key.clone());
            d.entries[idx as usize].rows.push(k.clone());
            d.key_index.insert(k.key.clone(), idx);
            d.add_exact(
                &k.key.customer_no.to_lowercase(),
                idx,
                Field::CustomerNo,
                &k.key.customer_no,
            );
        }
        let mut per_entry: HashMap<u32, Vec<&CustomerRow>> = HashMap::new();
        for r in customers {
            if let Some(idx) = d.entry_of(&r.connector, Some(&r.customer_no)) {
                per_entry.entry(idx).or_default().push(r);
            }
        }
        for (idx, recs) in &per_entry {
            // Name and address as the merged view shows them (the field policy decides).
            let pick = |field: &str, has: &dyn Fn(&Customer) -> bool| {
                recs.iter()
                    .filter(|r| has(&r.data))
                    .min_by_key(|r| {
                        (
                            policy.rank(field, &r.connector, r.synced_at),
                            r.connector.clone(),
                        )
                    })
                    .map(|r| &r.data)
            };
            let name = pick("name", &|d| d.name.is_some()).and_then(|d| d.name.clone());
            let addr =
                pick("address", &|d| d.address != Default::default()).map(|d| d.address.clone());
            let e = &mut d.entries[*idx as usize];
            e.name = name;
            e.supplier = recs.iter().any(|r| r.entity == "supplier");
            e.customer = recs.iter().any(|r| r.entity != "supplier");
            e.city = addr.as_ref().and_then(|a| a.city.clone());
            e.postcode = addr.and_then(|a| a.postcode);
            // Every source's values are searchable, not only the winning ones.
            for r in recs {
                let data = &r.data;
                for v in [&data.name, &data.name2].into_iter().flatten() {
                    d.add_words(v, *idx, Field::Name);
                }
                if let Some(c) = &data.address.city {
                    d.add_words(c, *idx, Field::City);
                }
                if let Some(p) = &data.address.postcode {
                    d.add_exact(&p.to_lowercase(), *idx, Field::Postcode, p);
                }
                if let Some(v) = &data.vat_id {
                    d.add_exact(&normalise_vat(v).to_lowercase(), *idx, Field::VatId, v);
                }
                if let Some(v) = &data.email {
                    d.add_exact(&v.to_lowercase(), *idx, Field::Email, v);
                }
                for p in &data.phones {
                    d.add_phone(p, *idx, PhoneKind::Customer, None);
                }
                if let Some(f) = &data.fax {
                    d.add_phone(f, *idx, PhoneKind::Fax, None);
                }
            }
        }
        for r in contacts {
            let Some(idx) = d.entry_of(&r.connector, Some(&r.customer_no)) else {
                continue;
            };
            for p in &r.data.phones {
                d.add_phone(p, idx, PhoneKind::ContactPerson, r.data.name.clone());
            }
        }
        for (i, t) in d.terms.iter().enumerate() {
            for g in trigrams(&t.text) {
                d.trigram_index.entry(g).or_default().push(i as u32);
            }
            if !t.phonetic.is_empty() {
                d.phonetic_index
                    .entry(t.phonetic.clone())
                    .or_default()
                    .push(i as u32);
            }
        }
        d
    }

    fn entry_of(&self, connector: &str, customer_no: Option<&str>) -> Option<u32> {
        let system = self.systems.get(connector)?;
        self.key_index
            .get(&KeyId::new(system.clone(), customer_no?))
            .copied()
    }

    fn value_id(&mut self, idx: u32, field: Field, original: &str) -> u32 {
        self.values.push((idx, field, original.to_owned()));
        (self.values.len() - 1) as u32
    }

    fn add_exact(&mut self, key: &str, idx: u32, field: Field, original: &str) {
        if key.is_empty()
            || self
                .exact
                .get(key)
                .is_some_and(|l| l.iter().any(|(e, f, _)| *e == idx && *f == field))
        {
            return;
        }
        let value = self.value_id(idx, field, original);
        self.exact
            .entry(key.to_owned())
            .or_default()
            .push((idx, field, value));
    }

    fn add_words(&mut self, text: &str, idx: u32, field: Field) {
        let value = self.value_id(idx, field, text);
        for w in fold(text).split(' ').filter(|w| !w.is_empty()) {
            let id = match self.term_ids.get(w) {
                Some(&id) => id,
                None => {
                    let id = self.terms.len() as u32;
                    self.terms.push(Term {
                        text: w.to_owned(),
                        phonetic: koelner_phonetik(w),
                        postings: Vec::new(),
                    });
                    self.term_ids.insert(w.to_owned(), id);
                    id
                }
            };
            let postings = &mut self.terms[id as usize].postings;
            if !postings.iter().any(|(e, f, _)| *e == idx && *f == field) {
                postings.push((idx, field, value));
            }
        }
    }

    fn add_phone(&mut self, e164: &str, idx: u32, kind: PhoneKind, contact: Option<String>) {
        let r = PhoneRef {
            entry: idx,
            kind,
            contact,
        };
        let list = self.phones.entry(e164.to_owned()).or_default();
        if !list.iter().any(|x| x.entry == idx && x.kind == kind) {
            list.push(r.clone());
        }
        if let Some(base) = e164.strip_suffix('0')
            && base.len() >= 8
        {
            let list = self.switchboards.entry(base.to_owned()).or_default();
            if !list.iter().any(|x| x.entry == idx && x.kind == kind) {
                list.push(r);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entry(&self, id: i64) -> Option<&Entry> {
        self.by_id.get(&id).map(|&i| &self.entries[i as usize])
    }

    /// What the merged view of a customer in the directory needs besides its records.
    pub fn known(&self, id: i64) -> Option<crate::view::Known<'_>> {
        self.entry(id).map(|e| crate::view::Known {
            keys: &e.rows,
            systems: &self.systems,
            successes: self.successes(),
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
            .map(|i| self.entries[i as usize].id)
    }
}
