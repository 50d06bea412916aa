//! Microsoft Dynamics 365 Business Central, API v2.0, as its public documentation describes it:
//!
//! - Entra ID client credentials: `POST /<tenant>/oauth2/v2.0/token` (form: `grant_type`,
//!   `client_id`, `client_secret`, `scope = https://api.businesscentral.dynamics.com/.default`),
//!   answer `{token_type, expires_in, ext_expires_in, access_token}`; the token expires after
//!   `expires_in` seconds (configurable, [`MockErp::bc_token_lifetime`]).
//!   <https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/automation-apis-using-s2s-authentication>
//! - `GET /api/v2.0/companies` and `/api/v2.0/companies(<id>)/<entity>`, answers
//!   `{"@odata.context", "value": [...], "@odata.nextLink"}`; errors `{"error": {"code",
//!   "message"}}` (codes from
//!   <https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/dynamics-error-codes>).
//! - `$filter` (`and` of `field op literal`; `or` is refused as documented in
//!   <https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/odata-known-limitations>),
//!   `$orderby` (the primary key `id` is always the last sort key), `$expand`, `$skip`.
//! - Server-driven paging: `Prefer: odata.maxpagesize=<n>` (at most 20,000, the default),
//!   `@odata.nextLink` with a `$skiptoken` holding the sort key of the last record (keyset).
//!   **Quirk**: with `$top` the answer has no nextLink, even when more records match
//!   (<https://github.com/microsoft/AL/issues/6858>).
//! - 6,000 requests per 5 minutes per principal, answered 429 with `Retry-After` beyond that
//!   (the window is configurable for tests, [`MockErp::bc_rate_limit`]).
//!   <https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-rate-limits>

use super::query::{self, header, param};
use super::{MockErp, State, json};
use crate::paging::encode_component;
use serde_json::{Value, json};
use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use wiremock::{Request, ResponseTemplate};

/// The Entra ID tenant of the mock (the token URL's path).
pub const BC_TENANT: &str = "kontor-demo.onmicrosoft.com";
/// The app registration's client id.
pub const BC_CLIENT_ID: &str = "3f6a1c2e-8b4d-4e5f-9a7b-2c1d0e9f8a71";
/// The app registration's client secret.
pub const BC_CLIENT_SECRET: &str = "kontor~demo.BC-client-secret_4711";
/// The scope of the Business Central API.
pub const BC_SCOPE: &str = "https://api.businesscentral.dynamics.com/.default";
/// The company whose data the mock serves (`company = "CRONUS AG"`).
pub const BC_COMPANY: &str = "CRONUS AG";
/// (id, name, displayName) of the companies; only the first has data.
pub const BC_COMPANIES: &[(&str, &str, &str)] = &[
    (
        "6a3b2f10-8d4c-ef11-8a6d-6045bdc8c192",
        BC_COMPANY,
        "CRONUS AG",
    ),
    (
        "9c1e44d2-8d4c-ef11-8a6d-6045bdc8c192",
        "CRONUS International Ltd.",
        "CRONUS International Ltd.",
    ),
    (
        "b7d05a31-8d4c-ef11-8a6d-6045bdc8c192",
        "My Company",
        "Meine Testfirma GmbH",
    ),
];
const MAX_PAGE: usize = 20_000;
const DOCUMENTED_LIMIT: (usize, Duration) = (6000, Duration::from_secs(300));

/// Token lifetimes, the request window of the rate limit.
pub struct BcState {
    lifetime: u64,
    expiry: HashMap<String, Instant>,
    limit: (usize, Duration),
    window: VecDeque<Instant>,
}

impl Default for BcState {
    fn default() -> Self {
        BcState {
            lifetime: 3599,
            expiry: HashMap::new(),
            limit: DOCUMENTED_LIMIT,
            window: VecDeque::new(),
        }
    }
}

impl MockErp {
    /// `token_url` of the mock's Entra ID token endpoint.
    pub fn bc_token_url(&self) -> String {
        format!("{}/{BC_TENANT}/oauth2/v2.0/token", self.uri())
    }

    /// `expires_in` of the tokens issued from now on (default 3599 s, as Entra ID).
    pub fn bc_token_lifetime(&self, secs: u64) {
        self.lock().bc.lifetime = secs;
    }

    /// The rate limit: at most `n` data requests in any window of `per` (default 6,000 per
    /// 5 minutes, as documented).
    pub fn bc_rate_limit(&self, n: usize, per: Duration) {
        let mut st = self.lock();
        st.bc.limit = (n.max(1), per);
        st.bc.window.clear();
    }
}

/// The error body of Business Central.
pub fn error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": format!("{message}  CorrelationId:  5e1f6a90-2c4b-4d8e-9f3a-7b6c5d4e3f21.")}})
}

/// The body of an injected fault with this status.
pub fn fault_body(status: u16) -> Value {
    match status {
        429 => error(
            "Application_TooManyRequests",
            "Too many requests reached. Please retry after the time given in Retry-After.",
        ),
        503 => error(
            "Internal_ServiceUnavailable",
            "The service is temporarily unavailable.",
        ),
        _ => error("Internal_ServerError", &format!("injected {status}")),
    }
}

pub fn unauthorized() -> (ResponseTemplate, u16) {
    let t = ResponseTemplate::new(401)
        .insert_header(
            "WWW-Authenticate",
            "Bearer authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"invalid_token\"",
        )
        .set_body_json(error(
            "Authentication_InvalidCredentials",
            "The server has rejected the client credentials.",
        ));
    (t, 401)
}

/// Is the request's bearer token one the token endpoint issued and not yet expired?
pub fn authorized(st: &State, req: &Request) -> bool {
    let Some(token) =
        header(req, "authorization").and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned))
    else {
        return false;
    };
    st.sessions.contains(&token)
        && st
            .bc
            .expiry
            .get(&token)
            .is_some_and(|e| Instant::now() < *e)
}

fn form(req: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn aad_error(status: u16, error: &str, description: &str) -> (ResponseTemplate, u16) {
    json(
        status,
        json!({"error": error, "error_description": description, "error_codes": [7000215]}),
    )
}

/// The Entra ID token endpoint; `None` when the request is not for it.
pub fn token(st: &mut State, req: &Request) -> Option<(ResponseTemplate, u16)> {
    let path = req.url.path();
    let tenant = path
        .strip_suffix("/oauth2/v2.0/token")?
        .trim_start_matches('/');
    if tenant != BC_TENANT {
        return Some(aad_error(
            400,
            "invalid_request",
            &format!("AADSTS90002: Tenant '{tenant}' not found."),
        ));
    }
    if req.method.as_str() != "POST" {
        return Some(aad_error(
            405,
            "invalid_request",
            "AADSTS900561: POST expected.",
        ));
    }
    let f = form(req);
    // client_secret_post (the documented form) or client_secret_basic.
    let basic = header(req, "authorization")
        .and_then(|h| h.strip_prefix("Basic ").map(str::to_owned))
        .and_then(|b| base64_decode(&b))
        .and_then(|s| {
            s.split_once(':').map(|(i, p)| {
                let dec = |x: &str| {
                    url::form_urlencoded::parse(format!("x={x}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                (dec(i), dec(p))
            })
        });
    let (id, secret) = match basic {
        Some(pair) => pair,
        None => (
            f.get("client_id").cloned().unwrap_or_default(),
            f.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    if f.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Some(aad_error(400, "unsupported_grant_type", "AADSTS70003"));
    }
    if f.get("scope").map(String::as_str) != Some(BC_SCOPE) {
        return Some(aad_error(
            400,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid.",
        ));
    }
    if id != BC_CLIENT_ID || secret != BC_CLIENT_SECRET {
        return Some(aad_error(
            401,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
        ));
    }
    st.logins += 1;
    let token = format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{:016x}{:016x}.sig",
        fastrand::u64(..),
        fastrand::u64(..)
    );
    let lifetime = st.bc.lifetime;
    st.sessions.insert(token.clone());
    st.bc.expiry.insert(
        token.clone(),
        Instant::now() + Duration::from_secs(lifetime),
    );
    Some(json(
        200,
        json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}),
    ))
}

fn base64_decode(s: &str) -> Option<String> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim().bytes().filter(|c| *c != b'=') {
        let v = T.iter().position(|t| *t == c)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).ok()
}

type Answer = (Value, Vec<(String, String)>, u16);

fn bad(code: &str, message: &str, status: u16) -> Answer {
    (error(code, message), Vec::new(), status)
}

/// Over the rate limit: the `Retry-After` seconds until the oldest request leaves the window.
fn throttle(st: &mut State) -> Option<u64> {
    let now = Instant::now();
    let (n, per) = st.bc.limit;
    while st.bc.window.front().is_some_and(|t| now - *t >= per) {
        st.bc.window.pop_front();
    }
    if st.bc.window.len() >= n {
        let oldest = *st.bc.window.front()?;
        return Some((per - (now - oldest)).as_secs_f64().ceil().max(1.0) as u64);
    }
    st.bc.window.push_back(now);
    None
}

/// A data request.
pub fn answer(st: &mut State, req: &Request) -> Answer {
    if let Some(wait) = throttle(st) {
        let (n, per) = st.bc.limit;
        let (body, _, code) = bad(
            "Application_TooManyRequests",
            &format!(
                "Too many requests reached. Maximum ({n}) in {} seconds.",
                per.as_secs()
            ),
            429,
        );
        return (body, vec![("Retry-After".into(), wait.to_string())], code);
    }
    let Some(rest) = req.url.path().strip_prefix("/api/v2.0/") else {
        return bad(
            "BadRequest_NotFound",
            "Bad Request - Error in query syntax.",
            404,
        );
    };
    let base = &st.base;
    if rest == "companies" {
        let list: Vec<Value> = BC_COMPANIES
            .iter()
            .map(|(id, name, display)| {
                json!({
                    "@odata.etag": "W/\"JzE5OzEyMzQ1Njc4OTAxMjM0NTY3ODkwMTswMDsn\"",
                    "id": id, "systemVersion": "25.1.25678.26543", "timestamp": 50516,
                    "name": name, "displayName": display, "businessProfileId": "",
                    "systemCreatedAt": "2026-01-04T16:55:47.367Z",
                    "systemCreatedBy": "00000000-0000-0000-0000-000000000001",
                    "systemModifiedAt": "2026-01-04T16:55:47.367Z",
                    "systemModifiedBy": "00000000-0000-0000-0000-000000000001",
                })
            })
            .collect();
        return listing(list, req, base, "companies", &["name"]);
    }
    let Some((company, entity)) = rest
        .strip_prefix("companies(")
        .and_then(|r| r.split_once(")/"))
    else {
        return bad(
            "BadRequest_ResourceNotFound",
            &format!("Resource not found for the segment '{rest}'."),
            404,
        );
    };
    let Some(index) = BC_COMPANIES.iter().position(|c| c.0 == company) else {
        return bad(
            "Internal_CompanyNotFound",
            "Cannot process the request because the default company cannot be found.",
            404,
        );
    };
    let Some(all) = st.data.streams.get(entity) else {
        return bad(
            "BadRequest_ResourceNotFound",
            &format!("Resource not found for the segment '{entity}'."),
            404,
        );
    };
    let list = if index == 0 { all.clone() } else { Vec::new() };
    listing(
        list,
        req,
        base,
        &format!("companies({company})/{entity}"),
        &["number"],
    )
}

/// A stamp or date literal as an instant, when it is one.
fn instant(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(s.trim()).ok()
}

fn cmp(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (
        a.and_then(Value::as_str).and_then(instant),
        b.and_then(Value::as_str).and_then(instant),
    ) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => query::cmp_values(a, b),
    }
}

/// `field op literal` joined by `and`.
fn parse_filter(f: &str) -> Result<Vec<(String, String, Value)>, String> {
    if f.to_lowercase().contains(" or ") {
        return Err(
            "The 'OR' operator is not supported on distinct fields on an OData filter.".into(),
        );
    }
    let mut out = Vec::new();
    for part in f.split(" and ") {
        let part = part.trim().trim_start_matches('(').trim_end_matches(')');
        let mut it = part.splitn(3, ' ');
        let (Some(field), Some(op), Some(lit)) = (it.next(), it.next(), it.next()) else {
            return Err(format!("Expression expected in '{part}'."));
        };
        if !["eq", "ne", "gt", "ge", "lt", "le"].contains(&op) {
            return Err(format!("Unsupported operator '{op}'."));
        }
        let lit = lit.trim();
        let value = if let Some(q) = lit.strip_prefix('\'').and_then(|l| l.strip_suffix('\'')) {
            Value::String(q.replace("''", "'"))
        } else if instant(lit).is_some() {
            Value::String(lit.to_owned())
        } else if let Ok(v) = serde_json::from_str::<Value>(lit) {
            v
        } else {
            return Err(format!("Unable to convert '{lit}'."));
        };
        out.push((field.to_owned(), op.to_owned(), value));
    }
    Ok(out)
}

fn holds(rec: &Value, field: &str, op: &str, lit: &Value) -> bool {
    let o = cmp(rec.get(field), Some(lit));
    match op {
        "eq" => o == Ordering::Equal,
        "ne" => o != Ordering::Equal,
        "gt" => o == Ordering::Greater,
        "ge" => o != Ordering::Less,
        "lt" => o == Ordering::Less,
        _ => o != Ordering::Greater,
    }
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Value> {
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    serde_json::from_slice(&bytes?).ok()
}

/// Filter, sort, keyset continuation, `$skip`/`$top`, page size and expansion of a list.
fn listing(
    mut list: Vec<Value>,
    req: &Request,
    base: &str,
    context: &str,
    default_sort: &[&str],
) -> Answer {
    if let Some(f) = param(req, "$filter") {
        match parse_filter(&f) {
            Ok(conds) => list.retain(|r| conds.iter().all(|(f, op, v)| holds(r, f, op, v))),
            Err(m) => return bad("BadRequest", &m, 400),
        }
    }
    let mut keys: Vec<(String, bool)> = match param(req, "$orderby") {
        Some(o) => o
            .split(',')
            .map(|k| {
                let mut it = k.split_whitespace();
                let f = it.next().unwrap_or("").to_owned();
                (f, it.next().is_some_and(|d| d.eq_ignore_ascii_case("desc")))
            })
            .collect(),
        None => default_sort
            .iter()
            .map(|k| ((*k).to_owned(), false))
            .collect(),
    };
    if !keys.iter().any(|(k, _)| k == "id") {
        keys.push(("id".into(), false));
    }
    let order = |a: &Value, b: &Value| {
        for (k, desc) in &keys {
            let o = cmp(a.get(k), b.get(k));
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    };
    list.sort_by(|a, b| order(a, b));
    if let Some(t) = param(req, "$skiptoken") {
        let Some(Value::Object(after)) = unhex(&t) else {
            return bad(
                "BadRequest_InvalidToken",
                "The skip token is not valid.",
                400,
            );
        };
        let after = Value::Object(after);
        list.retain(|r| order(r, &after) == Ordering::Greater);
    }
    let skip: usize = param(req, "$skip")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let top: Option<usize> = param(req, "$top").and_then(|v| v.parse().ok());
    let size = header(req, "prefer")
        .and_then(|p| {
            p.split(',').find_map(|x| {
                x.trim()
                    .strip_prefix("odata.maxpagesize=")
                    .map(str::to_owned)
            })
        })
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .map(|n| n.min(MAX_PAGE));
    let rest: Vec<Value> = list.into_iter().skip(skip).collect();
    let limit = size.unwrap_or(MAX_PAGE).min(top.unwrap_or(usize::MAX));
    let more = rest.len() > limit;
    let mut page: Vec<Value> = rest.into_iter().take(limit).collect();
    let expand: Vec<String> = param(req, "$expand")
        .map(|e| e.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    for e in &expand {
        if !page.iter().all(|r| r.get(e).is_some()) {
            return bad(
                "BadRequest_NotFound",
                &format!("Could not find a property named '{e}'."),
                400,
            );
        }
    }
    for r in &mut page {
        if let Value::Object(m) = r {
            m.retain(|k, v| !v.is_array() || expand.contains(k));
        }
    }
    // The quirk: with $top no nextLink, whether or not more records match.
    let next = match page.last() {
        Some(last) if more && top.is_none() => {
            let key: serde_json::Map<String, Value> = keys
                .iter()
                .filter_map(|(k, _)| last.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            let mut q: Vec<String> = req
                .url
                .query_pairs()
                .filter(|(k, _)| k != "$skiptoken" && k != "$skip")
                .map(|(k, v)| format!("{}={}", encode_component(&k), encode_component(&v)))
                .collect();
            q.push(format!(
                "$skiptoken={}",
                hex(&Value::Object(key).to_string())
            ));
            Some(format!("{base}{}?{}", req.url.path(), q.join("&")))
        }
        _ => None,
    };
    let mut body = json!({
        "@odata.context": format!("{base}/api/v2.0/$metadata#{context}"),
        "value": page,
    });
    if let Some(n) = next {
        body["@odata.nextLink"] = json!(n);
    }
    let headers = size
        .map(|n| {
            vec![(
                "Preference-Applied".to_owned(),
                format!("odata.maxpagesize={n}"),
            )]
        })
        .unwrap_or_default();
    (body, headers, 200)
}
