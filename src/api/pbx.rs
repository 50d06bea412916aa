//! The PBX adapters: sipgate.io's push API and Placetel's Notify API (form posts, each in
//! its vendor's words and number notation), turned into kontor's call events
//! ([`super::calls`]).

use super::calls::{CtiCaller, PbxEvent, handle};
use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::front::calls::CallState;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use std::sync::Arc;

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
    let fields = form_fields(form)?;
    let get = |k: &str| field(&fields, k);
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
            live: true,
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

/// A PBX's form post, each value at most 128 characters.
pub(super) fn form_fields(
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Vec<(String, String)>, ApiError> {
    let Form(fields) = form.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if let Some((k, _)) = fields.iter().find(|(_, v)| v.len() > 128) {
        return Err(ApiError::bad_request(format!(
            "{k}: at most 128 characters"
        )));
    }
    Ok(fields)
}

pub(super) fn field(fields: &[(String, String)], key: &str) -> Option<String> {
    fields
        .iter()
        .find(|(n, _)| n == key)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Placetel Notify API (role cti; the token as basic-auth password in the URL Placetel
/// calls, `https://kontor:<token>@…/api/v1/cti/placetel`): `IncomingCall` pops the call up,
/// `CallAccepted` and `HungUp` (`type`: accepted, missed, voicemail, …) close it; outgoing
/// calls are ignored. Numbers come as dialled in Germany (`022129191999`).
#[utoipa::path(post, path = "/api/v1/cti/placetel", tag = "front office",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "event=IncomingCall|OutgoingCall|CallAccepted|HungUp, from, to, call_id, peer, type, duration, direction"),
    responses((status = 200, description = "acknowledged", content_type = "application/xml"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn placetel(
    State(state): State<Arc<AppState>>,
    CtiCaller(caller): CtiCaller,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, ApiError> {
    let fields = form_fields(form)?;
    let get = |k: &str| field(&fields, k);
    if get("direction").as_deref() == Some("out") {
        return Ok(xml("<Response/>"));
    }
    let call_state = match get("event").as_deref() {
        Some("IncomingCall") => CallState::Ringing,
        Some("CallAccepted") => CallState::Answered,
        Some("HungUp") => CallState::Ended,
        _ => return Ok(xml("<Response/>")),
    };
    handle(
        &state,
        &caller,
        PbxEvent {
            state: call_state,
            from: get("from"),
            to: get("to"),
            // Who answered (the SIP peer) is not kept: no figure per person.
            extension: None,
            call_id: get("call_id"),
            at: None,
            cause: get("type"),
            live: true,
        },
    )
    .await?;
    Ok(xml("<Response/>"))
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
            format!(
                "{scheme}://{}:{}@{rest}{path_query}",
                crate::sys::url_encode(user),
                crate::sys::url_encode(pass)
            )
        }
        _ => format!("{base}{path_query}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_urls_are_escaped_and_encoded() {
        assert_eq!(crate::sys::url_encode("s3cr%et"), "s3cr%25et");
        assert_eq!(escape("a&b\"c"), "a&amp;b&quot;c");
    }
}
