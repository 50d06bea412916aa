//! Sign-in through OpenID Connect (`[auth.oidc]`): the authorization code flow with PKCE.
//! `GET /auth/oidc/login` redirects to the provider; `GET /auth/oidc/callback` exchanges the
//! code, verifies the ID token (signature, issuer, audience, expiry, nonce), maps its role
//! claim through `role_map` and starts a session like a password sign-in.
//!
//! The flow's state, nonce and PKCE verifier travel in a short-lived HttpOnly cookie
//! (`SameSite=Lax`: the provider's redirect back is a cross-site navigation), so any node of a
//! cluster can take the callback.

use super::accounts::{self, PERSON_ROLES};
use super::auth::Role;
use super::error::ApiError;
use super::state::AppState;
use crate::config::OidcSection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use serde::Deserialize;
use std::sync::Arc;

const FLOW_COOKIE: &str = "kontor_oidc";

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Request(#[from] reqwest::Error),
    #[error("{0}")]
    Http(#[from] openidconnect::http::Error),
}

/// The provider's HTTP calls through kontor's reqwest (rustls), without following redirects.
async fn call(
    http: reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = req.into_parts();
    let res = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut out = openidconnect::http::Response::builder().status(res.status());
    for (k, v) in res.headers() {
        out = out.header(k, v);
    }
    Ok(out.body(res.bytes().await?.to_vec())?)
}

fn http_client() -> Result<reqwest::Client, ApiError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| unavailable(format!("HTTP client: {e}")))
}

fn unavailable(message: String) -> ApiError {
    tracing::warn!(%message, "OIDC sign-in failed");
    ApiError::new(StatusCode::BAD_GATEWAY, "oidc", message)
}

fn section(state: &AppState) -> Result<&OidcSection, ApiError> {
    state
        .cfg
        .auth
        .oidc
        .as_ref()
        .ok_or_else(|| ApiError::not_found("sign-in through OIDC is not configured ([auth.oidc])"))
}

async fn client(
    state: &AppState,
    o: &OidcSection,
    http: &reqwest::Client,
) -> Result<Client, ApiError> {
    let issuer =
        IssuerUrl::new(o.issuer.clone()).map_err(|e| unavailable(format!("issuer: {e}")))?;
    let h = http.clone();
    let fetch = move |r| call(h.clone(), r);
    let meta = CoreProviderMetadata::discover_async(issuer, &fetch)
        .await
        .map_err(|e| unavailable(format!("discovery at {}: {e}", o.issuer)))?;
    let secret = match &o.client_secret_file {
        Some(f) => {
            let s = std::fs::read_to_string(state.cfg.path(f))
                .map_err(|e| unavailable(format!("client_secret_file {f}: {e}")))?;
            Some(ClientSecret::new(s.trim().to_owned()))
        }
        None => None,
    };
    let redirect = RedirectUrl::new(o.redirect_url.clone())
        .map_err(|e| unavailable(format!("redirect_url: {e}")))?;
    Ok(
        CoreClient::from_provider_metadata(meta, ClientId::new(o.client_id.clone()), secret)
            .set_redirect_uri(redirect),
    )
}

fn secure(state: &AppState) -> &'static str {
    let https = state
        .cfg
        .server
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    if https { "; Secure" } else { "" }
}

/// `GET /auth/oidc/login`: to the provider.
pub async fn login(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let o = section(&state)?;
    let http = http_client()?;
    let client = client(&state, o, &http).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in &o.scopes {
        req = req.add_scope(Scope::new(s.clone()));
    }
    let (url, csrf, nonce) = req.set_pkce_challenge(challenge).url();
    let flow = format!(
        "{FLOW_COOKIE}={}.{}.{}; HttpOnly; SameSite=Lax; Path=/auth/oidc; Max-Age=600{}",
        csrf.secret(),
        nonce.secret(),
        verifier.secret(),
        secure(&state)
    );
    let mut res = StatusCode::SEE_OTHER.into_response();
    let h = res.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(url.as_str()).map_err(|_| unavailable("authorize URL".into()))?,
    );
    h.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&flow).map_err(|_| unavailable("flow cookie".into()))?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn flow_cookie(headers: &HeaderMap) -> Option<(String, String, String)> {
    let v = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == FLOW_COOKIE)?
        .1;
    let mut parts = v.split('.');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    Some((a.to_owned(), b.to_owned(), c.to_owned()))
}

/// The claim's values: a string, or the strings of a list.
fn claim_values(claims: &serde_json::Value, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The role a person gets: the first of their claim values that `role_map` maps.
pub fn map_role(o: &OidcSection, claims: &serde_json::Value) -> Option<Role> {
    claim_values(claims, &o.role_claim)
        .iter()
        .filter_map(|v| o.role_map.get(v))
        .filter_map(|r| Role::parse(r))
        .find(|r| PERSON_ROLES.contains(r))
}

/// `GET /auth/oidc/callback`: the provider sends the person back with a code.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Result<Response, ApiError> {
    let o = section(&state)?;
    if let Some(e) = q.error {
        return Err(ApiError::unauthorized(format!(
            "the provider refused: {e} {}",
            q.error_description.unwrap_or_default()
        )));
    }
    let (want_state, nonce, verifier) = flow_cookie(&headers).ok_or_else(|| {
        ApiError::bad_request("no sign-in in progress (start at /auth/oidc/login)")
    })?;
    let given = q.state.unwrap_or_default();
    if !accounts::constant_eq(&want_state, &given) {
        return Err(ApiError::bad_request("the sign-in's state does not match"));
    }
    let code = q
        .code
        .ok_or_else(|| ApiError::bad_request("the provider sent no code"))?;
    let http = http_client()?;
    let client = client(&state, o, &http).await?;
    let h = http.clone();
    let fetch = move |r| call(h.clone(), r);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| unavailable(format!("token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&fetch)
        .await
        .map_err(|e| unavailable(format!("code exchange: {e}")))?;
    use openidconnect::TokenResponse;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| unavailable("the provider sent no ID token".into()))?;
    // Signature, issuer, audience, expiry and nonce.
    id_token
        .claims(&client.id_token_verifier(), &Nonce::new(nonce))
        .map_err(|e| ApiError::unauthorized(format!("ID token: {e}")))?;
    // The verified token's claims, all of them (groups, team: the provider's own names).
    let jwt = serde_json::to_value(id_token)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let claims: serde_json::Value = jwt
        .split('.')
        .nth(1)
        .and_then(|p| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| unavailable("ID token claims".into()))?;
    let name = claim_values(&claims, &o.name_claim)
        .into_iter()
        .chain(claim_values(&claims, "email"))
        .find(|n| accounts::valid_user_name(n))
        .ok_or_else(|| {
            ApiError::forbidden(format!(
                "the ID token has no usable `{}` (letters, digits, - _ . @)",
                o.name_claim
            ))
        })?;
    let role = map_role(o, &claims).ok_or_else(|| {
        ApiError::forbidden(format!(
            "`{name}` has no kontor role: none of the `{}` values is in [auth.oidc] role_map",
            o.role_claim
        ))
    })?;
    let team = o
        .team_claim
        .as_ref()
        .and_then(|t| claim_values(&claims, t).into_iter().next());
    let user_id = state
        .store
        .upsert_oidc_user(&name, role.as_str(), team.as_deref())
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Data(m) => ApiError::conflict(m),
            other => other.into(),
        })?;
    state.store.sign_in_succeeded(user_id).await?;
    let signed_in = super::session::start_session(&state, user_id, &name, role, team).await?;
    // To the page, with the session cookie; the flow cookie is spent.
    let mut res = StatusCode::SEE_OTHER.into_response();
    let h = res.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static("/"));
    for c in signed_in.headers().get_all(header::SET_COOKIE) {
        h.append(header::SET_COOKIE, c.clone());
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}=; HttpOnly; SameSite=Lax; Path=/auth/oidc; Max-Age=0{}",
        secure(&state)
    )) {
        h.append(header::SET_COOKIE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_the_mapped_claim() {
        let o: OidcSection = toml::from_str(
            "issuer = \"https://id.example.com\"\nclient_id = \"kontor\"\nredirect_url = \"https://k/auth/oidc/callback\"\nrole_map = { \"kontor-service\" = \"service\", \"kontor-admin\" = \"root\" }\n",
        )
        .unwrap();
        let c = serde_json::json!({"groups": ["alle", "kontor-admin", "kontor-service"]});
        assert_eq!(map_role(&o, &c), Some(Role::Service));
        assert_eq!(
            map_role(&o, &serde_json::json!({"groups": "kontor-service"})),
            Some(Role::Service)
        );
        assert_eq!(map_role(&o, &serde_json::json!({"groups": ["alle"]})), None);
        assert_eq!(map_role(&o, &serde_json::json!({})), None);
    }
}
