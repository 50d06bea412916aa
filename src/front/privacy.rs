//! Data protection: erasure of a person across the store with a tombstone, so that a later
//! sync does not bring the data back; an export of everything stored about a person.
//!
//! A person is named precisely (see [`Identifiers`]): an exact e-mail, a phone number (E.164),
//! a full name of at least two whole words. An erasure is planned first (`dry_run`: what would
//! change, row by row) and carried out only when the caller repeats the plan's `total`. It
//! anonymises the person's customer records, deletes their contact-person records, rewrites
//! every mention in contact texts, complaints (and their full-text index), quarantined rows,
//! identity explanations and suggestions, audit entries, run errors and imported contact
//! history; then the store gives the freed space back ([`crate::store::FrontStore::after_erasure`]).

use super::desk::Activity;
pub use super::redact::{ERASED, Identifiers};
use super::ticket::Ticket;
use crate::store::{DynStore, ERASABLE, Erasable, StageRecord, StoreError, StoredRecord};
use crate::sync::shown::QuarantineEntry;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// Who is meant: any of e-mail, phone, full name (at least one).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct Person {
    pub email: Option<String>,
    pub phone: Option<String>,
    /// First and last name (whole words; surname first also matches).
    pub name: Option<String>,
}

impl Person {
    pub fn identifiers(&self, region: &str) -> Result<Identifiers, String> {
        Identifiers::parse(
            self.email.as_deref(),
            self.phone.as_deref(),
            self.name.as_deref(),
            region,
        )
    }
}

/// An erasure: the person, and either `dry_run` or the `confirm`ed count of a dry run.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ErasureRequest {
    #[serde(flatten)]
    pub person: Person,
    /// Only list what would change.
    #[serde(default)]
    pub dry_run: bool,
    /// The `total` of the dry run: the erasure runs only when it still matches.
    pub confirm: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error("{0}")]
    Invalid(String),
    #[error("the erasure would change {total} row(s), not {confirmed}: look at the dry run again")]
    Mismatch {
        total: u64,
        confirmed: u64,
        plan: Box<ErasureSummary>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn tomb(kind: &str, value: &str) -> String {
    let v = match kind {
        "name" => crate::identity::normalize::fold(value),
        _ => value.to_lowercase(),
    };
    blake3::hash(format!("kontor-tombstone\0{kind}\0{v}").as_bytes())
        .to_hex()
        .to_string()
}

fn str_of<'a>(data: &'a Value, k: &str) -> &'a str {
    data.get(k).and_then(|v| v.as_str()).unwrap_or("")
}

fn full_names(data: &Value) -> Vec<String> {
    let mut v = vec![str_of(data, "name").to_owned()];
    let (f, l) = (str_of(data, "first_name"), str_of(data, "last_name"));
    if !f.is_empty() && !l.is_empty() {
        v.push(format!("{f} {l}"));
    }
    v
}

fn phones_of(data: &Value) -> Vec<&str> {
    let mut v: Vec<&str> = data
        .get("phones")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|p| p.as_str()).collect())
        .unwrap_or_default();
    if let Some(f) = data.get("fax").and_then(|f| f.as_str()) {
        v.push(f);
    }
    v
}

/// Does a customer or contact-person record describe this person?
fn describes(data: &Value, ids: &Identifiers) -> bool {
    ids.is_email(str_of(data, "email"))
        || phones_of(data).iter().any(|p| ids.is_phone(p))
        || full_names(data).iter().any(|n| ids.is_name(n))
}

/// The record's data without the person's details (the business keys stay: an invoice's
/// customer number must still resolve).
fn anonymised(data: &Value) -> Value {
    let mut d = data.clone();
    if let Some(o) = d.as_object_mut() {
        for k in [
            "email",
            "phones",
            "fax",
            "first_name",
            "last_name",
            "function",
            "department",
            "name2",
        ] {
            o.remove(k);
        }
        if o.contains_key("name") {
            o.insert("name".into(), Value::String(ERASED.into()));
        }
        if let Some(a) = o.get_mut("address").and_then(|a| a.as_object_mut()) {
            a.remove("street");
        }
    }
    d
}

/// One row an erasure changes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Change {
    pub table: String,
    /// The row's key (records: `connector/entity/external_id`).
    pub key: String,
    /// anonymise | delete | redact
    pub action: String,
}

/// What an erasure changed (or, as a dry run, would change).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ErasureSummary {
    pub dry_run: bool,
    /// Rows changed: what `confirm` must repeat.
    pub total: u64,
    /// Customer records anonymised and contact-person records deleted.
    pub records: usize,
    pub activities: u64,
    /// Complaints.
    pub tickets: u64,
    pub quarantine: u64,
    /// Other mentions: identity explanations and suggestions, audit entries, run errors.
    pub other: u64,
    pub tombstones: usize,
    pub changes: Vec<Change>,
}

/// The person's records (customers, contact persons), found by a cheap text match and
/// confirmed on the parsed data.
async fn person_records(
    store: &DynStore,
    ids: &Identifiers,
) -> Result<Vec<StoredRecord>, StoreError> {
    let mut needles: Vec<String> = ids.emails.clone();
    needles.extend(ids.phones.iter().cloned());
    for n in &ids.names {
        // The longest word, as folded and in its umlaut spellings.
        let w = n
            .iter()
            .max_by_key(|w| w.len())
            .cloned()
            .unwrap_or_default();
        needles.extend(spellings(&w));
    }
    needles.sort();
    needles.dedup();
    Ok(store
        .records_of_person(&needles)
        .await?
        .into_iter()
        .filter(|r| describes(&r.data, ids))
        .collect())
}

/// `mueller` → mueller, müller (every ae/oe/ue/ss written either way).
fn spellings(folded: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut rest = folded;
    while !rest.is_empty() {
        let pair = [("ae", "ä"), ("oe", "ö"), ("ue", "ü"), ("ss", "ß")]
            .into_iter()
            .find(|(a, _)| rest.starts_with(a));
        match pair {
            Some((a, u)) if out.len() < 64 => {
                out = out
                    .into_iter()
                    .flat_map(|o| [format!("{o}{a}"), format!("{o}{u}")])
                    .collect();
                rest = &rest[a.len()..];
            }
            _ => {
                let c = rest.chars().next().unwrap_or(' ');
                out.iter_mut().for_each(|o| o.push(c));
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// The rows of one erasable table that mention the person, with their new values.
async fn mentions(
    store: &DynStore,
    t: &'static Erasable,
    ids: &Identifiers,
) -> Result<Vec<(String, Vec<Option<String>>)>, StoreError> {
    let mut out = Vec::new();
    store
        .scan_erasable(t, &mut |key, values| {
            // Derived columns are recomputed, not searched.
            let searched: Vec<Option<String>> = values
                .iter()
                .enumerate()
                .map(|(i, v)| v.clone().filter(|_| !t.derived.contains(&t.columns[i])))
                .collect();
            if let Some(new) = ids.redact_row(&searched) {
                let merged: Vec<Option<String>> = new
                    .into_iter()
                    .zip(values)
                    .map(|(n, old)| n.or(old))
                    .collect();
                out.push((key, merged));
            }
        })
        .await?;
    for (_, values) in &mut out {
        derive(t, values);
    }
    Ok(out)
}

/// Recomputes a row's derived columns: a complaint's stemmed words, a record's hash.
fn derive(t: &Erasable, values: &mut [Option<String>]) {
    let col = |name: &str| t.columns.iter().position(|c| *c == name);
    match t.table {
        "tickets" => {
            if let (Some(ti), Some(tx), Some(te)) = (col("title"), col("text"), col("terms")) {
                let text = format!(
                    "{} {}",
                    values[ti].as_deref().unwrap_or(""),
                    values[tx].as_deref().unwrap_or("")
                );
                values[te] = Some(super::complaints::terms(&text).join(" "));
            }
        }
        "records" => {
            if let (Some(d), Some(h)) = (col("data"), col("hash"))
                && let Some(v) = values[d]
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<Value>(s).ok())
            {
                let (text, hash) = crate::model::encode_data(&v);
                values[d] = Some(text);
                values[h] = Some(hash);
            }
        }
        _ => {}
    }
}

/// Plans an erasure (`dry_run`) or carries it out when `confirm` matches the plan.
pub async fn erase(
    store: &DynStore,
    req: &ErasureRequest,
    region: &str,
) -> Result<ErasureSummary, ErasureError> {
    let ids = req
        .person
        .identifiers(region)
        .map_err(ErasureError::Invalid)?;
    let mut sum = ErasureSummary {
        dry_run: req.dry_run,
        ..Default::default()
    };
    let records = person_records(store, &ids).await?;
    for r in &records {
        let action = if r.entity == "contact_person" {
            "delete"
        } else {
            "anonymise"
        };
        sum.changes.push(Change {
            table: "records".into(),
            key: format!("{}/{}/{}", r.connector, r.entity, r.external_id),
            action: action.into(),
        });
    }
    sum.records = records.len();
    let mut rewrites = Vec::new();
    for t in ERASABLE {
        let rows = mentions(store, t, &ids).await?;
        let n = rows.len() as u64;
        match t.table {
            "activities" => sum.activities += n,
            "tickets" => sum.tickets += n,
            "quarantine" => sum.quarantine += n,
            "records" => sum.records += rows.len(),
            _ => sum.other += n,
        }
        for (key, _) in &rows {
            sum.changes.push(Change {
                table: t.table.into(),
                key: key.replace('\u{1f}', "/"),
                action: "redact".into(),
            });
        }
        rewrites.push((t, rows));
    }
    sum.total = sum.changes.len() as u64;
    let tombstones: Vec<(&str, String)> = ids
        .emails
        .iter()
        .map(|e| ("email", tomb("email", e)))
        .chain(ids.phones.iter().map(|p| ("phone", tomb("phone", p))))
        .chain(
            ids.names
                .iter()
                .map(|n| ("name", tomb("name", &n.join(" ")))),
        )
        .collect();
    sum.tombstones = tombstones.len();
    if req.dry_run {
        return Ok(sum);
    }
    match req.confirm {
        Some(c) if c == sum.total => {}
        confirmed => {
            return Err(ErasureError::Mismatch {
                total: sum.total,
                confirmed: confirmed.unwrap_or(u64::MAX),
                plan: Box::new(ErasureSummary {
                    dry_run: true,
                    ..sum
                }),
            });
        }
    }
    // Tombstones first: a sync running meanwhile already keeps the person out.
    for (kind, hash) in &tombstones {
        store.add_tombstone(kind, hash).await?;
    }
    let mut gone = Vec::new();
    for r in &records {
        if r.entity == "contact_person" {
            gone.push((r.connector.clone(), r.entity.clone(), r.external_id.clone()));
            continue;
        }
        let (text, hash) = crate::model::encode_data(&anonymised(&r.data));
        let position = r
            .position
            .as_deref()
            .map(|p| ids.redact(p).unwrap_or_else(|| p.to_owned()));
        store
            .replace_record(
                &r.connector,
                &r.entity,
                &r.external_id,
                &text,
                &hash,
                position.as_deref(),
            )
            .await?;
    }
    store.delete_records(&gone).await?;
    for (t, rows) in &rewrites {
        if !rows.is_empty() {
            store.rewrite_erasable(t, rows).await?;
        }
    }
    store.after_erasure().await?;
    Ok(sum)
}

/// Everything stored about a person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonExport {
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<Value>,
    pub activities: Vec<Activity>,
    pub complaints: Vec<Ticket>,
    pub quarantine: Vec<QuarantineEntry>,
    /// Other rows that mention the person: table and key.
    pub mentions: Vec<Change>,
}

pub async fn export(
    store: &DynStore,
    person: &Person,
    region: &str,
) -> Result<PersonExport, ErasureError> {
    let ids = person.identifiers(region).map_err(ErasureError::Invalid)?;
    let records = person_records(store, &ids).await?;
    let mut out = PersonExport {
        records: records
            .iter()
            .map(|r| {
                serde_json::json!({
                    "connector": r.connector, "entity": r.entity, "external_id": r.external_id,
                    "position": r.position, "synced_at": r.synced_at, "data": r.data
                })
            })
            .collect(),
        activities: Vec::new(),
        complaints: Vec::new(),
        quarantine: Vec::new(),
        mentions: Vec::new(),
    };
    for t in ERASABLE {
        for (key, _) in mentions(store, t, &ids).await? {
            let id: Option<i64> = key.parse().ok();
            match (t.table, id) {
                ("activities", Some(id)) => out
                    .activities
                    .extend(store.activity(id).await?.map(Activity::from)),
                ("tickets", Some(id)) => {
                    out.complaints.extend(super::ticket::get(store, id).await?)
                }
                ("quarantine", Some(id)) => out
                    .quarantine
                    .extend(store.quarantine_entry(id).await?.map(QuarantineEntry::from)),
                _ => out.mentions.push(Change {
                    table: t.table.into(),
                    key: key.replace('\u{1f}', "/"),
                    action: "mention".into(),
                }),
            }
        }
    }
    Ok(out)
}

/// What a sync run needs of data protection: the tombstones of erased people (incoming records
/// and rejected rows of them are scrubbed before they are stored) and the store's salt for
/// personal key parts.
#[derive(Debug, Clone, Default)]
pub struct Tombstones {
    set: HashSet<(String, String)>,
    pub salt: [u8; 32],
    region: String,
}

impl Tombstones {
    pub async fn load(store: &DynStore, region: &str) -> Result<Self, StoreError> {
        Ok(Self {
            set: store.tombstones().await?.into_iter().collect(),
            salt: store.key_salt().await?,
            region: region.to_owned(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    fn has(&self, kind: &str, v: &str) -> bool {
        !v.trim().is_empty() && self.set.contains(&(kind.to_owned(), tomb(kind, v.trim())))
    }

    /// The name's words when they (or the same with the surname first) are tombstoned.
    fn erased_name(&self, words: &[String]) -> Option<Vec<String>> {
        if words.len() < 2 {
            return None;
        }
        if self.has("name", &words.join(" ")) {
            return Some(words.to_vec());
        }
        let mut given = words[1..].to_vec();
        given.push(words[0].clone());
        self.has("name", &given.join(" ")).then_some(given)
    }

    fn erased(&self, data: &Value) -> bool {
        let name_words =
            |n: &String| -> Vec<String> { super::redact::words(n).map(|(_, w)| w).collect() };
        self.has("email", &str_of(data, "email").to_lowercase())
            || full_names(data)
                .iter()
                .any(|n| self.erased_name(&name_words(n)).is_some())
            || phones_of(data).iter().any(|p| self.has("phone", p))
    }

    /// Scrubs a record of an erased person: a customer is anonymised, a contact person is
    /// dropped (`false`: do not store it). Other records pass.
    pub fn keep(&self, r: &mut StageRecord) -> bool {
        if self.set.is_empty() || !["customer", "supplier", "contact_person"].contains(&r.entity) {
            return true;
        }
        let Ok(data) = serde_json::from_str::<Value>(&r.data) else {
            return true;
        };
        if !self.erased(&data) {
            return true;
        }
        if r.entity == "contact_person" {
            return false;
        }
        (r.data, r.hash) = crate::model::encode_data(&anonymised(&data));
        true
    }

    /// A rejected row's text without erased people's e-mails, phone numbers and names (the
    /// names as any run of two to four words).
    pub fn scrub_text(&self, text: &str) -> Option<String> {
        if self.set.is_empty() {
            return None;
        }
        let mut ids = Identifiers {
            region: self.region.clone(),
            ..Default::default()
        };
        for m in super::redact::email_candidates(text) {
            if self.has("email", &m.to_lowercase()) {
                ids.emails.push(m.to_lowercase());
            }
        }
        for m in super::redact::phone_candidates(text) {
            if let Ok(p) = crate::model::phone::parse_phone(&m, &self.region)
                && self.has("phone", &p.e164)
            {
                ids.phones.push(p.e164);
            }
        }
        let words: Vec<String> = super::redact::words(text).map(|(_, w)| w).collect();
        for n in 2..=4 {
            for run in words.windows(n) {
                if let Some(given) = self.erased_name(run) {
                    ids.names.push(given);
                }
            }
        }
        if ids.is_empty() {
            return None;
        }
        ids.redact(text)
    }

    /// Scrubs the texts of a rejected row.
    pub fn scrub_reject(&self, r: &mut crate::store::NewReject) {
        for t in [&mut r.raw, &mut r.reason, &mut r.position] {
            if let Some(s) = self.scrub_text(t) {
                *t = s;
            }
        }
        for t in [&mut r.record, &mut r.context].into_iter().flatten() {
            if let Some(s) = self.scrub_text(t) {
                *t = s;
            }
        }
    }
}
