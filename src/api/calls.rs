//! Calls from the PBX and to the desks: the generic webhook (`POST /api/v1/calls`),
//! sipgate.io's push API (`POST /api/v1/cti/sipgate`) and the live stream of calls
//! (`GET /api/v1/calls/events`, Server-Sent Events) that pops them up on the web page.
//!
//! PBX routes take the `cti` token as `Authorization: Bearer`, as the password of HTTP basic
//! auth, or — for PBXs that can send neither — as the `token` query parameter. No URL is
//! logged anywhere, so a token in it stays out of the logs.

use super::auth::Role;
use super::error::{ApiError, ErrorBody};
use super::extract::{Allowed, ApiJson, CustomerReaders};
use super::front::{bounded_date, screen_pop};
use super::state::{AppState, Caller, bearer};
use crate::front::calls::{CallInfo, CallState, pbx_number, team_for};
use crate::front::screenpop::ScreenPop;
use crate::store::{NewActivity, NewReminder};
use axum::Json;
use axum::extract::{FromRequestParts, State};
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
pub(super) struct PbxEvent {
    pub state: CallState,
    pub from: Option<String>,
    /// The number called (a line of ours).
    pub to: Option<String>,
    /// The extension it rings at or was answered at.
    pub extension: Option<String>,
    pub call_id: Option<String>,
    pub at: Option<DateTime<Utc>>,
    /// Why it ended (sipgate's `cause`, Placetel's `type`).
    pub cause: Option<String>,
    /// Shown on the desks (false: a call reported after it ended).
    pub live: bool,
}

impl PbxEvent {
    /// The call ended on the voicemail (Placetel `type=voicemail`, generic `cause`).
    fn voicemail(&self) -> bool {
        self.cause.as_deref() == Some("voicemail")
    }

    /// The end of a call that was answered (Placetel `type=accepted`; sipgate
    /// `normalClearing` follows an `answer` event anyway).
    fn accepted(&self) -> bool {
        self.cause.as_deref() == Some("accepted")
    }
}

/// What a webhook answers.
pub(super) enum Handled {
    Ringing(Box<ScreenPop>),
    Update(String),
}

/// A number nobody can call back (`anonymous`, empty): the pop-up says so.
fn withheld(from: &str) -> bool {
    !from.chars().any(|c| c.is_ascii_digit())
}

pub(super) async fn handle(
    state: &AppState,
    caller: &Caller,
    ev: PbxEvent,
) -> Result<Handled, ApiError> {
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
            .clone()
            .ok_or_else(|| ApiError::bad_request("call_id: which call was answered or ended"))?;
        let before = state.calls.update(
            &call_id,
            ev.state,
            team,
            json!({
                "call_id": call_id,
                "state": ev.state.as_str(),
                "extension": text(ev.extension.as_ref()),
                "cause": text(ev.cause.as_ref()),
            }),
        );
        if let Some(info) = before {
            outcome(state, &call_id, &info, &ev).await?;
        }
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
    let seen = ev.call_id.as_deref().and_then(|c| state.calls.info(c));
    pop.call_id = seen.as_ref().and_then(|c| c.activity);
    if seen.is_none() {
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
            author: None,
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
    let info = CallInfo {
        team: team.clone(),
        activity: pop.call_id,
        customer: pop.customer.as_ref().map(|c| (c.id, c.name.clone())),
        number: pop.number.clone(),
        ..Default::default()
    };
    if !ev.live {
        state.calls.remember(&call_id, info);
        return Ok(Handled::Ringing(Box::new(pop)));
    }
    state.calls.ringing(
        &call_id,
        info,
        json!({
            "call_id": call_id,
            "state": "ringing",
            "to": text(ev.to.as_ref()),
            "extension": text(ev.extension.as_ref()),
            "team": team,
            "number_display": crate::model::phone::display_phone(&pop.number),
            "pop": &pop,
        }),
    );
    Ok(Handled::Ringing(Box::new(pop)))
}

/// A call's outcome in the contact history (answered, missed, voicemail — never who or how
/// long: works-council rule), and a missed call from a known customer as a suggested
/// "Rückruf" for the team (once per call).
async fn outcome(
    state: &AppState,
    call_id: &str,
    info: &CallInfo,
    ev: &PbxEvent,
) -> Result<(), ApiError> {
    if info.answered || info.ended {
        return Ok(());
    }
    let subject = match ev.state {
        CallState::Answered => "Anruf angenommen",
        CallState::Ended if ev.accepted() => "Anruf angenommen",
        CallState::Ended if ev.voicemail() => "Anruf auf der Mailbox",
        CallState::Ended => "Anruf verpasst",
        CallState::Ringing => return Ok(()),
    };
    if let Some(aid) = info.activity {
        state.store.set_activity_subject(aid, subject).await?;
    }
    if ev.state == CallState::Ended
        && !ev.accepted()
        && let Some((customer, name)) = &info.customer
    {
        let shown = crate::model::phone::display_phone(&info.number);
        let at = chrono::Local::now().format("%d.%m.%Y %H:%M");
        state
            .store
            .add_reminder(&NewReminder {
                customer_id: Some(*customer),
                title: format!("Rückruf: {}", name.as_deref().unwrap_or("Kunde")),
                due_date: super::handlers::today(),
                assignee: info.team.clone(),
                source: "missed_call".into(),
                reason: Some(format!(
                    "{} von {shown} am {at} nicht angenommen",
                    if ev.voicemail() {
                        "Anruf (Mailbox)"
                    } else {
                        "Anruf"
                    }
                )),
                rule_key: Some(format!("missed_call:{call_id}")),
            })
            .await?;
    }
    Ok(())
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
    /// With `ended`: `voicemail` when it went to the voicemail, `accepted` when it was
    /// answered (without an `answered` event); anything else counts as missed.
    pub cause: Option<String>,
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
    ApiJson(r): ApiJson<CallRequest>,
) -> Result<Response, ApiError> {
    super::front::limit(&[
        ("from", Some(&r.from), 64),
        ("to", r.to.as_deref(), 64),
        ("call_id", r.call_id.as_deref(), 128),
        ("extension", r.extension.as_deref(), 64),
        ("event", r.event.as_deref(), 32),
        ("cause", r.cause.as_deref(), 32),
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
            cause: r.cause,
            live: true,
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

/// The calls of the caller's team as they ring, are answered and end (roles sales, service;
/// Server-Sent Events: `event: call` with the screen-pop, `event: call_update`). Resumes
/// after `Last-Event-ID`; a desk that falls far behind is dropped and reconnects.
#[utoipa::path(get, path = "/api/v1/calls/events", tag = "front office",
    security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn call_events(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
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
        assert!(withheld("anonymous") && withheld("") && !withheld("4922147110"));
    }
}
