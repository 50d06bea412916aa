//! Data protection: erasure of a person across the store with a tombstone, so that a later
//! sync does not bring the data back; an export of everything stored about a person.

use crate::identity::normalize::fold;
use crate::model::phone::parse_phone;
use crate::store::{Activity, DynStore, StageRecord, StoreError, StoredRecord, Ticket};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// Who is meant: any of e-mail, phone, name (at least one).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct Person {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
}

/// The person's identifiers in comparable form.
#[derive(Debug, Clone, Default)]
struct Ids {
    emails: Vec<String>,
    phones: Vec<String>,
    names: Vec<String>,
}

fn ids(p: &Person, region: &str) -> Ids {
    Ids {
        emails: p
            .email
            .iter()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty())
            .collect(),
        phones: p
            .phone
            .iter()
            .filter_map(|n| parse_phone(n, region).ok().map(|p| p.e164))
            .collect(),
        names: p
            .name
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect(),
    }
}

fn tomb(kind: &str, value: &str) -> String {
    let v = match kind {
        "name" => fold(value),
        _ => value.to_lowercase(),
    };
    blake3::hash(format!("kontor-tombstone\0{kind}\0{v}").as_bytes())
        .to_hex()
        .to_string()
}

/// Does a customer or contact-person record describe this person?
fn matches(data: &Value, ids: &Ids) -> bool {
    let s = |k: &str| data.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let email = s("email").to_lowercase();
    let phones: Vec<&str> = data
        .get("phones")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|p| p.as_str()).collect())
        .unwrap_or_default();
    (!email.is_empty() && ids.emails.contains(&email))
        || phones.iter().any(|p| ids.phones.iter().any(|x| x == p))
        || ids.names.iter().any(|n| fold(n) == fold(s("name")))
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
            o.insert("name".into(), Value::String("[gelöscht]".into()));
        }
        if let Some(a) = o.get_mut("address").and_then(|a| a.as_object_mut()) {
            a.remove("street");
        }
    }
    d
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ErasureSummary {
    pub records: usize,
    pub activities: u64,
    pub tickets: u64,
    pub tombstones: usize,
}

/// Erases a person everywhere and leaves tombstones.
pub async fn erase(
    store: &DynStore,
    person: &Person,
    region: &str,
) -> Result<ErasureSummary, StoreError> {
    let ids = ids(person, region);
    if ids.emails.is_empty() && ids.phones.is_empty() && ids.names.is_empty() {
        return Err(StoreError::Data(
            "name an e-mail, a phone number or a name".into(),
        ));
    }
    let mut sum = ErasureSummary::default();
    for r in store
        .records_of_person(&ids.emails, &ids.phones, &ids.names)
        .await?
    {
        if !matches(&r.data, &ids) {
            continue;
        }
        let (text, hash) = crate::model::encode_data(&anonymised(&r.data));
        store
            .replace_record_data(&r.connector, &r.entity, &r.external_id, &text, &hash)
            .await?;
        sum.records += 1;
    }
    let needles: Vec<String> = ids.emails.iter().chain(&ids.names).cloned().collect();
    sum.activities = store.erase_activities(&ids.phones, &needles).await?;
    sum.tickets = store.erase_in_tickets(&needles).await?;
    for (kind, values) in [
        ("email", &ids.emails),
        ("phone", &ids.phones),
        ("name", &ids.names),
    ] {
        for v in values {
            store.add_tombstone(kind, &tomb(kind, v)).await?;
            sum.tombstones += 1;
        }
    }
    Ok(sum)
}

/// Everything stored about a person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonExport {
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<Value>,
    pub activities: Vec<Activity>,
    pub complaints: Vec<Ticket>,
}

pub async fn export(
    store: &DynStore,
    person: &Person,
    region: &str,
) -> Result<PersonExport, StoreError> {
    let ids = ids(person, region);
    let records: Vec<StoredRecord> = store
        .records_of_person(&ids.emails, &ids.phones, &ids.names)
        .await?
        .into_iter()
        .filter(|r| matches(&r.data, &ids))
        .collect();
    let needles: Vec<String> = ids.emails.iter().chain(&ids.names).cloned().collect();
    Ok(PersonExport {
        records: records
            .iter()
            .map(|r| {
                serde_json::json!({
                    "connector": r.connector, "entity": r.entity, "external_id": r.external_id,
                    "position": r.position, "synced_at": r.synced_at, "data": r.data
                })
            })
            .collect(),
        activities: store.activities_about(&ids.phones, &needles).await?,
        complaints: store.tickets_mentioning(&needles).await?,
    })
}

/// Tombstones loaded for a sync run: incoming records of erased people are anonymised before
/// they are stored.
#[derive(Debug, Clone, Default)]
pub struct Tombstones {
    set: HashSet<(String, String)>,
}

impl Tombstones {
    pub async fn load(store: &DynStore) -> Result<Self, StoreError> {
        Ok(Self {
            set: store.tombstones().await?.into_iter().collect(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    fn erased(&self, data: &Value) -> bool {
        let has = |kind: &str, v: &str| {
            !v.is_empty() && self.set.contains(&(kind.to_owned(), tomb(kind, v)))
        };
        let s = |k: &str| data.get(k).and_then(|v| v.as_str()).unwrap_or("");
        has("email", &s("email").to_lowercase())
            || has("name", s("name"))
            || data
                .get("phones")
                .and_then(|v| v.as_array())
                .is_some_and(|a| a.iter().filter_map(|p| p.as_str()).any(|p| has("phone", p)))
    }

    /// Anonymises a customer or contact-person record of an erased person (and says so).
    pub fn scrub(&self, r: &mut StageRecord) -> bool {
        if self.set.is_empty() || !["customer", "supplier", "contact_person"].contains(&r.entity) {
            return false;
        }
        let Ok(data) = serde_json::from_str::<Value>(&r.data) else {
            return false;
        };
        if !self.erased(&data) {
            return false;
        }
        (r.data, r.hash) = crate::model::encode_data(&anonymised(&data));
        true
    }
}
