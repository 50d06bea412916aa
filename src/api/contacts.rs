//! Contacts recorded at the desk (calls, e-mails, visits, notes): recorded by anyone who reads
//! customers, corrected or deleted only by whoever recorded them and only for
//! [`ACTIVITY_EDIT_HOURS`] — both in the audit log.

use super::error::{ApiError, ErrorBody};
use super::extract::{Allowed, ApiJson, ApiPath, CustomerReaders};
use super::front::{TEXT_MAX, TITLE_MAX, bounded_date, customer_known, id, limit};
use super::state::{AppState, Caller};
use crate::front::desk::{ACTIVITY_EDIT_HOURS, Activity, editable_until};
use crate::store::{ActivityEdit, ActivityRow, NewActivity};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ActivityRequest {
    /// call, email, visit or note
    pub kind: String,
    /// in or out
    pub direction: Option<String>,
    /// Default: now.
    pub at: Option<DateTime<Utc>>,
    pub subject: Option<String>,
    pub text: Option<String>,
}

/// A correction of a contact: the fields given replace the recorded ones.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityPatch {
    pub kind: Option<String>,
    pub direction: Option<String>,
    pub at: Option<DateTime<Utc>>,
    pub subject: Option<String>,
    pub text: Option<String>,
}

fn check(
    kind: Option<&str>,
    direction: Option<&str>,
    subject: Option<&str>,
    text: Option<&str>,
    at: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    limit(&[("subject", subject, TITLE_MAX), ("text", text, TEXT_MAX)])?;
    if kind.is_some_and(|k| !crate::model::ACTIVITY_KINDS.contains(&k)) {
        return Err(ApiError::bad_request("kind: call, email, visit or note"));
    }
    if direction.is_some_and(|d| d != "in" && d != "out") {
        return Err(ApiError::bad_request("direction: in or out"));
    }
    if let Some(at) = at {
        bounded_date("at", at)?;
    }
    Ok(())
}

/// Logs a call, e-mail, visit or note (the token's team is recorded, never a person; who
/// recorded it is kept only as a salted hash, so that they may correct it for a day).
#[utoipa::path(post, path = "/api/v1/customers/{id}/activities", tag = "front office",
    params(("id" = i64, Path)), request_body = ActivityRequest, security(("bearer" = [])),
    responses((status = 201, body = Activity), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_activity(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiPath(cid): ApiPath<String>,
    ApiJson(r): ApiJson<ActivityRequest>,
) -> Result<(StatusCode, Json<Activity>), ApiError> {
    let cid = id(cid)?;
    check(
        Some(&r.kind),
        r.direction.as_deref(),
        r.subject.as_deref(),
        r.text.as_deref(),
        r.at,
    )?;
    customer_known(&state, cid)?;
    let new = NewActivity {
        customer_id: Some(cid),
        kind: r.kind,
        direction: r.direction,
        at: r.at.unwrap_or_else(Utc::now),
        subject: r.subject,
        text: r.text,
        team: caller.team.clone(),
        phone: None,
        source: "api".into(),
        author: Some(state.author_key(&caller)),
    };
    let aid = state.store.add_activity(&new).await?;
    let a = state
        .store
        .activity(aid)
        .await?
        .ok_or_else(|| ApiError::not_found("the activity vanished"))?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// The caller's own contact `aid`, still within its edit window.
async fn own(state: &AppState, caller: &Caller, aid: i64) -> Result<ActivityRow, ApiError> {
    let a = state
        .store
        .activity(aid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no contact {aid}")))?;
    let author = state.author_key(caller);
    match editable_until(&a, Some(&author)) {
        None => Err(ApiError::forbidden(
            "only whoever recorded a contact at the desk may change it",
        )),
        Some(until) if until < Utc::now() => Err(ApiError::forbidden(format!(
            "a contact can be changed for {ACTIVITY_EDIT_HOURS} hours after it was recorded"
        ))),
        Some(_) => Ok(a),
    }
}

/// Corrects one's own contact (within a day of recording it; audited).
#[utoipa::path(patch, path = "/api/v1/activities/{id}", tag = "front office",
    params(("id" = i64, Path)), request_body = ActivityPatch, security(("bearer" = [])),
    responses((status = 200, body = Activity), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn edit_activity(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiPath(aid): ApiPath<String>,
    ApiJson(r): ApiJson<ActivityPatch>,
) -> Result<Json<Activity>, ApiError> {
    let aid = id(aid)?;
    check(
        r.kind.as_deref(),
        r.direction.as_deref(),
        r.subject.as_deref(),
        r.text.as_deref(),
        r.at,
    )?;
    let before = own(&state, &caller, aid).await?;
    let edit = ActivityEdit {
        kind: r.kind,
        direction: r.direction,
        at: r.at,
        subject: r.subject,
        text: r.text,
    };
    state.store.edit_activity(aid, &edit).await?;
    state.audit_detail(
        &caller,
        "edit_activity",
        before.customer_id,
        Some(format!("A{aid}")),
    );
    let a = state
        .store
        .activity(aid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no contact {aid}")))?;
    Ok(Json(a.into()))
}

/// Deletes one's own contact (within a day of recording it; audited).
#[utoipa::path(delete, path = "/api/v1/activities/{id}", tag = "front office",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn delete_activity(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiPath(aid): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let aid = id(aid)?;
    let before = own(&state, &caller, aid).await?;
    state.store.delete_activity(aid).await?;
    state.audit_detail(
        &caller,
        "delete_activity",
        before.customer_id,
        Some(format!("A{aid}")),
    );
    Ok(StatusCode::NO_CONTENT)
}
