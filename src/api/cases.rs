//! Complaint routes: filing with similar known cases, the list, one case, the workflow.

use super::auth::{CUSTOMER_READERS, OPERATORS};
use super::error::{ApiError, ErrorBody};
use super::front::{REF_MAX, TEXT_MAX, TITLE_MAX, body, customer_known, id, limit};
use super::handlers::query;
use super::state::{AppState, Caller};
use crate::front::complaint_report::{ComplaintReport, GROUPS};
use crate::front::complaints::{self, ComplaintError, NewComplaint, SimilarCase};
use crate::store::Ticket;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
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
    caller: Caller,
    req: Result<Json<ComplaintRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ComplaintCreated>), ApiError> {
    caller.require(CUSTOMER_READERS)?;
    let r = body(req)?;
    limit(&[
        ("category", Some(&r.category), REF_MAX),
        ("title", Some(&r.title), TITLE_MAX),
        ("text", Some(&r.text), TEXT_MAX),
        ("invoice_ref", r.invoice_ref.as_deref(), REF_MAX),
        ("order_ref", r.order_ref.as_deref(), REF_MAX),
        ("sku", r.sku.as_deref(), REF_MAX),
    ])?;
    customer_known(&state, r.customer_id)?;
    let (complaint, similar) = complaints::create(
        &state.store,
        &state.cfg.complaints,
        NewComplaint {
            customer_id: r.customer_id,
            category: r.category,
            title: r.title,
            text: r.text,
            invoice_ref: r.invoice_ref,
            order_ref: r.order_ref,
            sku: r.sku,
            team: caller.team.clone(),
        },
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
    pub limit: Option<i64>,
}

/// Complaints, newest first.
#[utoipa::path(get, path = "/api/v1/complaints", tag = "front office", params(ComplaintParams),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Ticket>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_complaints(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    params: Result<Query<ComplaintParams>, QueryRejection>,
) -> Result<Json<Vec<Ticket>>, ApiError> {
    caller.require(CUSTOMER_READERS)?;
    let p = query(params)?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    state.audit(&caller, "list_complaints", p.customer_id);
    Ok(Json(
        state
            .store
            .tickets(p.customer_id, p.open.unwrap_or(false), limit)
            .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComplaintDetail {
    pub complaint: Ticket,
    pub similar: Vec<SimilarCase>,
}

/// One complaint with its similar cases.
#[utoipa::path(get, path = "/api/v1/complaints/{id}", tag = "front office", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ComplaintDetail), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn complaint(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    tid: Result<Path<String>, PathRejection>,
) -> Result<Json<ComplaintDetail>, ApiError> {
    caller.require(CUSTOMER_READERS)?;
    let tid = id(tid)?;
    let t = state
        .store
        .ticket(tid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no complaint {tid}")))?;
    state.audit_detail(
        &caller,
        "view_complaint",
        Some(t.customer_id),
        Some(format!("complaint {tid}")),
    );
    let similar = complaints::similar(&state.store, &t, 5).await?;
    Ok(Json(ComplaintDetail {
        complaint: t,
        similar,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StatusRequest {
    /// new → in_progress → waiting → resolved → closed
    pub status: String,
    /// How it was resolved (kept and shown with similar cases).
    pub resolution: Option<String>,
}

/// Moves a complaint along its workflow.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/status", tag = "front office", params(("id" = i64, Path)),
    request_body = StatusRequest, security(("bearer" = [])),
    responses((status = 200, body = Ticket), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 409, description = "Not allowed from the current status", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn complaint_status(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    tid: Result<Path<String>, PathRejection>,
    req: Result<Json<StatusRequest>, JsonRejection>,
) -> Result<Json<Ticket>, ApiError> {
    caller.require(CUSTOMER_READERS)?;
    let tid = id(tid)?;
    let r = body(req)?;
    limit(&[("resolution", r.resolution.as_deref(), TEXT_MAX)])?;
    if !complaints::STATUSES.contains(&r.status.as_str()) {
        return Err(ApiError::bad_request(format!(
            "status: {}",
            complaints::STATUSES.join(", ")
        )));
    }
    let t = state
        .store
        .ticket(tid)
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
    Ok(Json(
        state
            .store
            .ticket(tid)
            .await?
            .ok_or_else(|| ApiError::not_found("vanished"))?,
    ))
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
    caller: Caller,
    params: Result<Query<ComplaintReportParams>, QueryRejection>,
) -> Result<Json<ComplaintReport>, ApiError> {
    let ops = caller.require(OPERATORS).is_ok();
    if !ops {
        caller.require(CUSTOMER_READERS)?;
    }
    let p = query(params)?;
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
