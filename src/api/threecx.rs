//! 3CX's server-side CRM integration (the template `docs/3cx-kontor.xml`, uploaded in the 3CX
//! console under *CRM Integration*): 3CX looks the caller up before the phone rings
//! (`GET /api/v1/cti/3cx/lookup?number=`: the caller's name in the 3CX client, a link to the
//! customer's card) and journals each call when it ends (`POST /api/v1/cti/3cx/journal`:
//! the call in the contact history with its outcome; a missed call from a known customer
//! becomes a "Rückruf"). Who answered and how long are not kept (works-council rule).

use super::calls::{CtiCaller, PbxEvent, handle};
use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use super::front::screen_pop;
use super::state::AppState;
use crate::front::calls::{CallState, pbx_number};
use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupParams {
    /// The caller's number as 3CX has it (`[Number]`).
    pub number: String,
}

/// One contact in the shape the kontor template reads.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThreeCxContact {
    pub id: i64,
    pub company: String,
    /// The contact person whose number it is, when it is one.
    pub contact: Option<String>,
    pub phone: String,
    /// The customer's card on kontor's web page (`[server] public_url`).
    pub url: Option<String>,
}

/// 3CX contact lookup (role cti): the customers the number belongs to, best first (an empty
/// list when nobody has it).
#[utoipa::path(get, path = "/api/v1/cti/3cx/lookup", tag = "front office", params(LookupParams),
    responses((status = 200, body = Vec<ThreeCxContact>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn lookup(
    State(state): State<Arc<AppState>>,
    CtiCaller(caller): CtiCaller,
    ApiQuery(p): ApiQuery<LookupParams>,
) -> Result<Json<Vec<ThreeCxContact>>, ApiError> {
    if !p.number.chars().any(|c| c.is_ascii_digit()) {
        return Ok(Json(Vec::new()));
    }
    let pop = screen_pop(&state, &pbx_number(&p.number)).await?;
    let base = state.cfg.server.public_url.clone();
    let contacts = pop
        .candidates
        .iter()
        .map(|c| ThreeCxContact {
            id: c.customer_id,
            company: c
                .name
                .clone()
                .unwrap_or_else(|| format!("Kunde {}", c.customer_id)),
            contact: c.contact.clone(),
            phone: crate::model::phone::display_phone(&c.matched_number),
            url: base
                .as_deref()
                .map(|b| format!("{}/kunde/{}", b.trim_end_matches('/'), c.customer_id)),
        })
        .collect();
    state.audit_detail(
        &caller,
        "screen_pop",
        pop.customer.as_ref().map(|c| c.id),
        Some(pop.number.clone()),
    );
    Ok(Json(contacts))
}

/// What the template's call journaling posts (`ReportCall`).
#[derive(Debug, Deserialize)]
struct Journal {
    /// `Inbound`, `Outbound`, `Missed`, `Notanswered`.
    #[serde(rename = "CallType")]
    call_type: String,
    #[serde(rename = "Number")]
    number: String,
    #[serde(rename = "CallStartTimeUTC")]
    start: Option<String>,
}

/// 3CX call journaling (role cti): an inbound call lands in the contact history as answered,
/// a missed one as missed (with a "Rückruf" for a known customer); outbound calls are not
/// kept. Answers `{"recorded": true|false}`.
#[utoipa::path(post, path = "/api/v1/cti/3cx/journal", tag = "front office",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "CallType=Inbound|Outbound|Missed|Notanswered, Number, CallStartTimeUTC (further fields ignored)"),
    responses((status = 200, description = "{\"recorded\": bool}"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn journal(
    State(state): State<Arc<AppState>>,
    CtiCaller(caller): CtiCaller,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let fields = super::pbx::form_fields(form)?;
    let get = |k: &str| super::pbx::field(&fields, k);
    let j = Journal {
        call_type: get("CallType").unwrap_or_default(),
        number: get("Number").unwrap_or_default(),
        start: get("CallStartTimeUTC"),
    };
    let answered = match j.call_type.as_str() {
        "Inbound" => true,
        "Missed" | "Notanswered" => false,
        // Outbound calls (and anything newer) are not the desk's record.
        _ => return Ok(Json(serde_json::json!({"recorded": false}))),
    };
    let at: Option<DateTime<Utc>> = j
        .start
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
        .filter(|d| *d <= Utc::now() + chrono::TimeDelta::days(1));
    // One call id per number and start: a journal sent twice is recorded once.
    let call_id = format!(
        "3cx-{}-{}",
        j.number
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>(),
        at.map_or(0, |d| d.timestamp())
    );
    for (call_state, cause) in [
        (CallState::Ringing, None),
        (
            CallState::Ended,
            Some(if answered { "accepted" } else { "missed" }),
        ),
    ] {
        handle(
            &state,
            &caller,
            PbxEvent {
                state: call_state,
                from: Some(j.number.clone()),
                to: None,
                extension: None,
                call_id: Some(call_id.clone()),
                at,
                cause: cause.map(str::to_owned),
                live: false,
            },
        )
        .await?;
    }
    Ok(Json(serde_json::json!({"recorded": true})))
}
