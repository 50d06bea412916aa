//! What a profile reads, for `kontor connectors`, `kontor init --profile` and the docs: the
//! `[profile]` table of `src/profiles/<name>.toml` plus what its endpoints and built-in mapping
//! say (streams, increment fields, entities). Declared once, in the profile's own files.

use serde::{Deserialize, Serialize};

/// The `[profile]` table of a profile's TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    title: String,
    docs: String,
    /// The `auth = …` value `kontor init` writes (secrets by reference only).
    auth: String,
    /// What the secret reference must hold, and where the user finds it.
    secret: String,
    /// Keys filled into the connector's `auth` table when its `kind` is this table's `kind`
    /// and the key is not set (e.g. the OAuth2 scope of the vendor's API).
    #[serde(default)]
    auth_defaults: Option<toml::Table>,
    /// The vendor's documented limit, used when the connector sets no `rate_limit`.
    #[serde(default)]
    rate_limit: Option<String>,
    /// Further connector lines `kontor init` writes (e.g. `company = "CRONUS AG"`).
    #[serde(default)]
    settings: Vec<String>,
    /// How a stream's increment works when it is not a plain modified-field filter
    /// (`{ stream = "text" }`).
    #[serde(default)]
    increments: std::collections::BTreeMap<String, String>,
    /// What the profile does not read, said plainly (e.g. "no stock or orders").
    #[serde(default)]
    not_read: Option<String>,
    /// The quirks of the API this profile handles.
    #[serde(default)]
    notes: Vec<String>,
}

/// One stream of a profile.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StreamInfo {
    pub stream: String,
    /// Canonical entities the built-in mapping makes of it (`customer`, `invoice`, …).
    pub entities: Vec<String>,
    /// How the stream is read incrementally (`lastModifiedDateTime`, or "full read each run").
    pub increment: String,
}

/// A built-in profile, as `kontor connectors` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileInfo {
    pub name: String,
    pub title: String,
    pub docs: String,
    pub auth: String,
    pub secret: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_defaults: Option<toml::Table>,
    pub rate_limit: Option<String>,
    pub settings: Vec<String>,
    pub not_read: Option<String>,
    pub notes: Vec<String>,
    pub streams: Vec<StreamInfo>,
}

impl ProfileInfo {
    /// A commented `[[connector]]` stanza for `kontor.toml`.
    pub fn stanza(&self, connector: &str) -> String {
        let mut s = format!(
            "# {} — built-in profile `{}` ({})\n",
            self.title, self.name, self.docs
        );
        for st in &self.streams {
            s.push_str(&format!(
                "#   {} → {} (increment: {})\n",
                st.stream,
                if st.entities.is_empty() {
                    "for your own mappings (the built-in one does not use it)".to_owned()
                } else {
                    st.entities.join(", ")
                },
                st.increment
            ));
        }
        if let Some(n) = &self.not_read {
            s.push_str(&format!("#   not read: {n}\n"));
        }
        s.push_str(&format!(
            "# Secret: {}. Never write it into this file.\n",
            self.secret
        ));
        s.push_str(&format!(
            "[[connector]]\nname = \"{connector}\"\nkind = \"rest\"\nprofile = \"{}\"\n\
             base_url = \"https://…\"   # TODO: your server\n",
            self.name
        ));
        for line in &self.settings {
            s.push_str(line);
            s.push('\n');
        }
        s.push_str(&format!("auth = {}\n", self.auth));
        if let Some(d) = &self.auth_defaults {
            let filled: Vec<String> = d
                .iter()
                .filter(|(k, _)| *k != "kind")
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            s.push_str(&format!(
                "# (the profile fills in: {})\n",
                filled.join(", ")
            ));
        }
        match &self.rate_limit {
            Some(r) => s.push_str(&format!(
                "# rate_limit = \"{r}\"   # the vendor's documented limit (the default)\n"
            )),
            None => s.push_str(
                "# rate_limit = \"5/s\"   # the vendor documents none: be kind to the server\n",
            ),
        }
        s.push_str("# streams = [...]   # read only some streams (default: all above)\n");
        s
    }
}

#[derive(Deserialize)]
struct MappingTargets {
    #[serde(default)]
    target: Vec<Target>,
}
#[derive(Deserialize)]
struct Target {
    #[serde(default)]
    stream: Option<String>,
    entity: String,
}

pub(super) fn build(name: &str, source: &toml::Table, mapping: &str) -> ProfileInfo {
    let head: Head = source
        .get("profile")
        .cloned()
        .unwrap_or_else(|| panic!("profile {name}: no [profile] table"))
        .try_into()
        .unwrap_or_else(|e| panic!("profile {name}: [profile]: {e}"));
    let targets: MappingTargets =
        toml::from_str(mapping).unwrap_or_else(|e| panic!("profile {name}: built-in mapping: {e}"));
    let streams = source
        .get("endpoint")
        .and_then(|e| e.as_array())
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            let stream = e.get("stream")?.as_str()?.to_owned();
            let mut entities: Vec<String> = targets
                .target
                .iter()
                .filter(|t| t.stream.as_deref() == Some(stream.as_str()))
                .map(|t| t.entity.clone())
                .collect();
            entities.dedup();
            let increment = head.increments.get(&stream).cloned().unwrap_or_else(|| {
                match e.get("modified_field").and_then(|m| m.as_str()) {
                    Some(f) if e.get("full_refresh").and_then(|v| v.as_bool()) != Some(true) => {
                        f.to_owned()
                    }
                    _ => "full read each run".to_owned(),
                }
            });
            Some(StreamInfo {
                stream,
                entities,
                increment,
            })
        })
        .collect();
    ProfileInfo {
        name: name.to_owned(),
        title: head.title,
        docs: head.docs,
        auth: head.auth,
        secret: head.secret,
        auth_defaults: head.auth_defaults,
        rate_limit: head.rate_limit,
        settings: head.settings,
        not_read: head.not_read,
        notes: head.notes,
        streams,
    }
}
