//! Operations routes (role ops): sync runs, starting a run, identity decisions.

use super::error::{ApiError, ErrorBody};
use super::extract::{Allowed, ApiJson, ApiPath, ApiQuery, Operators};
use super::state::AppState;
use crate::identity::triage::Suggestion;
use crate::identity::{KeyId, ResolveSummary, actions};
use crate::sync::shown::RunInfo;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsParams {
    pub connector: Option<String>,
    /// 1–1000, default 50.
    pub limit: Option<i64>,
}

/// Recent sync runs with their counts.
#[utoipa::path(get, path = "/api/v1/sync/runs", params(RunsParams), tag = "operations",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<RunInfo>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn runs(
    State(state): State<Arc<AppState>>,
    _caller: Allowed<Operators>,
    ApiQuery(p): ApiQuery<RunsParams>,
) -> Result<Json<Vec<RunInfo>>, ApiError> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let runs = state.store.runs(p.connector.as_deref(), limit).await?;
    Ok(Json(runs.into_iter().map(RunInfo::from).collect()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunStarted {
    pub run_id: i64,
    pub connector: String,
}

/// Starts a sync run of a connector (answers at once; the run goes on in the server).
#[utoipa::path(post, path = "/api/v1/sync/{connector}", tag = "operations",
    params(("connector" = String, Path)),
    security(("bearer" = [])),
    responses((status = 202, body = RunStarted), (status = 404, body = ErrorBody),
        (status = 409, description = "A run of this connector is going on", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn start_sync(
    State(state): State<Arc<AppState>>,
    caller: Allowed<Operators>,
    ApiPath(name): ApiPath<String>,
) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    if state.current().connector(&name).is_none() {
        return Err(ApiError::not_found(format!("no connector `{name}`")));
    }
    use crate::scheduler::StartError;
    let run_id = match state.runner.start(&name, None).await {
        Ok(id) => id,
        Err(StartError::NoConnector(n)) => {
            return Err(ApiError::not_found(format!("no connector `{n}`")));
        }
        Err(e @ StartError::Busy(_)) => return Err(ApiError::conflict(e.to_string())),
        Err(StartError::Config(m)) => {
            return Err(ApiError::new(StatusCode::CONFLICT, "config", m));
        }
        Err(StartError::Store(e)) => return Err(e.into()),
    };
    tracing::info!(connector = %name, run_id, by = %caller.who, "sync started through the API");
    Ok((
        StatusCode::ACCEPTED,
        Json(RunStarted {
            run_id,
            connector: name,
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestionParams {
    /// open (default), confirmed, rejected, obsolete, or all.
    pub status: Option<String>,
    pub limit: Option<i64>,
}

/// Possible duplicates for ops to decide, best score first; `cluster` groups the suggestions
/// that share a customer (named by the cluster's lowest suggestion id).
#[utoipa::path(get, path = "/api/v1/identity/suggestions", params(SuggestionParams), tag = "identity",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Suggestion>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn suggestions(
    State(state): State<Arc<AppState>>,
    _caller: Allowed<Operators>,
    ApiQuery(p): ApiQuery<SuggestionParams>,
) -> Result<Json<Vec<Suggestion>>, ApiError> {
    let status = p.status.unwrap_or_else(|| "open".into());
    if !["open", "confirmed", "rejected", "obsolete", "all"].contains(&status.as_str()) {
        return Err(ApiError::bad_request(
            "status: open, confirmed, rejected, obsolete or all",
        ));
    }
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let filter = (status != "all").then_some(status.as_str());
    // Clusters over the whole listing, then the first `limit`.
    let mut list = crate::identity::triage::listing(&state.store, filter).await?;
    list.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(Json(list))
}

/// 409 while this node's configuration differs from the cluster's: decisions resolve
/// identities, which a node with another configuration must not do.
async fn require_cluster_config(state: &AppState) -> Result<(), ApiError> {
    if state.runner.allowed().await {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "config_differs",
        state
            .runner
            .refusal()
            .unwrap_or_else(|| "the cluster configuration could not be read".into()),
    ))
}

fn id_of(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::bad_request(format!("`{raw}` is not a number")))
}

/// 404 unless the customer (or an id merged into one) exists.
async fn customer_exists(state: &AppState, id: i64) -> Result<(), ApiError> {
    if state.directory().contains(id) || state.store.alias_target(id).await?.is_some() {
        return Ok(());
    }
    if state.store.keys_of(id).await?.is_empty() {
        return Err(ApiError::not_found(format!("no customer {id}")));
    }
    Ok(())
}

/// 404 unless the suggestion exists.
async fn suggestion_exists(state: &AppState, id: i64) -> Result<(), ApiError> {
    match state.store.suggestion(id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(format!("no suggestion {id}"))),
    }
}

async fn after_decision(
    state: &AppState,
    r: ResolveSummary,
) -> Result<Json<ResolveSummary>, ApiError> {
    state.refresh_directory(false).await?;
    Ok(Json(r))
}

/// Confirms a suggestion: the two customers become one.
#[utoipa::path(post, path = "/api/v1/identity/suggestions/{id}/confirm", tag = "identity",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = ResolveSummary), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    caller: Allowed<Operators>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ResolveSummary>, ApiError> {
    require_cluster_config(&state).await?;
    let id = id_of(&id)?;
    suggestion_exists(&state, id).await?;
    let r = actions::decide(&state.store, &state.current(), id, true).await?;
    state.audit_detail(
        &caller,
        "identity_confirm",
        None,
        Some(format!("suggestion {id}")),
    );
    after_decision(&state, r).await
}

/// Rejects a suggestion: the two stay apart and it is not suggested again.
#[utoipa::path(post, path = "/api/v1/identity/suggestions/{id}/reject", tag = "identity",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = ResolveSummary), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn reject(
    State(state): State<Arc<AppState>>,
    caller: Allowed<Operators>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ResolveSummary>, ApiError> {
    require_cluster_config(&state).await?;
    let id = id_of(&id)?;
    suggestion_exists(&state, id).await?;
    let r = actions::decide(&state.store, &state.current(), id, false).await?;
    state.audit_detail(
        &caller,
        "identity_reject",
        None,
        Some(format!("suggestion {id}")),
    );
    after_decision(&state, r).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MergeRequest {
    /// The customer to merge into this one.
    pub other: i64,
}

/// Merges another customer into this one (the older id stays).
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "identity",
    params(("id" = i64, Path)), request_body = MergeRequest, security(("bearer" = [])),
    responses((status = 200, body = ResolveSummary), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn merge(
    State(state): State<Arc<AppState>>,
    caller: Allowed<Operators>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MergeRequest>,
) -> Result<Json<ResolveSummary>, ApiError> {
    require_cluster_config(&state).await?;
    let id = id_of(&id)?;
    customer_exists(&state, id).await?;
    customer_exists(&state, body.other).await?;
    let r = actions::merge(&state.store, &state.current(), id, body.other).await?;
    state.audit_detail(
        &caller,
        "identity_merge",
        Some(id),
        Some(format!("customer {}", body.other)),
    );
    after_decision(&state, r).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SplitRequest {
    /// Customer numbers to split off, as `system:number`.
    pub keys: Vec<String>,
}

/// Splits customer numbers off a customer into a customer of their own.
#[utoipa::path(post, path = "/api/v1/customers/{id}/split", tag = "identity",
    params(("id" = i64, Path)), request_body = SplitRequest, security(("bearer" = [])),
    responses((status = 200, body = ResolveSummary), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn split(
    State(state): State<Arc<AppState>>,
    caller: Allowed<Operators>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SplitRequest>,
) -> Result<Json<ResolveSummary>, ApiError> {
    require_cluster_config(&state).await?;
    let id = id_of(&id)?;
    customer_exists(&state, id).await?;
    let keys: Vec<KeyId> = body
        .keys
        .iter()
        .map(|k| {
            KeyId::parse(k)
                .ok_or_else(|| ApiError::bad_request(format!("`{k}`: use system:number")))
        })
        .collect::<Result<_, _>>()?;
    let r = actions::split(&state.store, &state.current(), id, &keys).await?;
    state.audit(&caller, "identity_split", Some(id));
    after_decision(&state, r).await
}
