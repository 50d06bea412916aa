//! Calls from the PBX and to the desks: the generic webhook (`POST /api/v1/calls`),
//! sipgate.io's push API (`POST /api/v1/cti/sipgate`) and the live stream of calls
//! (`GET /api/v1/calls/events`, Server-Sent Events) that pops them up on the web page.
//!
//! PBX routes take the `cti` token as `Authorization: Bearer`, as the password of HTTP basic
//! auth, or — for PBXs that can send neither — as the `token` query parameter. No URL is
//! logged anywhere, so a token in it stays out of the logs.

use super::auth::{CUSTOMER_READERS, Role};
use super::error::{ApiError, ErrorBody};
use super::front::{body, bounded_date, screen_pop};
use super::state::{AppState, Caller, bearer};
use crate::front::calls::{CallState, pbx_number, team_for};
use crate::front::screenpop::ScreenPop;
use crate::store::NewActivity;
use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// A caller of a PBX route: the `cti` token by header, basic auth or `?token=`.
pub struct CtiCaller(pub Caller);

impl FromRequestParts<Arc<AppState>> for CtiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let auth = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = match auth {
            Some(h) if bearer(h).is_some() => bearer(h).map(str::to_owned),
            Some(h) => basic_password(h),
            None => query_token(parts.uri.query()),
        };
        let header = token.map(|t| format!("Bearer {t}"));
        let caller = state.authenticate(header.as_deref()).await?;
        caller.require(&[Role::Cti])?;
        Ok(CtiCaller(caller))
    }
}

/// The password of `Authorization: Basic base64(user:password)`.
fn basic_password(header: &str) -> Option<String> {
    let (scheme, b64) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (_, password) = text.split_once(':')?;
    (!password.is_empty()).then(|| password.to_owned())
}

fn query_token(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "token" && !v.is_empty()).then(|| v.to_owned())
    })
}

/// What a PBX reports, whatever its notation.
struct PbxEvent {
    state: CallState,
    from: Option<String>,
    /// The number called (a line of ours).
    to: Option<String>,
    /// The extension it rings at or was answered at.
    extension: Option<String>,
    call_id: Option<String>,
    at: Option<DateTime<Utc>>,
    /// Why it ended (sipgate's `cause`).
    cause: Option<String>,
}

/// What a webhook answers.
enum Handled {
    Ringing(Box<ScreenPop>),
    Update(String),
}

/// A number nobody can call back (`anonymous`, empty): the pop-up says so.
fn withheld(from: &str) -> bool {
    !from.chars().any(|c| c.is_ascii_digit())
}

async fn handle(state: &AppState, caller: &Caller, ev: PbxEvent) -> Result<Handled, ApiError> {
    let cfg = state.current();
    let team = team_for(
        &cfg.cti.extensions,
        &[ev.extension.as_deref(), ev.to.as_deref()],
        &cfg.identity.phone_region,
    );
    let text = |s: Option<&String>| s.cloned().map(serde_json::Value::String);
    if ev.state != CallState::Ringing {
        let call_id = ev
            .call_id
            .ok_or_else(|| ApiError::bad_request("call_id: which call was answered or ended"))?;
        state.calls.update(
            &call_id,
            team,
            json!({
                "call_id": call_id,
                "state": ev.state.as_str(),
                "extension": text(ev.extension.as_ref()),
                "cause": text(ev.cause.as_ref()),
            }),
        );
        return Ok(Handled::Update(call_id));
    }
    let from = ev.from.unwrap_or_default();
    let mut pop = if withheld(&from) {
        ScreenPop {
            number: "anonymous".into(),
            candidates: Vec::new(),
            customer: None,
            call_id: None,
            suggestion: None,
        }
    } else {
        screen_pop(state, &pbx_number(&from)).await?
    };
    // A PBX that repeats its webhook: the call is recorded once.
    let repeated = ev.call_id.as_deref().is_some_and(|c| state.calls.knows(c));
    if !repeated {
        let call = NewActivity {
            customer_id: pop.customer.as_ref().map(|c| c.id),
            kind: "call".into(),
            direction: Some("in".into()),
            at: ev.at.unwrap_or_else(Utc::now),
            subject: None,
            text: ev.to.as_ref().map(|t| format!("an {t}")),
            team: team.clone().or_else(|| caller.team.clone()),
            phone: (!withheld(&from)).then(|| pop.number.clone()),
            source: "cti".into(),
        };
        pop.call_id = Some(state.store.add_activity(&call).await?);
        state.audit_detail(
            caller,
            "incoming_call",
            pop.customer.as_ref().map(|c| c.id),
            Some(pop.number.clone()),
        );
    }
    let call_id = ev
        .call_id
        .or_else(|| pop.call_id.map(|id| format!("kontor-{id}")))
        .unwrap_or_else(|| format!("kontor-{}", Utc::now().timestamp_micros()));
    state.calls.ringing(
        &call_id,
        team.clone(),
        json!({
            "call_id": call_id,
            "state": "ringing",
            "to": text(ev.to.as_ref()),
            "extension": text(ev.extension.as_ref()),
            "team": team,
            "pop": &pop,
        }),
    );
    Ok(Handled::Ringing(Box::new(pop)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CallRequest {
    /// The caller's number, any notation (`anonymous` when withheld).
    pub from: String,
    /// The number called (a line of ours).
    pub to: Option<String>,
    pub at: Option<DateTime<Utc>>,
    /// `ringing` (default), `answered` or `ended`.
    pub event: Option<String>,
    /// The PBX's id of the call; `answered`/`ended` refer to it (needed for them).
    pub call_id: Option<String>,
    /// The extension the call rings at or was answered at (`[cti] extensions` maps it to a
    /// team).
    pub extension: Option<String>,
}

/// What an `answered` or `ended` event is acknowledged with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallAck {
    pub call_id: String,
    pub state: CallState,
}

/// A call event from the PBX (role cti). `ringing` records the call in the contact history,
/// pops it up on the desks of its team and answers with the screen-pop; `answered` and
/// `ended` update the pop-ups (`202`).
#[utoipa::path(post, path = "/api/v1/calls", tag = "front office", request_body = CallRequest,
    security(("bearer" = [])),
    responses((status = 200, body = ScreenPop), (status = 202, body = CallAck),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn incoming_call(
    State(state): State<Arc<AppState>>,
    CtiCaller(caller): CtiCaller,
    req: Result<Json<CallRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let r = body(req)?;
    super::front::limit(&[
        ("from", Some(&r.from), 64),
        ("to", r.to.as_deref(), 64),
        ("call_id", r.call_id.as_deref(), 128),
        ("extension", r.extension.as_deref(), 64),
        ("event", r.event.as_deref(), 32),
    ])?;
    if let Some(at) = r.at {
        bounded_date("at", at)?;
    }
    let call_state = CallState::parse(r.event.as_deref().unwrap_or_default())
        .ok_or_else(|| ApiError::bad_request("event: ringing, answered or ended"))?;
    let handled = handle(
        &state,
        &caller,
        PbxEvent {
            state: call_state,
            from: Some(r.from),
            to: r.to,
            extension: r.extension,
            call_id: r.call_id,
            at: r.at,
            cause: None,
        },
    )
    .await?;
    Ok(match handled {
        Handled::Ringing(pop) => Json(*pop).into_response(),
        Handled::Update(call_id) => (
            StatusCode::ACCEPTED,
            Json(CallAck {
                call_id,
                state: call_state,
            }),
        )
            .into_response(),
    })
}

/// sipgate.io push API (role cti): `newCall` of an incoming call pops it up and subscribes to
/// its `answer` and `hangup` (answered with `<Response onAnswer=… onHangup=…/>`); outgoing
/// calls are ignored. Numbers come as E.164 without `+` (`4922147110`).
#[utoipa::path(post, path = "/api/v1/cti/sipgate", tag = "front office",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "event=newCall|answer|hangup, from, to, direction, callId, user[], answeringNumber, cause"),
    responses((status = 200, description = "sipgate's XML answer", content_type = "application/xml"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn sipgate(
    State(state): State<Arc<AppState>>,
    CtiCaller(caller): CtiCaller,
    uri: axum::http::Uri,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(fields) = form.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    for (k, v) in &fields {
        if v.len() > 128 {
            return Err(ApiError::bad_request(format!(
                "{k}: at most 128 characters"
            )));
        }
    }
    let event = get("event").unwrap_or_default();
    let call_state = match event.as_str() {
        "newCall" => CallState::Ringing,
        "answer" => CallState::Answered,
        "hangup" => CallState::Ended,
        // dtmf and anything newer: acknowledged, nothing to show.
        _ => return Ok(xml("<Response/>")),
    };
    if call_state == CallState::Ringing && get("direction").as_deref() == Some("out") {
        return Ok(xml("<Response/>"));
    }
    let users: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "user[]" || k == "user")
        .map(|(_, v)| v.clone())
        .collect();
    let extension = match call_state {
        CallState::Answered => get("answeringNumber").or_else(|| users.first().cloned()),
        _ => None,
    };
    handle(
        &state,
        &caller,
        PbxEvent {
            state: call_state,
            from: get("from"),
            to: get("to"),
            extension,
            call_id: get("callId"),
            at: None,
            cause: get("cause"),
        },
    )
    .await?;
    if call_state != CallState::Ringing {
        return Ok(xml("<Response/>"));
    }
    let back = callback_url(&state, &uri, &headers);
    Ok(xml(&format!(
        "<Response onAnswer=\"{0}\" onHangup=\"{0}\"/>",
        escape(&back)
    )))
}

fn xml(body: &str) -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}\n"),
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Where sipgate sends the call's `answer` and `hangup`: this route again, as it was called
/// (with its `token` parameter, or the basic-auth credentials it came with).
fn callback_url(state: &AppState, uri: &axum::http::Uri, headers: &HeaderMap) -> String {
    let path_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/api/v1/cti/sipgate".into());
    let base = match &state.cfg.server.public_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let proto = headers
                .get("x-forwarded-proto")
                .and_then(|h| h.to_str().ok())
                .filter(|p| *p == "https" || *p == "http")
                .unwrap_or("http");
            format!("{proto}://{host}")
        }
    };
    let creds = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| {
            let (scheme, b64) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(b64)
        })
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok());
    match (creds, base.split_once("://")) {
        (Some(c), Some((scheme, rest))) => {
            let (user, pass) = c.split_once(':').unwrap_or((c.as_str(), ""));
            format!("{scheme}://{}:{}@{rest}{path_query}", enc(user), enc(pass))
        }
        _ => format!("{base}{path_query}"),
    }
}

/// Percent-encoding of a URL's user or password.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The calls of the caller's team as they ring, are answered and end (roles sales, service;
/// Server-Sent Events: `event: call` with the screen-pop, `event: call_update`). Resumes
/// after `Last-Event-ID`; a desk that falls far behind is dropped and reconnects.
#[utoipa::path(get, path = "/api/v1/calls/events", tag = "front office",
    security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn call_events(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(CUSTOMER_READERS)?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let (replay, rx) = state.calls.subscribe(last);
    let team = caller.team.clone();
    // Lagged (a slow desk) or closed: the stream ends, the browser reconnects.
    let live = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.ok().map(|ev| (ev, rx))
    });
    let events = futures::stream::iter(replay)
        .chain(live)
        .filter(move |ev| futures::future::ready(ev.concerns(team.as_deref())))
        .map(|ev| {
            Ok::<Event, Infallible>(
                Event::default()
                    .id(ev.id.to_string())
                    .event(ev.event)
                    .json_data(&ev.data)
                    .unwrap_or_else(|_| Event::default().comment("unreadable event")),
            )
        });
    // A session ends the stream when it expires (the page signs in again); shutdown too.
    let until = caller
        .session
        .as_ref()
        .map(|s| (s.expires_at - Utc::now()).to_std().unwrap_or_default())
        .unwrap_or(Duration::from_secs(24 * 3600));
    let closed = state.calls.closed();
    let stop = async move {
        tokio::select! {
            _ = tokio::time::sleep(until) => {}
            _ = closed => {}
        }
    };
    let stream = events.take_until(Box::pin(stop));
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    let h = res.headers_mut();
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_by_basic_auth_and_query() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("sipgate:s3cr%et");
        assert_eq!(
            basic_password(&format!("Basic {b64}")).as_deref(),
            Some("s3cr%et")
        );
        assert_eq!(basic_password("Bearer x"), None);
        assert_eq!(query_token(Some("a=1&token=abc")).as_deref(), Some("abc"));
        assert_eq!(query_token(Some("tokenx=abc")), None);
        assert_eq!(query_token(None), None);
        assert_eq!(enc("s3cr%et"), "s3cr%25et");
        assert_eq!(escape("a&b\"c"), "a&amp;b&quot;c");
        assert!(withheld("anonymous") && withheld("") && !withheld("4922147110"));
    }
}
