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
    /// Click-to-dial through the PBX (`[cti.dial]`).
    #[serde(default)]
    pub dial: Option<DialSection>,
}

/// The PBX APIs kontor can start a call through.
pub const DIAL_PROVIDERS: &[&str] = &["sipgate", "placetel", "url"];

/// `[cti.dial]`: a click on a number rings the desk's phone first, then dials the number
/// (sipgate `POST /v2/sessions/calls`, Placetel `POST /v2/calls`, or a URL template).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialSection {
    /// `sipgate`, `placetel` or `url`.
    pub provider: String,
    /// The API credentials: sipgate `token-id:token` (a personal access token with the scope
    /// `sessions:calls:write`), Placetel the API token; `url`: sent as a bearer token when set.
    pub token_env: Option<String>,
    pub token_file: Option<String>,
    /// The API's address (default: the vendor's; tests point it at a mock).
    pub base_url: Option<String>,
    /// `provider = "url"`: the address to POST to, with `{device}` and `{number}` (E.164)
    /// filled in, e.g. `"https://pbx.example/dial?from={device}&to={number}"`.
    pub url: Option<String>,
    /// The number the called party sees (sipgate `callerId`), when not the device's own.
    pub caller_id: Option<String>,
    /// Who rings first: a person's sign-in name (or a token's name), else their team →
    /// the device (sipgate `e0`, Placetel SIP user `777…@fpbx.de`, an extension).
    #[serde(default)]
    pub devices: BTreeMap<String, String>,
}

impl DialSection {
    fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let k = |name: &str| key(&["cti", "dial", name]);
        if !DIAL_PROVIDERS.contains(&self.provider.as_str()) {
            out.push((
                k("provider"),
                format!(
                    "provider `{}`: one of {}",
                    self.provider,
                    DIAL_PROVIDERS.join(", ")
                ),
            ));
        }
        if self.provider != "url" && self.token_env.is_none() && self.token_file.is_none() {
            out.push((
                k("token_env"),
                format!(
                    "{} needs its API token: token_env or token_file",
                    self.provider
                ),
            ));
        }
        match (&self.url, self.provider.as_str()) {
            (None, "url") => out.push((
                k("url"),
                "provider = \"url\" needs url = \"https://…{device}…{number}…\"".into(),
            )),
            (Some(u), _) if !(u.starts_with("https://") || u.starts_with("http://")) => {
                out.push((k("url"), format!("url `{u}`: an http(s) address")))
            }
            _ => {}
        }
        if self.devices.is_empty() {
            out.push((
                k("devices"),
                "give each person (or team) the device that rings first, e.g. devices = { anna = \"e0\" }".into(),
            ));
        }
        out
    }

    /// The device that rings first for `name` (a sign-in or token name) of `team`.
    pub fn device_for(&self, name: &str, team: Option<&str>) -> Option<&str> {
        self.devices
            .get(name)
            .or_else(|| team.and_then(|t| self.devices.get(t)))
            .map(String::as_str)
    }
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
        if let Some(d) = &self.dial {
            out.extend(d.problems());
        }
        out
    }
}
