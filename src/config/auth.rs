//! `[auth]`: how people sign in to the web page (sessions, lockout).

use super::sections::Problem;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// A session ends after this long without a request (`30m`).
    #[serde(default = "default_idle")]
    pub session_idle: String,
    /// A session ends this long after sign-in, however busy (`12h`).
    #[serde(default = "default_max")]
    pub session_max: String,
    /// Failed sign-ins in a row that lock an account (0: never).
    #[serde(default = "default_lockout_after")]
    pub lockout_after: u32,
    /// How long a locked account stays locked (`15m`; `kontor user unlock` lifts it).
    #[serde(default = "default_lockout_for")]
    pub lockout_for: String,
    /// `[auth.oidc]`: sign-in through an OpenID Connect provider (Entra ID, Keycloak, Google).
    #[serde(default)]
    pub oidc: Option<OidcSection>,
}

/// `[auth.oidc]`: authorization code flow with PKCE; role and team from the ID token's claims.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSection {
    /// The provider's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    /// A file with the client secret (none: a public client, PKCE only).
    #[serde(default)]
    pub client_secret_file: Option<String>,
    /// `https://kontor.example.com/auth/oidc/callback`, as registered at the provider.
    pub redirect_url: String,
    /// The claim with the person's groups or roles (a string or a list).
    #[serde(default = "default_role_claim")]
    pub role_claim: String,
    /// The claim with the person's team (a string, or the first of a list).
    #[serde(default)]
    pub team_claim: Option<String>,
    /// The claim whose value becomes the user name.
    #[serde(default = "default_name_claim")]
    pub name_claim: String,
    /// Claim value → kontor role (sales, service, ops): `{ "kontor-sales" = "sales" }`.
    pub role_map: std::collections::BTreeMap<String, String>,
    /// Scopes to ask for besides `openid`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

fn default_role_claim() -> String {
    "groups".into()
}
fn default_name_claim() -> String {
    "preferred_username".into()
}
fn default_scopes() -> Vec<String> {
    vec!["profile".into(), "email".into()]
}

fn default_idle() -> String {
    "30m".into()
}
fn default_max() -> String {
    "12h".into()
}
fn default_lockout_after() -> u32 {
    5
}
fn default_lockout_for() -> String {
    "15m".into()
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            session_idle: default_idle(),
            session_max: default_max(),
            lockout_after: default_lockout_after(),
            lockout_for: default_lockout_for(),
            oidc: None,
        }
    }
}

/// `[auth]`'s spans as durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthTimes {
    pub idle: Duration,
    pub max: Duration,
    pub lockout_for: Duration,
}

impl AuthSection {
    /// The timeouts (the defaults where a value does not parse: `check` reports it).
    pub fn times(&self) -> AuthTimes {
        let d = |s: &str, default: u64| {
            kontor_connector::parse_duration(s).unwrap_or(Duration::from_secs(default))
        };
        AuthTimes {
            idle: d(&self.session_idle, 30 * 60),
            max: d(&self.session_max, 12 * 3600),
            lockout_for: d(&self.lockout_for, 15 * 60),
        }
    }

    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for (k, v) in [
            ("session_idle", &self.session_idle),
            ("session_max", &self.session_max),
            ("lockout_for", &self.lockout_for),
        ] {
            match kontor_connector::parse_duration(v) {
                Err(e) => out.push((vec!["auth".to_owned(), k.to_owned()], e)),
                Ok(d) if d.is_zero() => out.push((
                    vec!["auth".to_owned(), k.to_owned()],
                    format!("{k} must be longer than 0"),
                )),
                Ok(_) => {}
            }
        }
        if let Some(o) = &self.oidc {
            let at = |k: &str| vec!["auth".to_owned(), "oidc".to_owned(), k.to_owned()];
            for (k, v) in [("issuer", &o.issuer), ("redirect_url", &o.redirect_url)] {
                if !(v.starts_with("https://") || v.starts_with("http://")) {
                    out.push((at(k), format!("{k} `{v}`: use an http(s) URL")));
                }
            }
            if o.role_map.is_empty() {
                out.push((
                    at("role_map"),
                    "role_map: map at least one claim value to sales, service or ops".into(),
                ));
            }
            for (claim, role) in &o.role_map {
                if !["sales", "service", "ops"].contains(&role.as_str()) {
                    out.push((
                        at("role_map"),
                        format!("role_map `{claim}` = `{role}`: use sales, service or ops"),
                    ));
                }
            }
        }
        out
    }
}
