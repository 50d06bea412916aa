//! `[cti]`: which desks an incoming call pops up on, and the company's own area code.

use super::sections::{Problem, key};
use serde::Deserialize;
use std::collections::BTreeMap;

/// `[cti]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtiSection {
    /// Called number or extension → the team whose desks the call pops up on
    /// (`{ "4922140000" = "innendienst", "23" = "vertrieb-nord" }`); calls to anything else
    /// pop up everywhere.
    #[serde(default)]
    pub extensions: BTreeMap<String, String>,
    /// The company's own area code (`0221`): a number typed without one on the call page is
    /// offered with it.
    #[serde(default)]
    pub default_area_code: Option<String>,
}

impl CtiSection {
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for (number, team) in &self.extensions {
            if number.trim().is_empty() || team.trim().is_empty() {
                out.push((
                    key(&["cti", "extensions"]),
                    format!("`{number}` = `{team}`: give a number or extension and a team"),
                ));
            }
        }
        if let Some(a) = &self.default_area_code {
            let d = a.replace([' ', '/', '-'], "");
            let dialled = d.starts_with('0')
                && !d.starts_with("00")
                && (3..=6).contains(&d.len())
                && d.chars().all(|c| c.is_ascii_digit());
            if !dialled {
                out.push((
                    key(&["cti", "default_area_code"]),
                    format!("default_area_code `{a}`: write it as dialled, e.g. \"0221\""),
                ));
            }
        }
        out
    }
}
