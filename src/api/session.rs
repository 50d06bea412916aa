//! Sign-in for people: `POST /api/v1/session` (user name and password) sets the session
//! cookie, `GET` tells who is signed in and the CSRF token, `DELETE` signs out,
//! `POST /api/v1/session/everywhere` ends all of the person's sessions.

use super::accounts::{self, PERSON_ROLES};
use super::auth::Role;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use super::state::{AppState, Caller, SessionCaller};
use crate::store::NewSession;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The longest password the server looks at (argon2 of a megabyte is a denial of service).
const MAX_PASSWORD: usize = 1024;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub user: String,
    pub password: String,
}

/// The signed-in person and the session's CSRF token (send it as `X-CSRF-Token` on every
/// POST, PUT, PATCH and DELETE).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub user: String,
    pub role: Role,
    pub team: Option<String>,
    pub csrf_token: String,
    /// The session ends at this time at the latest.
    pub expires_at: DateTime<Utc>,
    /// …and after this many seconds without a request.
    pub idle_timeout_seconds: u64,
    /// A number on the page can be dialled through the PBX (`[cti.dial]` names this person's
    /// or team's phone).
    pub click_to_dial: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignedOut {
    /// Sessions ended.
    pub ended: u64,
}

fn secure(state: &AppState) -> bool {
    state
        .cfg
        .server
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
}

fn info(state: &AppState, s: &SessionCaller, role: Role, team: Option<String>) -> SessionInfo {
    let click_to_dial = state
        .current()
        .cti
        .dial
        .as_ref()
        .is_some_and(|d| d.device_for(&s.user, team.as_deref()).is_some());
    SessionInfo {
        user: s.user.clone(),
        role,
        team,
        csrf_token: accounts::csrf_token(&s.id),
        expires_at: s.expires_at,
        idle_timeout_seconds: state.cfg.auth.times().idle.as_secs(),
        click_to_dial,
    }
}

fn wrong() -> ApiError {
    ApiError::unauthorized("wrong user name or password")
}

fn locked(until: DateTime<Utc>) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "locked",
        "the account is locked after too many failed sign-ins: try again later",
    );
    e.retry_after = Some((until - Utc::now()).num_seconds().max(1) as u64);
    e
}

/// Starts a session for a person who proved who they are (password or OIDC): the answer
/// with the cookie.
pub(super) async fn start_session(
    state: &AppState,
    user_id: i64,
    user: &str,
    role: Role,
    team: Option<String>,
) -> Result<Response, ApiError> {
    let (id, hash) = accounts::new_session();
    let max = chrono::TimeDelta::from_std(state.cfg.auth.times().max)
        .unwrap_or(chrono::TimeDelta::hours(12));
    let expires_at = Utc::now() + max;
    state
        .store
        .create_session(NewSession {
            id_hash: &hash,
            user_id,
            role: role.as_str(),
            team: team.as_deref(),
            expires_at,
        })
        .await?;
    let s = SessionCaller {
        id,
        user_id,
        user: user.to_owned(),
        expires_at,
    };
    let caller = Caller {
        who: format!("user:{user}"),
        role,
        team: team.clone(),
        session: None,
    };
    state.audit(&caller, "sign_in", None);
    let cookie = accounts::set_cookie(&s.id, secure(state));
    let mut res = Json(info(state, &s, role, team)).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| ApiError::bad_request("session cookie"))?,
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[utoipa::path(post, path = "/api/v1/session", tag = "sign-in", request_body = SignIn,
    responses((status = 200, body = SessionInfo, description = "Signed in: `Set-Cookie: kontor_session=…; HttpOnly; SameSite=Strict`"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Locked after too many failed sign-ins")))]
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    ApiJson(r): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    if r.password.len() > MAX_PASSWORD || r.user.len() > 256 {
        return Err(ApiError::bad_request(format!(
            "password: at most {MAX_PASSWORD} bytes; user: at most 256"
        )));
    }
    let user = if accounts::valid_user_name(&r.user) {
        state.store.user(&r.user).await?
    } else {
        None
    };
    // Always one argon2 verification (a dummy hash for unknown names): the same time.
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let password = r.password;
    let ok =
        tokio::task::spawn_blocking(move || accounts::verify_password(hash.as_deref(), &password))
            .await
            .unwrap_or(false);
    let Some(user) = user else {
        tracing::warn!("sign-in with an unknown user name");
        return Err(wrong());
    };
    let now = Utc::now();
    if let Some(until) = user.locked_until.filter(|u| *u > now) {
        tracing::warn!(user = %user.name, "sign-in to a locked account");
        return Err(locked(until));
    }
    if !ok {
        let t = state.cfg.auth.times();
        let until = now
            + chrono::TimeDelta::from_std(t.lockout_for).unwrap_or(chrono::TimeDelta::minutes(15));
        let lock = state
            .store
            .sign_in_failed(user.id, state.cfg.auth.lockout_after, until)
            .await?;
        tracing::warn!(user = %user.name, locked = lock.is_some(), "failed sign-in");
        return Err(match lock {
            Some(until) => locked(until),
            None => wrong(),
        });
    }
    let Some(role) = Role::parse(&user.role).filter(|r| PERSON_ROLES.contains(r)) else {
        return Err(ApiError::forbidden(format!(
            "user `{}` has role `{}`, which cannot sign in",
            user.name, user.role
        )));
    };
    state.store.sign_in_succeeded(user.id).await?;
    start_session(&state, user.id, &user.name, role, user.team.clone()).await
}

fn session_of(caller: &Caller) -> Result<&SessionCaller, ApiError> {
    caller
        .session
        .as_ref()
        .ok_or_else(|| ApiError::bad_request("this request uses an API token, not a session"))
}

#[utoipa::path(get, path = "/api/v1/session", tag = "sign-in",
    responses((status = 200, body = SessionInfo), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn current(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let s = session_of(&caller)?;
    let mut res = Json(info(&state, s, caller.role, caller.team.clone())).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

fn signed_out(state: &AppState, ended: u64) -> Response {
    let mut res = Json(SignedOut { ended }).into_response();
    if let Ok(v) = HeaderValue::from_str(&accounts::clear_cookie(secure(state))) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

#[utoipa::path(delete, path = "/api/v1/session", tag = "sign-in",
    params(("X-CSRF-Token" = String, Header, description = "the session's CSRF token")),
    responses((status = 200, body = SignedOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let s = session_of(&caller)?;
    let ended = state
        .store
        .end_session(&accounts::session_hash(&s.id))
        .await?;
    state.audit(&caller, "sign_out", None);
    Ok(signed_out(&state, u64::from(ended)))
}

#[utoipa::path(post, path = "/api/v1/session/everywhere", tag = "sign-in",
    params(("X-CSRF-Token" = String, Header, description = "the session's CSRF token")),
    responses((status = 200, body = SignedOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn sign_out_everywhere(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let s = session_of(&caller)?;
    let ended = state.store.end_sessions(s.user_id).await?;
    state.audit_detail(
        &caller,
        "sign_out_everywhere",
        None,
        Some(format!("{ended} sessions")),
    );
    Ok(signed_out(&state, ended))
}

/// How people can sign in here (the page shows the provider's button when `oidc`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Methods {
    pub password: bool,
    pub oidc: bool,
}

#[utoipa::path(get, path = "/api/v1/session/methods", tag = "sign-in",
    responses((status = 200, body = Methods)))]
pub async fn methods(State(state): State<Arc<AppState>>) -> Json<Methods> {
    Json(Methods {
        password: true,
        oidc: state.cfg.auth.oidc.is_some(),
    })
}
