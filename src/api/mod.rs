//! The HTTP API (`/api/v1`, JSON): bearer tokens with roles, a rate limit per token, errors
//! as JSON, OpenAPI generated from the code at `/api/v1/openapi.json`.

pub mod auth;
pub mod error;
mod handlers;
mod ops;
pub mod state;

pub use state::AppState;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "kontor", description = "ERP/WaWi data for the front office: merged customers, open items, orders, caller-ID."),
    paths(
        handlers::search, handlers::customer, handlers::lookup_phone, handlers::item_availability,
        handlers::healthz, ops::runs, ops::start_sync, ops::suggestions, ops::confirm, ops::reject,
        ops::merge, ops::split
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "customers", description = "Search and the merged view (roles sales, service)"),
        (name = "lookup", description = "Caller-ID (roles cti, sales, service)"),
        (name = "items", description = "Stock (roles sales, service)"),
        (name = "operations", description = "Sync runs (role ops), health"),
        (name = "identity", description = "Duplicates, merge and split (role ops)")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

async fn not_found() -> error::ApiError {
    error::ApiError::not_found("no such route (see /api/v1/openapi.json)")
}

async fn method_not_allowed() -> error::ApiError {
    error::ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}

/// The API's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/customers", get(handlers::search))
        .route("/api/v1/customers/{id}", get(handlers::customer))
        .route("/api/v1/customers/{id}/merge", post(ops::merge))
        .route("/api/v1/customers/{id}/split", post(ops::split))
        .route("/api/v1/lookup/phone/{number}", get(handlers::lookup_phone))
        .route(
            "/api/v1/items/{sku}/availability",
            get(handlers::item_availability),
        )
        .route("/api/v1/sync/runs", get(ops::runs))
        .route("/api/v1/sync/{connector}", post(ops::start_sync))
        .route("/api/v1/identity/suggestions", get(ops::suggestions))
        .route(
            "/api/v1/identity/suggestions/{id}/confirm",
            post(ops::confirm),
        )
        .route(
            "/api/v1/identity/suggestions/{id}/reject",
            post(ops::reject),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves (in-flight requests finish).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let refresher = state.spawn_refresher();
    let app = router(state);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    refresher.abort();
    result
}
