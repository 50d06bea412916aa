//! Front-office routes: search, merged view, caller-ID lookup, item search and availability,
//! health.

use super::error::{ApiError, ErrorBody};
use super::extract::{Allowed, ApiPath, ApiQuery, CustomerReaders, PhoneReaders};
use super::state::AppState;
use crate::directory::{PhoneLookup, SearchPage};
use crate::view::{
    Availability, DOCUMENT_KINDS, DocumentView, MergedView, availability, card_json, customer_view,
    document, find_items, waiting_orders,
};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The business date (server's local calendar day).
pub(super) fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Customer number, name, city, postcode, VAT ID, phone, e-mail, invoice or order number.
    pub q: Option<String>,
    /// Hits per page (1–100, default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Search customers.
#[utoipa::path(get, path = "/api/v1/customers", params(SearchParams), tag = "customers",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Hits, best first", body = SearchPage),
        (status = 400, description = "Bad query or cursor", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn search(
    State(state): State<Arc<AppState>>,
    _caller: Allowed<CustomerReaders>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Json<SearchPage>, ApiError> {
    let (q, limit) = search_terms(p.q, p.limit)?;
    let dir = state.directory();
    let page = dir
        .search(&state.store, &q, limit, p.cursor.as_deref())
        .await
        .map_err(|e| match e {
            crate::directory::SearchError::Cursor(_) => ApiError::bad_request(e.to_string()),
            crate::directory::SearchError::Store(s) => s.into(),
        })?;
    Ok(Json(page))
}

/// The merged view of one customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path, description = "Customer id (an id merged into another answers with that one)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = MergedView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn customer(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let raw = id;
    let id: i64 = raw
        .parse()
        .map_err(|_| ApiError::bad_request(format!("customer id `{raw}` is not a number")))?;
    state.audit(&caller, "view_customer", Some(id));
    // Customers in the in-memory directory: their stored card (one query) or, when it is not
    // valid, the view built and its card stored in the background; others (an alias, a
    // customer newer than the directory) are looked up in the store.
    let dir = state.directory();
    let Some(known) = dir.known(id) else {
        let view = customer_view(&state.store, &state.view(), id, today())
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no customer {id}")))?;
        return Ok(Json(view).into_response());
    };
    let json = card_json(&state.store, &state.view(), id, known, today(), |c| {
        state.keep_card(c)
    })
    .await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json,
    )
        .into_response())
}

/// One invoice, credit note or order of a customer: dates, amounts, lines, where it comes
/// from and the documents it is related to (also when it is paid or delivered).
#[utoipa::path(get, path = "/api/v1/customers/{id}/documents/{kind}/{number}", tag = "customers",
    params(("id" = i64, Path), ("kind" = String, Path, description = "invoice, credit_note or order"),
        ("number" = String, Path, description = "The document number (a `/` in it written as %2F)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DocumentView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn customer_document(
    State(state): State<Arc<AppState>>,
    caller: Allowed<CustomerReaders>,
    ApiPath((raw, kind, number)): ApiPath<(String, String, String)>,
) -> Result<Json<DocumentView>, ApiError> {
    let id: i64 = raw
        .parse()
        .map_err(|_| ApiError::bad_request(format!("customer id `{raw}` is not a number")))?;
    if !DOCUMENT_KINDS.contains(&kind.as_str()) {
        return Err(ApiError::bad_request(format!(
            "kind `{kind}`: one of {}",
            DOCUMENT_KINDS.join(", ")
        )));
    }
    let dir = state.directory();
    let known = dir
        .known(id)
        .ok_or_else(|| ApiError::not_found(format!("no customer {id}")))?;
    state.audit_detail(
        &caller,
        "view_document",
        Some(id),
        Some(format!("{kind} {number}")),
    );
    let doc = document(&state.store, &state.view(), known, &kind, &number, today())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("customer {id} has no {kind} `{number}`")))?;
    Ok(Json(doc))
}

/// Caller-ID lookup: the customers a phone number belongs to, best first.
#[utoipa::path(get, path = "/api/v1/lookup/phone/{number}", tag = "lookup",
    params(("number" = String, Path, description = "Any notation: +49 (0)89 1234-56, 0049 89 123456, 089/123456-0, 089 123456 Durchwahl 12")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PhoneLookup),
        (status = 400, description = "Not a phone number", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn lookup_phone(
    State(state): State<Arc<AppState>>,
    caller: Allowed<PhoneReaders>,
    ApiPath(number): ApiPath<String>,
) -> Result<Json<PhoneLookup>, ApiError> {
    if number.len() > 64 {
        return Err(ApiError::bad_request(
            "the number is longer than 64 characters",
        ));
    }
    let found = state
        .directory()
        .lookup_phone(&number)
        .map_err(ApiError::bad_request)?;
    state.audit_detail(
        &caller,
        "lookup_phone",
        found.candidates.first().map(|c| c.customer_id),
        Some(found.number.clone()),
    );
    Ok(Json(found))
}

/// Stock of an item per warehouse and its next receipt date.
#[utoipa::path(get, path = "/api/v1/items/{sku}/availability", tag = "items",
    params(("sku" = String, Path, description = "Item number")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Availability),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn item_availability(
    State(state): State<Arc<AppState>>,
    _caller: Allowed<CustomerReaders>,
    ApiPath(sku): ApiPath<String>,
) -> Result<Json<Availability>, ApiError> {
    let stock = state
        .store
        .records_by_ref(&["stock"], std::slice::from_ref(&sku))
        .await?;
    let refs: Vec<&crate::store::StoredRecord> = stock.iter().collect();
    availability(&sku, &refs)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no stock of item `{sku}`")))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemParams {
    /// Item number (exactly as written, leading zeros kept; also its start), EAN, or words
    /// of the item's name.
    pub q: Option<String>,
    /// Items (1–100, default 20).
    pub limit: Option<i64>,
}

/// Items found, best first: an exact item number alone.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemHits {
    pub items: Vec<Availability>,
}

/// Search items by number, EAN or name: stock per warehouse of each.
#[utoipa::path(get, path = "/api/v1/items", params(ItemParams), tag = "items",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Items, best first (none found: an empty list)", body = ItemHits),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn item_search(
    State(state): State<Arc<AppState>>,
    _caller: Allowed<CustomerReaders>,
    ApiQuery(p): ApiQuery<ItemParams>,
) -> Result<Json<ItemHits>, ApiError> {
    let (q, limit) = search_terms(p.q, p.limit)?;
    let mut items = find_items(&state.store, &q, limit).await?;
    let skus = items.iter().map(|a| a.sku.clone()).collect();
    let mut waiting = waiting_orders(&state.store, &skus).await?;
    let dir = state.directory();
    for a in &mut items {
        a.waiting_orders = waiting.remove(&a.sku).unwrap_or_default();
        for w in &mut a.waiting_orders {
            w.customer_id = w
                .customer_no
                .as_deref()
                .and_then(|no| dir.customer_of(&w.connector, no));
            w.customer_name = w
                .customer_id
                .and_then(|id| dir.entry(id))
                .and_then(|e| e.name);
        }
    }
    Ok(Json(ItemHits { items }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when a connector's last run failed, a scheduled source is stale, a
    /// file was refused and no later one loaded, or this node's configuration differs from
    /// the cluster's (still 200: the store answers).
    pub status: String,
    pub store: String,
    pub customers: usize,
    pub identity_generation: i64,
    /// This node's configuration against the cluster's.
    pub config: ConfigHealth,
    pub connectors: Vec<ConnectorHealth>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConfigHealth {
    /// `cluster` (this node runs the cluster's configuration) or `differs` (it changes
    /// nothing: no schedules, runs or identity resolution).
    pub status: String,
    pub fingerprint: String,
    /// Why it changes nothing: which connectors, mappings or sections differ.
    pub differences: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectorHealth {
    pub name: String,
    pub schedule: Option<String>,
    pub last_run_status: Option<String>,
    pub last_run_error: Option<String>,
    pub last_success: Option<chrono::DateTime<chrono::Utc>>,
    pub stale: bool,
    /// Files refused (too many rejects, a header that does not fit the mapping) with no later
    /// file of the connector loaded: the connector is degraded until one loads or ops dismiss
    /// them (`kontor quarantine dismiss`).
    pub refused: Vec<crate::sync::shown::RefusedUnit>,
    pub degraded: bool,
}

/// 200 when the store answers (no token needed), with each connector's state.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn healthz(State(state): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    let generation = state.store.identity_generation().await?;
    let successes = state.store.last_successes().await?;
    let stale = super::watch::stale_among(&state, &successes);
    let mut refused = state.store.refused_units().await?;
    let cfg = state.current();
    let mut connectors = Vec::new();
    for c in cfg.connectors.iter().filter(|c| c.enabled) {
        let last = state.store.runs(Some(&c.name), 1).await?.into_iter().next();
        let mine: Vec<crate::sync::shown::RefusedUnit> = refused
            .extract_if(.., |u| u.connector == c.name)
            .map(Into::into)
            .collect();
        let last_run_status = last.as_ref().map(|r| r.status.as_str().to_owned());
        let is_stale = stale.contains(&c.name);
        connectors.push(ConnectorHealth {
            name: c.name.clone(),
            schedule: c.schedule.clone(),
            degraded: is_stale || last_run_status.as_deref() == Some("failed") || !mine.is_empty(),
            last_run_status,
            last_run_error: last.and_then(|r| r.error),
            last_success: successes.get(&c.name).copied(),
            stale: is_stale,
            refused: mine,
        });
    }
    let refusal = state.runner.refusal();
    let degraded = refusal.is_some() || connectors.iter().any(|c| c.degraded);
    Ok(Json(Health {
        status: if degraded { "degraded" } else { "ok" }.into(),
        store: state.store.backend().into(),
        customers: state.directory().len(),
        identity_generation: generation,
        config: ConfigHealth {
            status: if refusal.is_some() {
                "differs"
            } else {
                "cluster"
            }
            .into(),
            fingerprint: state.runner.loaded().fingerprint.digest.clone(),
            differences: refusal,
        },
        connectors,
    }))
}

/// A search's `q` (not empty, at most 200 characters) and `limit` (1 to 100, default 20).
fn search_terms(q: Option<String>, limit: Option<i64>) -> Result<(String, usize), ApiError> {
    let q = q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(ApiError::bad_request("q must not be empty"));
    }
    if q.chars().count() > 200 {
        return Err(ApiError::bad_request("q is longer than 200 characters"));
    }
    let limit = limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 100"));
    }
    Ok((q, limit as usize))
}
