//! The HTTP API (`/api/v1`, JSON): bearer tokens with roles, a rate limit per token, errors
//! as JSON, OpenAPI generated from the code at `/api/v1/openapi.json`.

pub mod accounts;
pub mod auth;
mod calls;
mod cases;
pub mod error;
mod front;
mod handlers;
pub mod listen;
pub mod oidc;
mod ops;
mod pbx;
mod privacy;
mod session;
pub mod state;
mod threecx;
mod watch;
mod web;

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
        handlers::item_search, handlers::healthz, ops::runs, ops::start_sync, ops::suggestions, ops::confirm, ops::reject,
        ops::merge, ops::split, front::customer_timeline, front::add_activity, calls::incoming_call, pbx::sipgate, pbx::placetel, threecx::lookup, threecx::journal, calls::call_events,
        front::screenpop, front::add_reminder, front::reminders, front::reminder_done,
        front::reminder_snooze, front::reminder_reopen, cases::add_complaint, cases::list_complaints, cases::complaint,
        cases::complaint_status, privacy::erase, privacy::export, privacy::audit, privacy::contact_report,
        session::sign_in, session::current, session::sign_out, session::sign_out_everywhere,
        session::methods
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "customers", description = "Search and the merged view (roles sales, service)"),
        (name = "lookup", description = "Caller-ID (roles cti, sales, service)"),
        (name = "items", description = "Stock (roles sales, service)"),
        (name = "operations", description = "Sync runs (role ops), health"),
        (name = "identity", description = "Duplicates, merge and split (role ops)"),
        (name = "front office", description = "Timeline, calls, reminders, complaints (sales, service; calls: cti)"),
        (name = "privacy", description = "Erasure, export, audit log, team reports (role ops)"),
        (name = "sign-in", description = "People sign in to a session cookie (state-changing requests then need X-CSRF-Token)")
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

/// `/metrics` on its own listener: no token (bind it to loopback or a monitoring network).
async fn metrics(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> Result<axum::response::Response, error::ApiError> {
    metrics_text(&state).await
}

/// `/metrics` on the main listener: the metrics token or an ops API token.
async fn metrics_guarded(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, error::ApiError> {
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let scraper = state
        .cfg
        .server
        .metrics_token_file
        .as_ref()
        .is_some_and(|f| {
            let want = std::fs::read_to_string(state.cfg.path(f)).unwrap_or_default();
            let given = auth.and_then(state::bearer).unwrap_or_default();
            !want.trim().is_empty() && given == want.trim()
        });
    if !scraper {
        state.authenticate(auth).await?.require(auth::OPERATORS)?;
    }
    metrics_text(&state).await
}

async fn metrics_text(state: &AppState) -> Result<axum::response::Response, error::ApiError> {
    use axum::response::IntoResponse;
    let successes = state.store.last_successes().await?;
    let cluster = crate::metrics::Cluster {
        connectors: state
            .current()
            .connectors
            .iter()
            .filter(|c| c.enabled)
            .map(|c| c.name.clone())
            .collect(),
        stale: watch::stale_among(state, &successes),
        config_matches: state.runner.refusal().is_none(),
    };
    let text = state.metrics.render(&state.store, &cluster).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Records each request's latency by route template.
async fn track(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    state.metrics.observe_http(
        &method,
        &route,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}

/// The API's routes (with `/metrics` unless it has a listener of its own).
pub fn router(state: Arc<AppState>) -> Router {
    let mut r = Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/customers", get(handlers::search))
        .route("/api/v1/customers/{id}", get(handlers::customer))
        .route("/api/v1/customers/{id}/merge", post(ops::merge))
        .route("/api/v1/customers/{id}/split", post(ops::split))
        .route("/api/v1/lookup/phone/{number}", get(handlers::lookup_phone))
        .route("/api/v1/items", get(handlers::item_search))
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
        .route(
            "/api/v1/customers/{id}/timeline",
            get(front::customer_timeline),
        )
        .route(
            "/api/v1/customers/{id}/activities",
            post(front::add_activity),
        )
        .route("/api/v1/calls", post(calls::incoming_call))
        .route("/api/v1/calls/events", get(calls::call_events))
        .route("/api/v1/cti/sipgate", post(pbx::sipgate))
        .route("/api/v1/cti/placetel", post(pbx::placetel))
        .route("/api/v1/cti/3cx/lookup", get(threecx::lookup))
        .route("/api/v1/cti/3cx/journal", post(threecx::journal))
        .route("/api/v1/screenpop", get(front::screenpop))
        .route(
            "/api/v1/reminders",
            get(front::reminders).post(front::add_reminder),
        )
        .route("/api/v1/reminders/{id}/done", post(front::reminder_done))
        .route(
            "/api/v1/reminders/{id}/reopen",
            post(front::reminder_reopen),
        )
        .route(
            "/api/v1/reminders/{id}/snooze",
            post(front::reminder_snooze),
        )
        .route(
            "/api/v1/complaints",
            get(cases::list_complaints).post(cases::add_complaint),
        )
        .route("/api/v1/complaints/{id}", get(cases::complaint))
        .route(
            "/api/v1/complaints/{id}/status",
            post(cases::complaint_status),
        )
        .route("/api/v1/privacy/erase", post(privacy::erase))
        .route("/api/v1/privacy/export", post(privacy::export))
        .route("/api/v1/audit", get(privacy::audit))
        .route("/api/v1/reports/contacts", get(privacy::contact_report))
        .route(
            "/api/v1/session",
            get(session::current)
                .post(session::sign_in)
                .delete(session::sign_out),
        )
        .route(
            "/api/v1/session/everywhere",
            post(session::sign_out_everywhere),
        )
        .route("/api/v1/session/methods", get(session::methods))
        .route("/auth/oidc/login", get(oidc::login))
        .route("/auth/oidc/callback", get(oidc::callback))
        .merge(web::routes());
    if state.cfg.server.metrics_listen.is_none() {
        r = r.route("/metrics", get(metrics_guarded));
    }
    let (_, request_timeout) = state.cfg.server.timeouts();
    let guard = Arc::new(listen::Guard {
        hosts: state.cfg.server.hosts(),
        hsts: state
            .cfg
            .server
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://")),
        request_timeout,
        max_uri: 8 * 1024,
    });
    r.route_layer(axum::middleware::from_fn_with_state(
        Arc::clone(&state),
        track,
    ))
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
    .with_state(state)
    .layer(axum::middleware::from_fn_with_state(guard, listen::guard))
}

/// The largest request body (every field has its own, smaller limit).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Serves the API on `listener` until `shutdown` resolves, with the scheduler (unless
/// `[server] scheduler = false`). On shutdown: the scheduler stops, runs stop after their
/// current batch (and resume on the next start), requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let refresher = state.spawn_refresher();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (audit_done, audit_rx) = tokio::sync::watch::channel(false);
    let audit = tokio::spawn(watch::audit_writer(Arc::clone(&state), audit_rx));
    let evaluate_now = Arc::new(tokio::sync::Notify::new());
    let mut background = vec![
        refresher,
        tokio::spawn(watch::events(Arc::clone(&state), Arc::clone(&evaluate_now))),
        tokio::spawn(watch::housekeeping(Arc::clone(&state), stop_rx.clone())),
        tokio::spawn(watch::deliver(Arc::clone(&state), stop_rx.clone())),
    ];
    let evaluator = tokio::spawn(watch::evaluate(
        Arc::clone(&state),
        evaluate_now,
        stop_rx.clone(),
    ));
    let scheduler = state.cfg.server.scheduler.then(|| {
        tokio::spawn(crate::scheduler::schedule(
            Arc::clone(&state.runner),
            stop_rx.clone(),
        ))
    });
    let (header_timeout, _) = state.cfg.server.timeouts();
    let limits = listen::Limits {
        header_timeout,
        per_ip: state.cfg.server.max_connections_per_ip,
    };
    if let Some(addr) = &state.cfg.server.metrics_listen {
        let l = tokio::net::TcpListener::bind(addr).await?;
        let app = Router::new()
            .route("/metrics", get(metrics))
            .with_state(Arc::clone(&state));
        let mut stop = stop_rx.clone();
        let limits = limits.clone();
        background.push(tokio::spawn(async move {
            let _ = listen::serve_app(l, app, limits, async move {
                let _ = stop.changed().await;
            })
            .await;
        }));
    }
    let runner = Arc::clone(&state.runner);
    let app = router(Arc::clone(&state));
    let hub = Arc::clone(&state);
    let result = listen::serve_app(listener, app, limits, async move {
        shutdown.await;
        // Open call streams end, or the server would wait for the desks to leave.
        hub.calls.close();
        runner
            .cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = stop_tx.send(true);
    })
    .await;
    if let Some(s) = scheduler {
        let _ = s.await;
    }
    state.runner.drain(std::time::Duration::from_secs(60)).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), evaluator).await;
    // Requests have finished: the audit log gets the rest of its queue.
    let _ = audit_done.send(true);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), audit).await;
    for b in background {
        b.abort();
    }
    result
}
