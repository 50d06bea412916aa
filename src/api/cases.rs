//! Complaint routes: filing with similar known cases, the list, one case, the workflow, and
//! the service process (steps done, forwarding to another team, the recorded cost).

use super::auth::OPERATORS;
use super::error::{ApiError, ErrorBody};
use super::extract::{Allowed, ApiJson, ApiPath, ApiQuery, CustomerReaders, ReportReaders};
use super::front::{REF_MAX, TEXT_MAX, TITLE_MAX, customer_known, id, limit};
use super::handlers::today;
use super::state::AppState;
use crate::front::complaint_process;
use crate::front::complaint_report::{ComplaintReport, GROUPS};
use crate::front::complaints::{self, ComplaintError, NewComplaint, SimilarCase};
use crate::front::ticket::Ticket;
use crate::store::TicketFilter;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ComplaintRequest {
    pub customer_id: i64,
    /// A configured category (`[complaints] categories`), e.g. lieferung, qualitaet, rechnung.
    pub category: String,
    pub title: String,
    #[serde(default)]
    pub text: String,
    pub invoice_ref: Option<String>,
    pub order_ref: Option<String>,
    pub sku: Option<String>,
    /// What it cost, when known already: a decimal string in euros (`"49.90"`).
    pub cost: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComplaintCreated {
    pub complaint: Ticket,
    /// Known cases like it (same item, order or invoice; similar text), with their resolution.
    pub similar: Vec<SimilarCase>,
}

fn complaint_error(e: ComplaintError) -> ApiError {
    match e {
        ComplaintError::Invalid(m) => ApiError::bad_request(m),
        ComplaintError::NotFound(m) => ApiError::not_found(m),
        ComplaintError::Conflict(m) => ApiError::conflict(m),
        ComplaintError::Store(s) => s.into(),
    }
}

/// Files a complaint; answers with similar known cases.
#[utoipa::path(post, path = "/api/v1/complaints", tag = "front office", request_body = ComplaintRequest,
    security(("bearer" = [])),
    responses((status = 201, body = ComplaintCreated), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_complaint(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiJson(r): ApiJson<ComplaintRequest>,
) -> Result<(StatusCode, Json<ComplaintCreated>), ApiError> {
    limit(&[
        ("category", Some(&r.category), REF_MAX),
        ("title", Some(&r.title), TITLE_MAX),
        ("text", Some(&r.text), TEXT_MAX),
        ("invoice_ref", r.invoice_ref.as_deref(), REF_MAX),
        ("order_ref", r.order_ref.as_deref(), REF_MAX),
        ("sku", r.sku.as_deref(), REF_MAX),
        ("cost", r.cost.as_deref(), REF_MAX),
    ])?;
    customer_known(&state, r.customer_id)?;
    // The configuration as loaded now: a reloaded process applies to new complaints.
    let cfg = state.current();
    let (complaint, similar) = complaints::create(
        &state.store,
        &cfg.complaints,
        NewComplaint {
            customer_id: r.customer_id,
            category: r.category,
            title: r.title,
            text: r.text,
            invoice_ref: r.invoice_ref,
            order_ref: r.order_ref,
            sku: r.sku,
            team: caller.team.clone(),
            cost: r.cost,
        },
        today(),
    )
    .await
    .map_err(complaint_error)?;
    Ok((
        StatusCode::CREATED,
        Json(ComplaintCreated { complaint, similar }),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplaintParams {
    pub customer_id: Option<i64>,
    /// Only open ones (not resolved or closed).
    pub open: Option<bool>,
    /// Only a team's: its own and those forwarded to it.
    pub team: Option<String>,
    /// Only the caller's team's (as `team`).
    pub mine: Option<bool>,
    pub limit: Option<i64>,
}

/// Complaints, newest first (a team's: its own and those forwarded to it).
#[utoipa::path(get, path = "/api/v1/complaints", tag = "front office", params(ComplaintParams),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Ticket>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_complaints(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiQuery(p): ApiQuery<ComplaintParams>,
) -> Result<Json<Vec<Ticket>>, ApiError> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    limit_team(p.team.as_deref())?;
    let team = if p.mine.unwrap_or(false) {
        Some(caller.team.clone().ok_or_else(|| {
            ApiError::bad_request("mine: this caller has no team (ask for team=…)")
        })?)
    } else {
        p.team.filter(|t| !t.trim().is_empty())
    };
    state.audit(&caller, "list_complaints", p.customer_id);
    Ok(Json(
        crate::front::ticket::list(
            &state.store,
            &TicketFilter {
                customer_id: p.customer_id,
                team,
                open_only: p.open.unwrap_or(false),
                limit,
            },
        )
        .await?,
    ))
}

fn limit_team(team: Option<&str>) -> Result<(), ApiError> {
    limit(&[("team", team, REF_MAX)])
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComplaintDetail {
    pub complaint: Ticket,
    pub similar: Vec<SimilarCase>,
    /// The teams it may be forwarded to now (`[privacy] teams`, without the one that has it;
    /// empty when it is resolved or closed).
    pub forward_to: Vec<String>,
}

/// One complaint with its similar cases.
#[utoipa::path(get, path = "/api/v1/complaints/{id}", tag = "front office", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ComplaintDetail), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn complaint(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiPath(tid): ApiPath<String>,
) -> Result<Json<ComplaintDetail>, ApiError> {
    let tid = id(tid)?;
    let t = crate::front::ticket::get(&state.store, tid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no complaint {tid}")))?;
    state.audit_detail(
        &caller,
        "view_complaint",
        Some(t.customer_id),
        Some(format!("complaint {tid}")),
    );
    let similar = complaints::similar(&state.store, &t, 5).await?;
    let forward_to = if crate::front::ticket::is_open(&t.status) {
        state
            .current()
            .privacy
            .teams
            .keys()
            .filter(|k| t.holder() != Some(k.as_str()))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    Ok(Json(ComplaintDetail {
        complaint: t,
        similar,
        forward_to,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StatusRequest {
    /// new → in_progress → waiting → resolved → closed
    pub status: String,
    /// How it was resolved (kept and shown with similar cases).
    pub resolution: Option<String>,
    /// What it cost (a decimal string in euros), e.g. with the resolution; absent: unchanged.
    pub cost: Option<String>,
}

/// Moves a complaint along its workflow.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/status", tag = "front office", params(("id" = i64, Path)),
    request_body = StatusRequest, security(("bearer" = [])),
    responses((status = 200, body = Ticket), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 409, description = "Not allowed from the current status", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn complaint_status(
    State(state): State<Arc<AppState>>,
    _caller: Allowed<CustomerReaders>,
    ApiPath(tid): ApiPath<String>,
    ApiJson(r): ApiJson<StatusRequest>,
) -> Result<Json<Ticket>, ApiError> {
    let tid = id(tid)?;
    limit(&[
        ("resolution", r.resolution.as_deref(), TEXT_MAX),
        ("cost", r.cost.as_deref(), REF_MAX),
    ])?;
    complaint_process::parse_cost_field(r.cost.as_deref()).map_err(complaint_error)?;
    if !complaints::STATUSES.contains(&r.status.as_str()) {
        return Err(ApiError::bad_request(format!(
            "status: {}",
            complaints::STATUSES.join(", ")
        )));
    }
    let t = crate::front::ticket::get(&state.store, tid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no complaint {tid}")))?;
    if !complaints::allowed(&t.status, &r.status) {
        return Err(ApiError::conflict(format!(
            "{} → {} is not allowed",
            t.status, r.status
        )));
    }
    if r.status == "resolved"
        && r.resolution.as_deref().is_none_or(|s| s.trim().is_empty())
        && t.resolution.is_none()
    {
        return Err(ApiError::bad_request(
            "say how it was resolved (resolution)",
        ));
    }
    state
        .store
        .set_ticket_status(tid, &r.status, r.resolution.as_deref())
        .await?;
    if r.cost.is_some() {
        complaint_process::set_cost(&state.store, tid, r.cost.as_deref())
            .await
            .map_err(complaint_error)?;
    }
    Ok(Json(
        crate::front::ticket::get(&state.store, tid)
            .await?
            .ok_or_else(|| ApiError::not_found("vanished"))?,
    ))
}

/// Deserialises a present field (even `null`) as `Some`: absent and `null` differ.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplaintUpdate {
    /// What it cost (credit notes, replacement, travel): a decimal string in euros;
    /// `null` or `""` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "180.00")]
    pub cost: Option<Option<String>>,
}

/// Records what a complaint cost.
#[utoipa::path(patch, path = "/api/v1/complaints/{id}", tag = "front office", params(("id" = i64, Path)),
    request_body = ComplaintUpdate, security(("bearer" = [])),
    responses((status = 200, body = Ticket), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update_complaint(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiPath(tid): ApiPath<String>,
    ApiJson(r): ApiJson<ComplaintUpdate>,
) -> Result<Json<Ticket>, ApiError> {
    let tid = id(tid)?;
    let Some(cost) = r.cost else {
        return Err(ApiError::bad_request("nothing to change: give cost"));
    };
    limit(&[("cost", cost.as_deref(), REF_MAX)])?;
    let t = complaint_process::set_cost(&state.store, tid, cost.as_deref())
        .await
        .map_err(complaint_error)?;
    state.audit_detail(
        &caller,
        "complaint_cost",
        Some(t.customer_id),
        Some(format!("complaint {tid}")),
    );
    Ok(Json(t))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    /// true: done now; false: open again.
    pub done: bool,
}

/// Marks a step of a complaint's service process done, or open again.
#[utoipa::path(patch, path = "/api/v1/complaints/{id}/steps/{n}", tag = "front office",
    params(("id" = i64, Path), ("n" = i64, Path, description = "The step's number, 1, 2, …")),
    request_body = StepRequest, security(("bearer" = [])),
    responses((status = 200, body = Ticket), (status = 404, description = "No such complaint or step", body = ErrorBody),
        (status = 400, body = ErrorBody), (status = 409, description = "The complaint is closed", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn complaint_step(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiPath(ids): ApiPath<(String, String)>,
    ApiJson(r): ApiJson<StepRequest>,
) -> Result<Json<Ticket>, ApiError> {
    let (tid, n) = ids;
    let number = |raw: &str| {
        raw.parse::<i64>()
            .map_err(|_| ApiError::bad_request(format!("`{raw}` is not a number")))
    };
    let (tid, n) = (number(&tid)?, number(&n)?);
    let t = complaint_process::set_step(&state.store, tid, n, r.done)
        .await
        .map_err(complaint_error)?;
    state.audit_detail(
        &caller,
        "complaint_step",
        Some(t.customer_id),
        Some(format!(
            "complaint {tid} step {n} {}",
            if r.done { "done" } else { "open" }
        )),
    );
    Ok(Json(t))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    /// A configured team (`[privacy] teams`), e.g. produktmanagement.
    pub team: String,
    /// What the other team is to do (shown to both teams and in the customer's timeline).
    pub note: String,
}

/// Forwards a complaint to another team with a note: it shows in both teams' lists.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/forward", tag = "front office", params(("id" = i64, Path)),
    request_body = ForwardRequest, security(("bearer" = [])),
    responses((status = 200, body = Ticket), (status = 404, body = ErrorBody),
        (status = 400, description = "Unknown team or no note", body = ErrorBody),
        (status = 409, description = "Resolved or closed, or with that team already", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn forward_complaint(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiPath(tid): ApiPath<String>,
    ApiJson(r): ApiJson<ForwardRequest>,
) -> Result<Json<Ticket>, ApiError> {
    let tid = id(tid)?;
    limit(&[
        ("team", Some(&r.team), REF_MAX),
        ("note", Some(&r.note), TEXT_MAX),
    ])?;
    let cfg = state.current();
    let t = complaint_process::forward(
        &state.store,
        &cfg.privacy.teams,
        tid,
        &r.team,
        &r.note,
        chrono::Utc::now(),
    )
    .await
    .map_err(complaint_error)?;
    // The team, never the note's text.
    state.audit_detail(
        &caller,
        "forward_complaint",
        Some(t.customer_id),
        Some(format!("complaint {tid} to {}", r.team.trim())),
    );
    Ok(Json(t))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplaintReportParams {
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    /// `category` (default), `item`, `customer` or `team`.
    pub group: Option<String>,
}

/// Complaint analysis per category, item, customer or team (ops: all complaints; sales and
/// service: their own team's). Never per person; a team is shown only with at least
/// `[privacy] min_group_size` members.
#[utoipa::path(get, path = "/api/v1/reports/complaints", tag = "front office", params(ComplaintReportParams),
    security(("bearer" = [])),
    responses((status = 200, body = ComplaintReport), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn complaint_report(
    State(state): State<Arc<AppState>>,
    caller: Allowed<ReportReaders>,
    ApiQuery(p): ApiQuery<ComplaintReportParams>,
) -> Result<Json<ComplaintReport>, ApiError> {
    let ops = caller.require(OPERATORS).is_ok();
    if p.to <= p.from {
        return Err(ApiError::bad_request("to must be after from"));
    }
    let group = p.group.unwrap_or_else(|| "category".into());
    if !GROUPS.contains(&group.as_str()) {
        return Err(ApiError::bad_request(format!(
            "group `{group}`: one of {}",
            GROUPS.join(", ")
        )));
    }
    let team = if ops {
        None
    } else {
        Some(caller.team.clone().ok_or_else(|| {
            ApiError::forbidden(
                "the complaint report shows a team's complaints: this caller has no team",
            )
        })?)
    };
    state.audit_detail(&caller, "complaint_report", None, Some(group.clone()));
    let privacy = &state.current().privacy;
    Ok(Json(
        crate::front::complaint_report::complaints(
            &state.store,
            privacy,
            p.from,
            p.to,
            &group,
            team.as_deref(),
        )
        .await?,
    ))
}
