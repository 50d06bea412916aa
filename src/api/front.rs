//! Front-office routes: timeline and contacts, incoming calls (screen-pop) and
//! reminders (complaints: [`super::cases`], privacy and reports: [`super::privacy`]).

use super::error::{ApiError, ErrorBody};
use super::extract::{Allowed, ApiJson, ApiPath, ApiQuery, CustomerReaders, PhoneReaders};
use super::handlers::today;
use super::state::AppState;
use crate::front::desk::Reminder;
use crate::front::screenpop::{ScreenPop, summary};
use crate::front::timeline::{KINDS, TimelinePage, timeline};
use crate::store::{NewReminder, ReminderFilter};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use std::sync::Arc;

/// Longest texts (characters) of the fields people type: a title, a long text, a reference.
pub(super) const TITLE_MAX: usize = 200;
pub(super) const TEXT_MAX: usize = 10_000;
pub(super) const REF_MAX: usize = 100;

/// Contacts happen between 1970 and tomorrow: a date outside is a typo (and would sort first
/// forever, or vanish at the next retention run).
pub(super) fn bounded_date(field: &str, at: DateTime<Utc>) -> Result<(), ApiError> {
    let earliest = DateTime::<Utc>::UNIX_EPOCH;
    let latest = Utc::now() + chrono::TimeDelta::days(1);
    if at < earliest || at > latest {
        return Err(ApiError::bad_request(format!(
            "{field}: {} is not between 1970-01-01 and tomorrow",
            at.to_rfc3339()
        )));
    }
    Ok(())
}

/// 400 naming the field when a text is longer than `max` characters.
pub(super) fn limit(fields: &[(&str, Option<&str>, usize)]) -> Result<(), ApiError> {
    for (name, value, max) in fields {
        if value.is_some_and(|v| v.chars().count() > *max) {
            return Err(ApiError::bad_request(format!(
                "{name}: longer than {max} characters"
            )));
        }
    }
    Ok(())
}

pub(super) fn id(raw: String) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::bad_request(format!("`{raw}` is not a number")))
}

/// The customer must exist (in the directory).
pub(super) fn customer_known(state: &AppState, id: i64) -> Result<(), ApiError> {
    if !state.directory().contains(id) {
        return Err(ApiError::not_found(format!("no customer {id}")));
    }
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Comma-separated kinds: call, email, visit, note, invoice, credit_note, order, delivery, complaint.
    pub kind: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// A customer's contacts and documents as one timeline, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "front office",
    params(("id" = i64, Path), TimelineParams), security(("bearer" = [])),
    responses((status = 200, body = TimelinePage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn customer_timeline(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiPath(cid): ApiPath<String>,
    ApiQuery(p): ApiQuery<TimelineParams>,
) -> Result<Json<TimelinePage>, ApiError> {
    let cid = id(cid)?;
    if let Some(c) = p.cursor.as_deref()
        && c.parse::<usize>().is_err()
    {
        return Err(ApiError::bad_request(format!(
            "cursor `{c}`: use the next_cursor of the previous page"
        )));
    }
    let kinds: Vec<String> = p
        .kind
        .map(|k| {
            k.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "kind `{bad}`: one of {}",
            KINDS.join(", ")
        )));
    }
    let dir = state.directory();
    let known = dir
        .known(cid)
        .ok_or_else(|| ApiError::not_found(format!("no customer {cid}")))?;
    state.audit(&caller, "view_timeline", Some(cid));
    let author = state.author_key(&caller);
    let page = timeline(
        &state.store,
        cid,
        known,
        Some(&author),
        &kinds,
        p.limit.unwrap_or(50),
        p.cursor.as_deref(),
    )
    .await?;
    Ok(Json(page))
}

pub(super) async fn screen_pop(state: &AppState, number: &str) -> Result<ScreenPop, ApiError> {
    if number.len() > 64 {
        return Err(ApiError::bad_request(
            "the number is longer than 64 characters",
        ));
    }
    let dir = state.directory();
    let found = dir.lookup_phone(number).map_err(ApiError::bad_request)?;
    let customer = match found.candidates.first() {
        Some(best) => summary(&state.store, &state.view(), &dir, best.customer_id, today()).await?,
        None => None,
    };
    Ok(ScreenPop {
        number: found.number,
        candidates: found.candidates,
        customer,
        call_id: None,
        suggestion: None,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScreenPopParams {
    pub number: String,
}

/// The screen-pop for a number, without recording a call (the web page's call view).
#[utoipa::path(get, path = "/api/v1/screenpop", tag = "front office", params(ScreenPopParams),
    security(("bearer" = [])),
    responses((status = 200, body = ScreenPop), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn screenpop(
    State(state): State<Arc<AppState>>,
    caller: Allowed<PhoneReaders>,
    ApiQuery(p): ApiQuery<ScreenPopParams>,
) -> Result<Json<ScreenPop>, ApiError> {
    let cfg = state.current();
    let suggestion =
        crate::front::screenpop::with_area_code(&p.number, cfg.cti.default_area_code.as_deref());
    let pop = match screen_pop(&state, &p.number).await {
        Ok(mut pop) => {
            // Without an area code a local number rarely matches: offer the one with ours.
            if pop.candidates.is_empty() {
                pop.suggestion = suggestion;
            }
            pop
        }
        Err(_) if suggestion.is_some() => ScreenPop {
            number: p.number.trim().to_owned(),
            candidates: Vec::new(),
            customer: None,
            call_id: None,
            suggestion,
        },
        Err(e) => return Err(e),
    };
    state.audit_detail(
        &caller,
        "screen_pop",
        pop.customer.as_ref().map(|c| c.id),
        Some(pop.number.clone()),
    );
    Ok(Json(pop))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReminderRequest {
    pub customer_id: Option<i64>,
    pub title: String,
    pub due_date: NaiveDate,
    /// A team (or whoever the company assigns; never reported per person).
    pub assignee: Option<String>,
}

/// Creates a reminder.
#[utoipa::path(post, path = "/api/v1/reminders", tag = "front office", request_body = ReminderRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Reminder), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_reminder(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiJson(r): ApiJson<ReminderRequest>,
) -> Result<(StatusCode, Json<Reminder>), ApiError> {
    limit(&[
        ("title", Some(&r.title), TITLE_MAX),
        ("assignee", r.assignee.as_deref(), REF_MAX),
    ])?;
    if r.title.trim().is_empty() {
        return Err(ApiError::bad_request("title must not be empty"));
    }
    if let Some(c) = r.customer_id {
        customer_known(&state, c)?;
    }
    let rid = state
        .store
        .add_reminder(&NewReminder {
            customer_id: r.customer_id,
            title: r.title,
            due_date: r.due_date,
            assignee: r.assignee.or_else(|| caller.team.clone()),
            source: "manual".into(),
            reason: None,
            rule_key: None,
        })
        .await?
        .ok_or_else(|| ApiError::conflict("reminder exists"))?;
    let rem = state
        .store
        .reminder(rid)
        .await?
        .ok_or_else(|| ApiError::not_found("vanished"))?;
    Ok((StatusCode::CREATED, Json(rem.into())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReminderParams {
    /// `due` (today and overdue, the default), `overdue`, `all` (open ones), `done`.
    pub show: Option<String>,
    pub customer_id: Option<i64>,
    pub assignee: Option<String>,
    pub limit: Option<i64>,
}

/// Reminders that are due (or as asked).
#[utoipa::path(get, path = "/api/v1/reminders", tag = "front office", params(ReminderParams),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Reminder>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reminders(
    State(state): State<Arc<AppState>>,
    _caller: Allowed<CustomerReaders>,
    ApiQuery(p): ApiQuery<ReminderParams>,
) -> Result<Json<Vec<Reminder>>, ApiError> {
    let today = today();
    let show = p.show.unwrap_or_else(|| "due".into());
    let (due_by, include_done) = match show.as_str() {
        "due" => (Some(today), false),
        "overdue" => (today.pred_opt(), false),
        "all" => (None, false),
        "done" => (None, true),
        other => {
            return Err(ApiError::bad_request(format!(
                "show `{other}`: due, overdue, all or done"
            )));
        }
    };
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let mut list = crate::front::desk::reminders(
        &state.store,
        &ReminderFilter {
            customer_id: p.customer_id,
            assignee: p.assignee,
            due_by,
            include_done,
            limit,
        },
    )
    .await?;
    if show == "done" {
        list.retain(|r| r.status == "done");
    }
    Ok(Json(list))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SnoozeRequest {
    pub until: NaiveDate,
}

/// Marks a reminder done.
#[utoipa::path(post, path = "/api/v1/reminders/{id}/done", tag = "front office", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Reminder), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reminder_done(
    State(state): State<Arc<AppState>>,
    _caller: Allowed<CustomerReaders>,
    ApiPath(rid): ApiPath<String>,
) -> Result<Json<Reminder>, ApiError> {
    set_reminder(&state, id(rid)?, "done", None).await
}

/// Takes back "done" or "snoozed": the reminder is open again, due on its own date (the
/// web page's "Rückgängig").
#[utoipa::path(post, path = "/api/v1/reminders/{id}/reopen", tag = "front office", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Reminder), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reminder_reopen(
    State(state): State<Arc<AppState>>,
    _caller: Allowed<CustomerReaders>,
    ApiPath(rid): ApiPath<String>,
) -> Result<Json<Reminder>, ApiError> {
    set_reminder(&state, id(rid)?, "open", None).await
}

/// Sets a reminder's status and answers with the reminder as it is now.
async fn set_reminder(
    state: &AppState,
    rid: i64,
    status: &str,
    until: Option<NaiveDate>,
) -> Result<Json<Reminder>, ApiError> {
    state
        .store
        .reminder(rid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no reminder {rid}")))?;
    state.store.set_reminder(rid, status, until).await?;
    Ok(Json(
        state
            .store
            .reminder(rid)
            .await?
            .ok_or_else(|| ApiError::not_found("vanished"))?
            .into(),
    ))
}

/// Snoozes a reminder until a day.
#[utoipa::path(post, path = "/api/v1/reminders/{id}/snooze", tag = "front office", params(("id" = i64, Path)),
    request_body = SnoozeRequest, security(("bearer" = [])),
    responses((status = 200, body = Reminder), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reminder_snooze(
    State(state): State<Arc<AppState>>,
    _caller: Allowed<CustomerReaders>,
    ApiPath(rid): ApiPath<String>,
    ApiJson(r): ApiJson<SnoozeRequest>,
) -> Result<Json<Reminder>, ApiError> {
    let rid = id(rid)?;
    if r.until <= today() {
        return Err(ApiError::bad_request("until must be after today"));
    }
    set_reminder(&state, rid, "snoozed", Some(r.until)).await
}
