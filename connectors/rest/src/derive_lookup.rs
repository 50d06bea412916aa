//! `derive = { X = { lookup = { path = "/v1/contacts/{id}", id = "contactId", field = "…" } } }`:
//! a field of another resource, fetched per distinct id and cached for the run (the requests
//! count against the rate limit like any other). A 404 means "no value" (the mapping decides
//! what to do without it); any other failure fails the page like a failed page request.

use crate::config::DeriveLookupConfig;
use crate::endpoint::{JsonPath, KeyError};
use crate::paging::encode_component;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone)]
pub struct Lookup {
    before: String,
    after: String,
    id: JsonPath,
    pub field: JsonPath,
}

impl Lookup {
    pub fn from_config(name: &str, c: &DeriveLookupConfig) -> Result<Lookup, KeyError> {
        let err = |m: &str| {
            (
                vec!["derive".into(), name.into(), "lookup".into()],
                m.to_owned(),
            )
        };
        let (before, after) = c
            .path
            .split_once("{id}")
            .ok_or_else(|| err("`path` needs `{id}` where the record's id goes"))?;
        if !before.starts_with('/') {
            return Err(err("`path` must start with `/`"));
        }
        if c.id.is_empty() || c.field.is_empty() {
            return Err(err("`id` and `field` must not be empty"));
        }
        Ok(Lookup {
            before: before.to_owned(),
            after: after.to_owned(),
            id: JsonPath::parse(&c.id),
            field: JsonPath::parse(&c.field),
        })
    }

    /// The resource path for this record (`None` without an id): also the cache key.
    pub fn path_for(&self, rec: &Value) -> Option<String> {
        let id = match self.id.get(rec)? {
            Value::String(s) if !s.trim().is_empty() => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        Some(format!(
            "{}{}{}",
            self.before,
            encode_component(&id).replace('/', "%2F"),
            self.after
        ))
    }
}

/// Looked-up values of one run: resource path → the field's value (`None`: no such resource,
/// or it lacks the field).
#[derive(Debug, Default)]
pub struct LookupCache(Mutex<HashMap<String, Option<Value>>>);

impl LookupCache {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<Value>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn contains(&self, path: &str) -> bool {
        self.map().contains_key(path)
    }
    pub fn get(&self, path: &str) -> Option<Value> {
        self.map().get(path).cloned().flatten()
    }
    pub fn insert(&self, path: String, v: Option<Value>) {
        self.map().insert(path, v);
    }
    pub fn clear(&self) {
        self.map().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_encode_the_id_and_need_a_placeholder() {
        let c = DeriveLookupConfig {
            path: "/v1/contacts/{id}".into(),
            id: "contactId".into(),
            field: "roles/customer/number".into(),
        };
        let l = Lookup::from_config("No", &c).unwrap();
        assert_eq!(
            l.path_for(&json!({"contactId": "a b/c"})).as_deref(),
            Some("/v1/contacts/a%20b%2Fc")
        );
        assert_eq!(l.path_for(&json!({"contactId": ""})), None);
        assert_eq!(l.path_for(&json!({})), None);
        let bad = DeriveLookupConfig {
            path: "/v1/contacts".into(),
            ..c
        };
        assert!(Lookup::from_config("No", &bad).is_err());
        let cache = LookupCache::default();
        cache.insert("/x".into(), None);
        assert!(cache.contains("/x") && cache.get("/x").is_none());
    }
}
