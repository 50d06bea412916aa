//! What identity rules compare: the identifiers and names of a source customer, gathered from
//! its customer records (one per connector of its system).

use super::KeyId;
use crate::model::typed::{Customer, Record};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A customer (or contact-person) record as identity resolution and the directory read it.
#[derive(Debug, Clone)]
pub struct CustomerRow {
    pub connector: String,
    pub entity: String,
    pub customer_no: String,
    pub synced_at: DateTime<Utc>,
    /// What the record says, read as a canonical customer (a contact person's `name`,
    /// `email` and `phones` read into the same fields).
    pub data: Customer,
}

/// A source customer with everything its customer records say about who it is. A key known
/// only from documents (an invoice's customer number) has no attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceCustomer {
    pub key: KeyId,
    pub names: Vec<String>,
    pub vat_ids: Vec<String>,
    pub glns: Vec<String>,
    pub emails: Vec<String>,
    /// E.164
    pub phones: Vec<String>,
    pub postcodes: Vec<String>,
    pub cities: Vec<String>,
}

fn push_unique(list: &mut Vec<String>, v: Option<&str>) {
    if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty())
        && !list.iter().any(|x| x == v)
    {
        list.push(v.to_owned());
    }
}

impl SourceCustomer {
    pub fn new(key: KeyId) -> Self {
        Self {
            key,
            ..Self::default()
        }
    }

    /// Adds what a canonical customer record (its JSON) says.
    pub fn add_record(&mut self, data: &Value) {
        self.add(&Customer::read(data));
    }

    /// Adds what a customer record says.
    pub fn add(&mut self, d: &Customer) {
        push_unique(&mut self.names, d.name.as_deref());
        push_unique(
            &mut self.vat_ids,
            d.vat_id.as_deref().map(normalise_vat).as_deref(),
        );
        push_unique(&mut self.glns, d.gln.as_deref());
        push_unique(
            &mut self.emails,
            d.email
                .as_deref()
                .map(|e| e.trim().to_lowercase())
                .as_deref(),
        );
        for p in &d.phones {
            push_unique(&mut self.phones, Some(p));
        }
        push_unique(&mut self.postcodes, d.address.postcode.as_deref());
        push_unique(&mut self.cities, d.address.city.as_deref());
    }

    /// Values of one deterministic rule.
    pub fn values(&self, rule: &str) -> &[String] {
        match rule {
            "vat_id" => &self.vat_ids,
            "gln" => &self.glns,
            "email" => &self.emails,
            "phone" => &self.phones,
            _ => &[],
        }
    }

    /// A fingerprint of everything a resolution compares (not the key, not the city), in the
    /// records' order: two resolutions given source customers with the same fingerprints come
    /// out the same.
    pub fn fingerprint(&self) -> i64 {
        let mut h = blake3::Hasher::new();
        for list in [
            &self.names,
            &self.vat_ids,
            &self.glns,
            &self.emails,
            &self.phones,
            &self.postcodes,
        ] {
            for v in list {
                h.update(v.as_bytes());
                h.update(b"\x1f");
            }
            h.update(b"\x1e");
        }
        let bytes: [u8; 8] = h.finalize().as_bytes()[..8].try_into().unwrap_or_default();
        i64::from_le_bytes(bytes)
    }

    pub fn has_attributes(&self) -> bool {
        !(self.names.is_empty()
            && self.vat_ids.is_empty()
            && self.glns.is_empty()
            && self.emails.is_empty()
            && self.phones.is_empty())
    }
}

/// VAT ids compare without spaces, dots and dashes, upper-cased (`DE 123.456.788` =
/// `DE123456788`).
pub fn normalise_vat(v: &str) -> String {
    v.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathers_attributes_of_several_records() {
        let mut c = SourceCustomer::new(KeyId::new("wawi", "00042"));
        c.add_record(&serde_json::json!({
            "name": "Müller & Söhne GmbH", "vat_id": "DE 123 456 788", "email": "Info@Mueller.de ",
            "phones": ["+4922147110"], "address": {"postcode": "50667", "city": "Köln"}
        }));
        c.add_record(&serde_json::json!({"name": "Müller & Söhne GmbH", "phones": ["+4922147110", "+491711"]}));
        assert_eq!(c.names, ["Müller & Söhne GmbH"]);
        assert_eq!(c.vat_ids, ["DE123456788"]);
        assert_eq!(c.emails, ["info@mueller.de"]);
        assert_eq!(c.phones, ["+4922147110", "+491711"]);
        assert_eq!(
            (c.postcodes[0].as_str(), c.cities[0].as_str()),
            ("50667", "Köln")
        );
        assert!(c.has_attributes());
        // The fingerprint follows every value and where it stands.
        let mut moved = c.clone();
        moved.postcodes = vec![];
        moved.phones.push("50667".into());
        assert_ne!(moved.fingerprint(), c.fingerprint());
        let mut elsewhere = c.clone();
        elsewhere.cities = vec!["Köln-Altstadt".into()];
        assert_eq!(
            elsewhere.fingerprint(),
            c.fingerprint(),
            "no rule compares cities"
        );
        let mut same = SourceCustomer::new(KeyId::new("other", "1"));
        same.add_record(&serde_json::json!({
            "name": "Müller & Söhne GmbH", "vat_id": "DE123456788", "email": "info@mueller.de",
            "phones": ["+4922147110", "+491711"], "address": {"postcode": "50667", "city": "Köln"}
        }));
        assert_eq!(
            same.fingerprint(),
            c.fingerprint(),
            "the key is not part of it"
        );
        assert!(!SourceCustomer::new(KeyId::new("x", "1")).has_attributes());
    }
}
