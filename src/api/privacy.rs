//! Ops routes for data protection: erasure, export, the audit log and team reports.

use super::error::{ApiError, ErrorBody};
use super::extract::{Allowed, ApiJson, ApiQuery, Operators};
use super::front::limit;
use super::state::AppState;
use crate::front::desk::AuditEntry;
use crate::front::privacy::{ErasureError, ErasureRequest, ErasureSummary, Person, PersonExport};
use crate::front::reports::ContactReport;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::sync::Arc;

fn person_limits(p: &Person) -> Result<(), ApiError> {
    limit(&[
        ("email", p.email.as_deref(), 254),
        ("phone", p.phone.as_deref(), 64),
        ("name", p.name.as_deref(), 200),
    ])
}

fn erasure_error(e: ErasureError) -> ApiError {
    match e {
        ErasureError::Invalid(m) => ApiError::bad_request(m),
        e @ ErasureError::Mismatch { .. } => ApiError::conflict(e.to_string()),
        ErasureError::Store(s) => s.into(),
    }
}

/// Erases a person everywhere (role ops); a later sync does not bring the data back.
/// `dry_run: true` lists what would change; the erasure itself needs `confirm` with the dry
/// run's `total` (409 when the store changed meanwhile).
#[utoipa::path(post, path = "/api/v1/privacy/erase", tag = "privacy", request_body = ErasureRequest,
    security(("bearer" = [])),
    responses((status = 200, body = ErasureSummary), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn erase(
    State(state): State<Arc<AppState>>,
    caller: Allowed<Operators>,
    ApiJson(r): ApiJson<ErasureRequest>,
) -> Result<Json<ErasureSummary>, ApiError> {
    person_limits(&r.person)?;
    if !r.dry_run && r.confirm.is_none() {
        return Err(ApiError::bad_request(
            "confirm: the `total` of a dry run (`\"dry_run\": true` first)",
        ));
    }
    let s = crate::front::privacy::erase(&state.store, &r, &state.cfg.identity.phone_region)
        .await
        .map_err(erasure_error)?;
    if !s.dry_run {
        state.refresh_directory(true).await?;
    }
    // Who erased when and how much — not whom (that would keep the person).
    state.audit_detail(
        &caller,
        if s.dry_run {
            "privacy_erase_dry_run"
        } else {
            "privacy_erase"
        },
        None,
        Some(format!("{} change(s)", s.total)),
    );
    Ok(Json(s))
}

/// Everything stored about a person (role ops).
#[utoipa::path(post, path = "/api/v1/privacy/export", tag = "privacy", request_body = Person,
    security(("bearer" = [])),
    responses((status = 200, body = PersonExport), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn export(
    State(state): State<Arc<AppState>>,
    caller: Allowed<Operators>,
    ApiJson(p): ApiJson<Person>,
) -> Result<Json<PersonExport>, ApiError> {
    person_limits(&p)?;
    let e = crate::front::privacy::export(&state.store, &p, &state.cfg.identity.phone_region)
        .await
        .map_err(erasure_error)?;
    state.audit_detail(
        &caller,
        "privacy_export",
        None,
        Some(format!("{} record(s)", e.records.len())),
    );
    Ok(Json(e))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    pub customer_id: Option<i64>,
    pub limit: Option<i64>,
}

/// Who opened which customer (role ops; kept 90 days).
#[utoipa::path(get, path = "/api/v1/audit", tag = "privacy", params(AuditParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<AuditEntry>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(state): State<Arc<AppState>>,
    caller: Allowed<Operators>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    state.audit(&caller, "view_audit", p.customer_id);
    let rows = state.store.audit_entries(p.customer_id, limit).await?;
    Ok(Json(rows.into_iter().map(AuditEntry::from).collect()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Contacts per team in a period (role ops): teams below the minimum group size are not shown
/// on their own; there is no report per person.
#[utoipa::path(get, path = "/api/v1/reports/contacts", tag = "privacy", params(ReportParams),
    security(("bearer" = [])),
    responses((status = 200, body = ContactReport), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn contact_report(
    State(state): State<Arc<AppState>>,
    _caller: Allowed<Operators>,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Json<ContactReport>, ApiError> {
    if p.to <= p.from {
        return Err(ApiError::bad_request("to must be after from"));
    }
    Ok(Json(
        crate::front::reports::contacts(&state.store, &state.cfg.privacy, p.from, p.to).await?,
    ))
}
