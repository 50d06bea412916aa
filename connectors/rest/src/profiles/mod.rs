//! Built-in profiles: a default `[source]` (endpoints, paging, incremental fields) per ERP.
//! A user mapping's `[source]` is merged over it: endpoints with the same `stream` are merged
//! key by key (nested tables too), other endpoints are added, other keys replace.
//!
//! Adding a profile: `src/profiles/<name>.toml` (a `[profile]` table — title, docs, auth,
//! secret, documented rate limit, quirks — and the `[[endpoint]]`s), `mappings/<name>.toml`,
//! and its name in the `profiles!` list below. `kontor connectors`, `kontor init --profile`,
//! `kontor check` and the tests derive from these.

mod info;

pub use info::{ProfileInfo, StreamInfo};

/// Declares the built-in profiles, each by its name once: its default `[source]` is
/// `src/profiles/<name>.toml`, its built-in mapping `mappings/<name>.toml` (both in this crate).
macro_rules! profiles {
    ($($name:literal),* $(,)?) => {
        /// The profile names, as `profile = "..."` takes them.
        pub const NAMES: &[&str] = &[$($name),*];
        const SOURCES: &[(&str, &str)] = &[$(($name, include_str!(concat!($name, ".toml")))),*];
        /// Built-in mappings per profile (`(profile, TOML text)`) in the format of
        /// `docs/mapping-format.md`, for a connector with `profile = "..."` and no mapping of
        /// its own.
        pub const BUILTIN_MAPPINGS: &[(&str, &str)] =
            &[$(($name, include_str!(concat!("../../mappings/", $name, ".toml")))),*];
    };
}

profiles!(
    "erpnext",
    "sap-b1",
    "weclapp",
    "business-central",
    "jtl-wawi",
    "lexoffice",
    "xentral"
);

fn full_table(name: &str) -> Option<toml::Table> {
    let (_, text) = SOURCES.iter().find(|(n, _)| *n == name)?;
    Some(toml::from_str(text).expect("built-in profile is valid TOML"))
}

/// The profile's default `[source]` table (its `[[endpoint]]`s, without `[profile]`).
pub fn source(name: &str) -> Option<toml::Table> {
    let mut t = full_table(name)?;
    t.remove("profile");
    Some(t)
}

/// Fills the profile's `auth_defaults` into the connector's `auth` table: each key that is
/// not set, when the `kind`s agree.
pub fn apply_auth_defaults(name: &str, auth: &mut toml::Table) {
    let Some(defaults) = info(name).and_then(|i| i.auth_defaults) else {
        return;
    };
    if defaults.get("kind") != auth.get("kind") {
        return;
    }
    for (k, v) in defaults {
        auth.entry(k).or_insert(v);
    }
}

/// What a profile reads and how to set it up.
pub fn info(name: &str) -> Option<ProfileInfo> {
    let table = full_table(name)?;
    let (_, mapping) = BUILTIN_MAPPINGS.iter().find(|(n, _)| *n == name)?;
    Some(info::build(name, &table, mapping))
}

/// Every built-in profile, in the order of [`NAMES`].
pub fn infos() -> Vec<ProfileInfo> {
    NAMES.iter().filter_map(|n| info(n)).collect()
}

fn merge_tables(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            // A paging table is one choice (its keys depend on the style): replaced whole.
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) if k != "paging" => {
                merge_tables(b, o)
            }
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

pub fn merge_source(mut base: toml::Table, user: &toml::Table) -> toml::Table {
    for (k, v) in user {
        if k == "endpoint"
            && let (Some(toml::Value::Array(list)), toml::Value::Array(user_list)) =
                (base.get_mut("endpoint"), v)
        {
            for ue in user_list {
                let stream = ue.get("stream").and_then(|s| s.as_str());
                let existing = list.iter_mut().find(|e| {
                    e.get("stream").and_then(|s| s.as_str()) == stream && stream.is_some()
                });
                match (existing, ue) {
                    (Some(toml::Value::Table(e)), toml::Value::Table(u)) => merge_tables(e, u),
                    _ => list.push(ue.clone()),
                }
            }
            continue;
        }
        base.insert(k.clone(), v.clone());
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_into_endpoints() {
        for name in NAMES {
            let t = source(name).unwrap();
            let s: crate::config::SourceConfig =
                kontor_connector::parse_table(&t, kontor_connector::ConfigPart::Source)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            for c in &s.endpoint {
                crate::endpoint::Endpoint::from_config(c, 100)
                    .unwrap_or_else(|e| panic!("{name}/{}: {e:?}", c.stream));
            }
        }
    }

    #[test]
    fn every_profile_declares_what_it_reads() {
        for name in NAMES {
            let i = info(name).unwrap_or_else(|| panic!("{name}: no info"));
            assert!(!i.streams.is_empty(), "{name}: no streams");
            assert!(
                i.streams
                    .iter()
                    .any(|s| s.entities.contains(&"customer".to_owned())),
                "{name}: no stream maps customers"
            );
            assert!(
                i.streams.iter().filter(|s| !s.entities.is_empty()).count() >= 2,
                "{name}: the built-in mapping maps fewer than two streams"
            );
            if let Some(r) = &i.rate_limit {
                crate::config::parse_rate(r).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            assert!(!i.auth.contains("token =") && !i.auth.contains("password ="));
            // The stanza is a valid connector (apart from the base URL placeholder).
            let stanza = i.stanza("erp");
            let t: toml::Table =
                toml::from_str(&stanza).unwrap_or_else(|e| panic!("{stanza}\n{e}"));
            assert_eq!(t["connector"][0]["profile"].as_str(), Some(*name));
        }
        let e = info("erpnext").unwrap();
        let cust = e.streams.iter().find(|s| s.stream == "Customer").unwrap();
        assert_eq!(cust.increment, "modified");
        assert_eq!(cust.entities, ["customer"]);
        assert!(source("erpnext").unwrap().get("profile").is_none());
    }

    #[test]
    fn user_source_merges_over_profile() {
        let user: toml::Table = toml::from_str(
            r#"streams = ["Customer"]
[[endpoint]]
stream = "Customer"
page_size = 20
query = { fields = '["name","modified"]' }
[[endpoint]]
stream = "Lead"
path = "/api/resource/Lead"
paging = { style = "offset" }
"#,
        )
        .unwrap();
        let merged = merge_source(source("erpnext").unwrap(), &user);
        let eps = merged["endpoint"].as_array().unwrap();
        let cust = eps
            .iter()
            .find(|e| e["stream"].as_str() == Some("Customer"))
            .unwrap();
        assert_eq!(cust["page_size"].as_integer(), Some(20));
        assert_eq!(
            cust["query"]["fields"].as_str(),
            Some(r#"["name","modified"]"#)
        );
        // Untouched keys of the profile stay.
        assert_eq!(
            cust["query"]["order_by"].as_str(),
            Some("modified asc, name asc")
        );
        assert!(eps.iter().any(|e| e["stream"].as_str() == Some("Lead")));
        assert_eq!(merged["streams"].as_array().unwrap().len(), 1);
        let user: toml::Table = toml::from_str(
            "[[endpoint]]\nstream = 'Bin'\npaging = { style = 'next_link', next = 'next' }",
        )
        .unwrap();
        let merged = merge_source(source("erpnext").unwrap(), &user);
        let bin = merged["endpoint"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["stream"].as_str() == Some("Bin"))
            .unwrap();
        assert_eq!(
            bin["paging"].as_table().unwrap().len(),
            2,
            "paging replaced, not merged"
        );
    }
}
