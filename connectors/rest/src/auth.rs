//! Authentication kinds. Secret values are resolved on first use from environment variables
//! or files and live only in [`Secret`]s; every value seen is registered with the redactor.

use crate::error::RestError;
use crate::http::HttpClient;
use crate::secret::{Redactor, Secret, SecretRef};
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use url::Url;

/// A non-secret value that may also come from the environment (user names, client ids).
#[derive(Debug, Clone)]
pub enum Plain {
    Inline(String),
    Env(String),
}

impl Plain {
    fn resolve(&self) -> Result<String, RestError> {
        match self {
            Plain::Inline(s) => Ok(s.clone()),
            Plain::Env(name) => std::env::var(name).map_err(|_| RestError::Secret {
                name: format!("environment variable {name}"),
                reason: "is not set".into(),
            }),
        }
    }
}

#[derive(Debug, Clone)]
pub enum AuthKind {
    None,
    Bearer(SecretRef),
    ApiKey {
        key: SecretRef,
        header: HeaderName,
        query_param: Option<String>,
        /// Put before the key in the header value (`Wawi ` for JTL-Wawi).
        prefix: String,
    },
    Basic {
        username: Plain,
        password: SecretRef,
    },
    /// Frappe/ERPNext `Authorization: token key:secret`; the secret holds `key:secret`.
    Token(SecretRef),
    SapB1Session {
        company_db: String,
        username: Plain,
        password: SecretRef,
        login_url: Url,
    },
    OAuth2 {
        token_url: Url,
        client_id: Plain,
        client_secret: SecretRef,
        scope: Option<String>,
        basic: bool,
    },
}

/// Headers and query parameters to add to one request.
#[derive(Default)]
pub struct Credentials {
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub query: Option<(String, Secret)>,
}

#[derive(Default)]
struct State {
    secret: Option<Secret>,
    /// SAP B1: the `Cookie` header value; OAuth2: the access token and its expiry.
    session: Option<(Secret, Option<Instant>)>,
}

pub struct Auth {
    kind: AuthKind,
    state: Mutex<State>,
    redactor: Redactor,
    secret_params: Vec<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The kind holds only references (variable names, file paths), never values.
        f.debug_struct("Auth").field("kind", &self.kind).finish()
    }
}

fn sensitive(v: &str) -> Result<HeaderValue, RestError> {
    let mut h = HeaderValue::from_str(v).map_err(|_| RestError::Secret {
        name: "credential".into(),
        reason: "contains characters not allowed in an HTTP header".into(),
    })?;
    h.set_sensitive(true);
    Ok(h)
}

impl Auth {
    pub fn new(kind: AuthKind, redactor: Redactor) -> Auth {
        let secret_params = match &kind {
            AuthKind::ApiKey {
                query_param: Some(p),
                ..
            } => vec![p.clone()],
            _ => Vec::new(),
        };
        Auth {
            kind,
            state: Mutex::new(State::default()),
            redactor,
            secret_params,
        }
    }

    /// Query parameters whose values are secret (redacted from shown URLs).
    pub fn secret_query_params(&self) -> &[String] {
        &self.secret_params
    }

    async fn static_secret(&self, r: &SecretRef) -> Result<Secret, RestError> {
        let mut st = self.state.lock().await;
        if let Some(s) = &st.secret {
            return Ok(s.clone());
        }
        let s = r.resolve(&self.redactor)?;
        st.secret = Some(s.clone());
        Ok(s)
    }

    /// Credentials for the next request, logging in or fetching a token when needed.
    pub async fn credentials(&self, http: &HttpClient) -> Result<Credentials, RestError> {
        let mut c = Credentials::default();
        let auth = reqwest::header::AUTHORIZATION;
        match &self.kind {
            AuthKind::None => {}
            AuthKind::Bearer(r) => {
                let s = self.static_secret(r).await?;
                c.headers
                    .push((auth, sensitive(&format!("Bearer {}", s.expose()))?));
            }
            AuthKind::Token(r) => {
                let s = self.static_secret(r).await?;
                if let Some((k, v)) = s.expose().split_once(':') {
                    self.redactor.add(k);
                    self.redactor.add(v);
                } else {
                    return Err(RestError::Secret {
                        name: r.describe(),
                        reason: "must have the form api_key:api_secret".into(),
                    });
                }
                c.headers
                    .push((auth, sensitive(&format!("token {}", s.expose()))?));
            }
            AuthKind::ApiKey {
                key,
                header,
                query_param,
                prefix,
            } => {
                let s = self.static_secret(key).await?;
                match query_param {
                    Some(p) => c.query = Some((p.clone(), s)),
                    None => c.headers.push((
                        header.clone(),
                        sensitive(&format!("{prefix}{}", s.expose()))?,
                    )),
                }
            }
            AuthKind::Basic { username, password } => {
                let s = self.static_secret(password).await?;
                let user = username.resolve()?;
                let b64 = base64_encode(format!("{user}:{}", s.expose()).as_bytes());
                self.redactor.add(&b64);
                c.headers.push((auth, sensitive(&format!("Basic {b64}"))?));
            }
            AuthKind::SapB1Session { .. } => {
                let cookie = self.session(http).await?;
                c.headers
                    .push((reqwest::header::COOKIE, sensitive(cookie.expose())?));
            }
            AuthKind::OAuth2 { .. } => {
                let token = self.session(http).await?;
                c.headers
                    .push((auth, sensitive(&format!("Bearer {}", token.expose()))?));
            }
        }
        Ok(c)
    }

    /// Forgets a session or token after a 401. Returns whether a fresh login is possible.
    pub async fn invalidate(&self) -> bool {
        match self.kind {
            AuthKind::SapB1Session { .. } | AuthKind::OAuth2 { .. } => {
                self.state.lock().await.session = None;
                true
            }
            _ => false,
        }
    }

    async fn session(&self, http: &HttpClient) -> Result<Secret, RestError> {
        let mut st = self.state.lock().await;
        if let Some((s, expiry)) = &st.session
            && expiry.is_none_or(|e| Instant::now() < e)
        {
            return Ok(s.clone());
        }
        let fresh = match &self.kind {
            AuthKind::SapB1Session {
                company_db,
                username,
                password,
                login_url,
            } => {
                let pw = password.resolve(&self.redactor)?;
                self.sap_login(http, login_url, company_db, &username.resolve()?, &pw)
                    .await?
            }
            AuthKind::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
                basic,
            } => {
                let secret = client_secret.resolve(&self.redactor)?;
                self.oauth_token(
                    http,
                    token_url,
                    &client_id.resolve()?,
                    &secret,
                    scope.as_deref(),
                    *basic,
                )
                .await?
            }
            _ => return Err(RestError::Config("no session for this auth kind".into())),
        };
        st.session = Some(fresh.clone());
        Ok(fresh.0)
    }

    async fn sap_login(
        &self,
        http: &HttpClient,
        url: &Url,
        company_db: &str,
        user: &str,
        pw: &Secret,
    ) -> Result<(Secret, Option<Instant>), RestError> {
        let body = serde_json::json!({
            "CompanyDB": company_db,
            "UserName": user,
            "Password": pw.expose(),
        })
        .to_string();
        let build = move |rb: reqwest::RequestBuilder| {
            rb.header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
        };
        let resp = http.post_json(url, &build).await?;
        let session_id = resp
            .body
            .get("SessionId")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| cookie_value(&resp.headers, "B1SESSION"))
            .ok_or_else(|| RestError::Auth {
                url: http.shown(url),
                message: "login answer has no SessionId".into(),
            })?;
        self.redactor.add(&session_id);
        let mut cookie = format!("B1SESSION={session_id}");
        if let Some(route) = cookie_value(&resp.headers, "ROUTEID") {
            cookie.push_str(&format!("; ROUTEID={route}"));
        }
        // Log in again a minute before the server's idle timeout (minutes) would end it.
        let expiry = resp
            .body
            .get("SessionTimeout")
            .and_then(|v| v.to_string().trim_matches('"').parse::<u64>().ok())
            .map(|min| Instant::now() + Duration::from_secs((min * 60).saturating_sub(60)));
        tracing::info!(url = %http.shown(url), "SAP B1 session opened");
        Ok((Secret::new(cookie), expiry))
    }

    async fn oauth_token(
        &self,
        http: &HttpClient,
        url: &Url,
        client_id: &str,
        secret: &Secret,
        scope: Option<&str>,
        basic: bool,
    ) -> Result<(Secret, Option<Instant>), RestError> {
        let form = {
            let mut f = url::form_urlencoded::Serializer::new(String::new());
            f.append_pair("grant_type", "client_credentials");
            if let Some(s) = scope {
                f.append_pair("scope", s);
            }
            if !basic {
                f.append_pair("client_id", client_id);
                f.append_pair("client_secret", secret.expose());
            }
            f.finish()
        };
        let auth_header = if basic {
            let b64 = base64_encode(
                format!("{}:{}", form_enc(client_id), form_enc(secret.expose())).as_bytes(),
            );
            self.redactor.add(&b64);
            Some(sensitive(&format!("Basic {b64}"))?)
        } else {
            None
        };
        let build = move |rb: reqwest::RequestBuilder| {
            let rb = rb
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form.clone());
            match &auth_header {
                Some(h) => rb.header(reqwest::header::AUTHORIZATION, h.clone()),
                None => rb,
            }
        };
        let resp = http.post_json(url, &build).await?;
        let token = resp
            .body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| RestError::Auth {
                url: http.shown(url),
                message: "token answer has no access_token".into(),
            })?
            .to_owned();
        self.redactor.add(&token);
        let expiry = resp
            .body
            .get("expires_in")
            .and_then(|v| v.to_string().trim_matches('"').parse::<u64>().ok())
            .map(|s| Instant::now() + Duration::from_secs(s.saturating_sub(30)));
        tracing::info!(url = %http.shown(url), "OAuth2 access token fetched");
        Ok((Secret::new(token), expiry))
    }
}

fn form_enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn cookie_value(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().to_owned())
}

fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode("Müller:pw".as_bytes()), "TcO8bGxlcjpwdw==");
    }
}
