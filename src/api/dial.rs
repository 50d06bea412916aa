//! Click-to-dial (`POST /api/v1/calls/dial`): the PBX rings the desk's own phone first and
//! then dials the number — sipgate (`POST /v2/sessions/calls`), Placetel (`POST /v2/calls`)
//! or any PBX with a dial URL. The call lands in the customer's timeline as an outgoing call
//! that whoever dialled may annotate, like a contact they recorded.

use super::error::{ApiError, ErrorBody};
use super::extract::{Allowed, ApiJson, CustomerReaders};
use super::front::customer_known;
use super::state::AppState;
use crate::config::DialSection;
use crate::front::desk::Activity;
use crate::store::NewActivity;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DialRequest {
    /// The number in any notation (`0221 4711-230`, `+49 221 4711230`).
    pub number: String,
    /// The customer called: the call is logged in their timeline.
    pub customer_id: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Dialled {
    /// The number dialled (E.164).
    pub number: String,
    /// The device that rings first.
    pub device: String,
    /// The call in the timeline (an outgoing call the caller may annotate for a day).
    pub activity: Activity,
}

/// The secret of `[cti.dial]`: from the environment or a file beside the configuration
/// (`None`: none configured, a `url` PBX without a token).
fn token(cfg: &crate::config::Config, d: &DialSection) -> Result<Option<String>, ApiError> {
    let raw = match (&d.token_env, &d.token_file) {
        (Some(var), _) => std::env::var(var).ok(),
        (None, Some(f)) => std::fs::read_to_string(cfg.path(f)).ok(),
        (None, None) => return Ok(None),
    };
    match raw.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Ok(Some(t.to_owned())),
        None => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dial_not_configured",
            "[cti.dial]: the API token is not set (token_env / token_file)",
        )),
    }
}

/// One HTTP client for every dial (its connection pool and TLS set-up are reused).
fn client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(crate::alert::client)
}

/// The request to the PBX that starts the call.
fn request(
    client: &reqwest::Client,
    d: &DialSection,
    token: Option<&str>,
    device: &str,
    number: &str,
) -> reqwest::RequestBuilder {
    let base = |default: &str| {
        d.base_url
            .as_deref()
            .unwrap_or(default)
            .trim_end_matches('/')
            .to_owned()
    };
    match d.provider.as_str() {
        "sipgate" => {
            let mut body = json!({ "deviceId": device, "caller": device, "callee": number });
            if let Some(id) = &d.caller_id {
                body["callerId"] = json!(id);
            }
            let basic = base64::engine::general_purpose::STANDARD.encode(token.unwrap_or_default());
            client
                .post(format!(
                    "{}/sessions/calls",
                    base("https://api.sipgate.com/v2")
                ))
                .header("Authorization", format!("Basic {basic}"))
                .json(&body)
        }
        "placetel" => client
            .post(format!("{}/calls", base("https://api.placetel.de/v2")))
            .bearer_auth(token.unwrap_or_default())
            .json(&json!({ "sipuid": device, "target": number })),
        _ => {
            let fill = crate::sys::url_encode;
            let url = d
                .url
                .as_deref()
                .unwrap_or_default()
                .replace("{device}", &fill(device))
                .replace("{number}", &fill(number));
            let r = client
                .post(url)
                .json(&json!({ "device": device, "number": number }));
            match token {
                Some(t) => r.bearer_auth(t),
                None => r,
            }
        }
    }
}

/// Starts a call from the caller's own phone (see `[cti.dial]`) and logs it.
#[utoipa::path(post, path = "/api/v1/calls/dial", tag = "front office", request_body = DialRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Dialled), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 502, description = "The PBX refused or was not reached", body = ErrorBody),
        (status = 503, description = "Click-to-dial is not set up", body = ErrorBody)))]
pub async fn dial(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiJson(r): ApiJson<DialRequest>,
) -> Result<(StatusCode, Json<Dialled>), ApiError> {
    let cfg = state.current();
    let d = cfg.cti.dial.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dial_not_configured",
            "click-to-dial is not set up ([cti.dial])",
        )
    })?;
    if r.number.len() > 64 {
        return Err(ApiError::bad_request("number: longer than 64 characters"));
    }
    let region = &cfg.identity.phone_region;
    let number = crate::model::phone::parse_phone(&r.number, region)
        .map_err(|e| ApiError::bad_request(format!("number: {e}")))?
        .e164;
    if let Some(c) = r.customer_id {
        customer_known(&state, c)?;
    }
    let name = caller
        .session
        .as_ref()
        .map_or(caller.who.as_str(), |s| s.user.as_str());
    let device = d
        .device_for(name, caller.team.as_deref())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no_device",
                format!("no phone rings for `{name}`: add `{name} = \"…\"` to [cti.dial] devices"),
            )
        })?
        .to_owned();
    let token = token(&cfg, d)?;
    let answer = request(client(), d, token.as_deref(), &device, &number)
        .send()
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "pbx_unreachable",
                format!(
                    "the PBX ({}) was not reached: {}",
                    d.provider,
                    e.without_url()
                ),
            )
        })?;
    if !answer.status().is_success() {
        let why = match answer.status().as_u16() {
            401 | 403 => "refused kontor's credentials ([cti.dial] token)".to_owned(),
            s => format!("answered {s}"),
        };
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "pbx_refused",
            format!("the PBX ({}) {why}", d.provider),
        ));
    }
    let aid = state
        .store
        .add_activity(&NewActivity {
            customer_id: r.customer_id,
            kind: "call".into(),
            direction: Some("out".into()),
            at: Utc::now(),
            subject: None,
            text: None,
            team: caller.team.clone(),
            phone: Some(number.clone()),
            source: "dial".into(),
            author: Some(state.author_key(&caller)),
        })
        .await?;
    state.audit_detail(&caller, "dial", r.customer_id, Some(number.clone()));
    let activity = state
        .store
        .activity(aid)
        .await?
        .ok_or_else(|| ApiError::not_found("the call vanished"))?
        .into();
    Ok((
        StatusCode::CREATED,
        Json(Dialled {
            number,
            device,
            activity,
        }),
    ))
}
