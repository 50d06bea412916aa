//! Configuration as written by people: the `[[connector]]` settings in `kontor.toml` and the
//! `[source]` section of the mapping file. Parsed with `deny_unknown_fields`; the checks that
//! serde cannot do live in [`crate::endpoint`] and [`crate::auth`].

use serde::Deserialize;
use std::collections::BTreeMap;

/// Kind-specific keys of a `kind = "rest"` connector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://erp.example.com` (endpoint paths are appended).
    pub base_url: String,
    /// `erpnext`, `sap-b1`, `weclapp` or `jtl-wawi`: a built-in `[source]` and mapping.
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub auth: Option<AuthSettings>,
    /// `"5/s"`, `"300/min"`, `"1000/h"`; requests are spaced evenly (period / n, plus 5 %
    /// slack for network jitter), so no window of that length ever sees more.
    #[serde(default)]
    pub rate_limit: Option<String>,
    /// Per-request timeout (connect + response + body), default `30s`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Retries of one request (5xx, 429, connection errors, timeouts, invalid JSON), default 5.
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// Retries of all requests of one run together, default 50.
    #[serde(default)]
    pub retry_budget: Option<u32>,
    /// First backoff delay, doubled per retry with jitter, default `500ms`.
    #[serde(default)]
    pub backoff: Option<String>,
    /// Longest backoff delay, default `30s`.
    #[serde(default)]
    pub max_backoff: Option<String>,
    /// Longest `Retry-After` the connector waits; a longer one fails the run, default `300s`.
    #[serde(default)]
    pub max_retry_wait: Option<String>,
    /// Records per page for every endpoint (an endpoint's own `page_size` wins), default 100.
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Read every endpoint completely each run, ignoring modified fields.
    #[serde(default)]
    pub full_refresh: Option<bool>,
    /// The committed cursor never passes the run start minus this, default `5m`.
    #[serde(default)]
    pub safety_margin: Option<String>,
    /// Time zone of zone-less timestamps, default `Europe/Berlin`.
    #[serde(default)]
    pub server_timezone: Option<String>,
    /// Read only these streams (default: all endpoints).
    #[serde(default)]
    pub streams: Option<Vec<String>>,
    /// Drift restarts of one query before the run fails, default 5.
    #[serde(default)]
    pub max_drift_restarts: Option<u32>,
    /// Extra request headers for every endpoint (not secrets: app ids, tenant, api version);
    /// they replace the endpoints' headers of the same name.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// Periodic full re-scan for every incremental endpoint (overrides the endpoints'
    /// `full_every`), e.g. `24h`.
    #[serde(default)]
    pub full_every: Option<String>,
}

/// `auth = { kind = "...", ... }`. Secrets only as `*_env` / `*_file` references.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub kind: String,
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default)]
    pub token_file: Option<String>,
    #[serde(default)]
    pub key_env: Option<String>,
    #[serde(default)]
    pub key_file: Option<String>,
    /// api_key: header name (default `X-API-Key`).
    #[serde(default)]
    pub header: Option<String>,
    /// api_key: send the key as this query parameter instead of a header.
    #[serde(default)]
    pub query_param: Option<String>,
    /// api_key: text before the key in the header value (`"Wawi "` → `Wawi <key>`).
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub username_env: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<String>,
    /// sap_b1_session: the company database.
    #[serde(default)]
    pub company_db: Option<String>,
    /// sap_b1_session: login path, default `/b1s/v1/Login`.
    #[serde(default)]
    pub login_path: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    /// oauth2: the Microsoft Entra ID tenant (GUID or domain); the token URL is then
    /// `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`.
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_id_env: Option<String>,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    #[serde(default)]
    pub client_secret_file: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    /// oauth2: `basic` (default) or `post` for the client credentials.
    #[serde(default)]
    pub client_auth: Option<String>,
    // Inline secrets: accepted by the parser only to reject them with a clear message.
    #[serde(default)]
    pub token: Option<toml::Value>,
    #[serde(default)]
    pub key: Option<toml::Value>,
    #[serde(default)]
    pub api_key: Option<toml::Value>,
    #[serde(default)]
    pub secret: Option<toml::Value>,
    #[serde(default)]
    pub api_secret: Option<toml::Value>,
    #[serde(default)]
    pub password: Option<toml::Value>,
    #[serde(default)]
    pub client_secret: Option<toml::Value>,
}

/// The mapping file's `[source]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    #[serde(default)]
    pub endpoint: Vec<EndpointConfig>,
    /// Read only these streams.
    #[serde(default)]
    pub streams: Option<Vec<String>>,
    /// Default page size of the endpoints.
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Appended to the error of an HTTP 401 that a fresh login did not cure (what the
    /// vendor's 401 usually means, e.g. an expired token, and where to get a new one).
    #[serde(default)]
    pub unauthorized_hint: Option<String>,
    /// Values the endpoint paths need that the API itself tells (`{company_id}`).
    #[serde(default)]
    pub lookup: Vec<LookupConfig>,
}

/// `[[source.lookup]]`: fills the placeholder `{name}` in endpoint paths with a field of the
/// record that a list endpoint returns for the value of a connector setting (Business
/// Central: the company id for `company = "CRONUS AG"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupConfig {
    /// The placeholder's name (`{company_id}` in endpoint paths).
    pub name: String,
    /// The connector key whose value is looked for (required in the connector).
    pub setting: String,
    /// What the setting holds, for the error when it is missing.
    #[serde(default)]
    pub description: Option<String>,
    /// The list endpoint below `base_url`.
    pub path: String,
    /// `/`-separated JSON path of the records array; empty = the body is the array.
    #[serde(default)]
    pub records: String,
    /// The field compared with the setting's value.
    pub match_field: String,
    /// The field whose value fills the placeholder.
    pub value_field: String,
    /// JSON path of a next-page link to follow (`@odata.nextLink`).
    #[serde(default)]
    pub next: Option<String>,
}

/// A query parameter or header value: text (with `{since}` placeholders), number or bool.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Int(i64),
    Bool(bool),
}

impl Scalar {
    pub fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// `[[source.endpoint]]`: one entity stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Stream name (unit key, `stream = "..."` of mapping targets).
    pub stream: String,
    /// Path below `base_url`, e.g. `/api/resource/Sales Invoice`.
    pub path: String,
    /// `/`-separated JSON path of the records array; empty = the body is the array.
    #[serde(default)]
    pub records: String,
    /// Path of the record id (tiebreak and dedup).
    #[serde(default)]
    pub id_field: Option<String>,
    /// Path of the modification time; without it the endpoint is read in full every run.
    #[serde(default)]
    pub modified_field: Option<String>,
    /// Separate time-of-day field combined with a date in `modified_field` (SAP B1).
    #[serde(default)]
    pub modified_time_field: Option<String>,
    /// `auto` (default), `epoch_ms`, `epoch_s`, `rfc3339` or a chrono pattern.
    #[serde(default)]
    pub modified_format: Option<String>,
    /// Static query parameters (the sort belongs here).
    #[serde(default)]
    pub query: BTreeMap<String, Scalar>,
    /// Parameters set when a modified-since value is known; they replace same-named `query`
    /// parameters. Placeholders: `{since}`, `{since:%Y-%m-%d}`, `{page_size}`.
    #[serde(default)]
    pub since: BTreeMap<String, Scalar>,
    /// Parameters that replace same-named `query` parameters in full-refresh mode (a sort by
    /// id instead of modified).
    #[serde(default)]
    pub full_query: BTreeMap<String, Scalar>,
    /// Extra request headers (`Prefer = "odata.maxpagesize={page_size}"`).
    #[serde(default)]
    pub headers: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Upper bound when the page size is raised to get past a group of equal timestamps
    /// (page-number paging), default 10 × page_size.
    #[serde(default)]
    pub max_page_size: Option<u32>,
    /// Required, except for an endpoint with a `parent` (one GET per parent record).
    #[serde(default)]
    pub paging: Option<PagingConfig>,
    /// Fields computed into the record before it is handed on.
    #[serde(default)]
    pub derive: BTreeMap<String, DeriveConfig>,
    #[serde(default)]
    pub full_refresh: Option<bool>,
    /// The most records the API returns for one query (lexoffice's voucherlist: 10,000).
    /// A page reaching past it fails the run with a clear error instead of the server's.
    #[serde(default)]
    pub max_results: Option<u64>,
    /// The `since` value is sent this much earlier (`1s`, `1d`): for exclusive (`>`) or
    /// coarse filters; the cursor skips what was delivered before.
    #[serde(default)]
    pub since_lookback: Option<String>,
    /// Incremental endpoints whose filter misses changes (e.g. a creation date): read the
    /// endpoint in full again when the last full scan is older than this (`24h`).
    #[serde(default)]
    pub full_every: Option<String>,
    /// Read a list first and this endpoint once per listed record (`{parent_id}` in `path`);
    /// such an endpoint is read in full every run.
    #[serde(default)]
    pub parent: Option<ParentConfig>,
}

/// `parent = { path = "/api/v1/products", id_field = "id", into = "product", ... }`: the list
/// whose records this endpoint is read for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentConfig {
    pub path: String,
    #[serde(default)]
    pub records: String,
    /// The parent's id, put into the child path as `{parent_id}`.
    pub id_field: String,
    /// Field of each child record that receives the whole parent record.
    pub into: String,
    #[serde(default)]
    pub query: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub headers: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub max_page_size: Option<u32>,
    pub paging: PagingConfig,
}

/// `paging = { style = "...", ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum PagingConfig {
    /// `?offset=200&limit=100`.
    Offset {
        #[serde(default = "default_offset_param")]
        offset_param: String,
        #[serde(default = "default_limit_param")]
        size_param: String,
        /// Re-read the previous page's last record to detect a shifted result (default true).
        #[serde(default)]
        verify_overlap: Option<bool>,
    },
    /// `?page=3&page_size=100`.
    Page {
        #[serde(default = "default_page_param")]
        page_param: String,
        #[serde(default = "default_page_size_param")]
        size_param: String,
        #[serde(default)]
        first_page: Option<u64>,
        /// When paging by number past a group of equal stamps, re-read the previous page's
        /// last record (`page = n − 1`, size 1) to detect a shifted result (default false).
        #[serde(default)]
        verify_overlap: Option<bool>,
        /// JSON path of a "has next page" flag (`HasNextPage`): paging stops when it is
        /// false and goes on when it is true, also after a short page (a server that caps
        /// the page size). Without it, a short page ends the query.
        #[serde(default)]
        has_next: Option<String>,
    },
    /// A link to the next page in the body (`odata.nextLink`, `@odata.nextLink`, `links/next`).
    NextLink {
        #[serde(default = "default_next_field")]
        next: String,
        #[serde(default)]
        size_param: Option<String>,
    },
    /// RFC 8288 `Link: <...>; rel="next"` header.
    LinkHeader {
        #[serde(default)]
        size_param: Option<String>,
    },
    /// An opaque token in the body, sent back as a parameter.
    Cursor {
        #[serde(default = "default_cursor_param")]
        cursor_param: String,
        next: String,
        #[serde(default)]
        size_param: Option<String>,
    },
}

fn default_offset_param() -> String {
    "offset".into()
}
fn default_limit_param() -> String {
    "limit".into()
}
fn default_page_param() -> String {
    "page".into()
}
fn default_page_size_param() -> String {
    "page_size".into()
}
fn default_next_field() -> String {
    "@odata.nextLink".into()
}
fn default_cursor_param() -> String {
    "cursor".into()
}

/// `derive = { OpenAmount = { subtract = ["DocTotal", "PaidToDate"] } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveConfig {
    /// Exact decimal difference of two numeric fields.
    #[serde(default)]
    pub subtract: Option<[String; 2]>,
    /// A calendar date (`YYYY-MM-DD`, server time zone) from epoch milliseconds.
    #[serde(default)]
    pub date_from_epoch_ms: Option<String>,
    /// A field of another resource, fetched by an id of the record (cached per run).
    #[serde(default)]
    pub lookup: Option<DeriveLookupConfig>,
}

/// `lookup = { path = "/v1/contacts/{id}", id = "contactId", field = "roles/customer/number" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveLookupConfig {
    /// Path below `base_url` with `{id}` where the record's id goes (percent-encoded).
    pub path: String,
    /// Path of the id in the record; a record without it gets no value.
    pub id: String,
    /// Path of the value in the looked-up resource.
    pub field: String,
}

pub use kontor_connector::{parse_duration, parse_rate};

#[cfg(test)]
mod tests {
    use super::*;
    use kontor_connector::{ConfigPart, parse_table};
    use std::time::Duration;

    #[test]
    fn durations_and_rates() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("3 weeks").is_err());
        assert_eq!(parse_rate("5/s").unwrap(), (5, Duration::from_secs(1)));
        assert_eq!(
            parse_rate("300/min").unwrap(),
            (300, Duration::from_secs(60))
        );
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("fast").is_err());
    }

    #[test]
    fn paging_styles_parse_and_reject_unknown_keys() {
        let t: toml::Table = toml::from_str(
            r#"[[endpoint]]
stream = "x"
path = "/x"
paging = { style = "offset", offset_param = "limit_start", size_param = "limit_page_length" }
"#,
        )
        .unwrap();
        let s: SourceConfig = parse_table(&t, ConfigPart::Source).unwrap();
        assert!(matches!(
            &s.endpoint[0].paging,
            Some(PagingConfig::Offset { offset_param, .. }) if offset_param == "limit_start"
        ));
        let t: toml::Table = toml::from_str(
            "[[endpoint]]\nstream = 'x'\npath = '/x'\npaging = { style = 'page', pag = 'p' }\n",
        )
        .unwrap();
        let err = parse_table::<SourceConfig>(&t, ConfigPart::Source).unwrap_err();
        assert!(err.message.contains("unknown field"), "{err}");
    }
}
