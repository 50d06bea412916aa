//! The HTTP API (`/api/v1`, JSON): bearer tokens with roles, a rate limit per token, errors
//! as JSON, OpenAPI generated from the code at `/api/v1/openapi.json`.

pub mod accounts;
pub mod auth;
mod calls;
mod cases;
mod contacts;
mod dial;
pub mod error;
mod extract;
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
use axum::routing::get;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "kontor", description = "ERP/WaWi data for the front office: merged customers, open items, orders, caller-ID."),
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

/// The API's routes and their OpenAPI document: each documented route is declared once, by
/// its handler's `#[utoipa::path]` (path and method come from there).
fn api_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(handlers::healthz))
        .routes(routes!(handlers::search))
        .routes(routes!(handlers::customer))
        .routes(routes!(handlers::customer_document))
        .routes(routes!(ops::merge))
        .routes(routes!(ops::split))
        .routes(routes!(handlers::lookup_phone))
        .routes(routes!(handlers::item_search))
        .routes(routes!(handlers::item_availability))
        .routes(routes!(ops::runs))
        .routes(routes!(ops::start_sync))
        .routes(routes!(ops::suggestions))
        .routes(routes!(ops::confirm))
        .routes(routes!(ops::reject))
        .routes(routes!(front::customer_timeline))
        .routes(routes!(contacts::add_activity))
        .routes(routes!(contacts::edit_activity, contacts::delete_activity))
        .routes(routes!(calls::incoming_call))
        .routes(routes!(dial::dial))
        .routes(routes!(calls::call_events))
        .routes(routes!(pbx::sipgate))
        .routes(routes!(pbx::placetel))
        .routes(routes!(threecx::lookup))
        .routes(routes!(threecx::journal))
        .routes(routes!(front::screenpop))
        .routes(routes!(front::reminders, front::add_reminder))
        .routes(routes!(front::reminder_done))
        .routes(routes!(front::reminder_reopen))
        .routes(routes!(front::reminder_snooze))
        .routes(routes!(cases::list_complaints, cases::add_complaint))
        .routes(routes!(cases::complaint, cases::update_complaint))
        .routes(routes!(cases::complaint_status))
        .routes(routes!(cases::complaint_step))
        .routes(routes!(cases::forward_complaint))
        .routes(routes!(privacy::erase))
        .routes(routes!(privacy::export))
        .routes(routes!(privacy::audit))
        .routes(routes!(privacy::contact_report))
        .routes(routes!(cases::complaint_report))
        .routes(routes!(
            session::current,
            session::sign_in,
            session::sign_out
        ))
        .routes(routes!(session::sign_out_everywhere))
        .routes(routes!(session::methods))
}

/// The API's routes (with `/metrics` unless it has a listener of its own).
pub fn router(state: Arc<AppState>) -> Router {
    let (api, doc) = api_routes().split_for_parts();
    // Written once: the document does not change while the server runs.
    let doc: Arc<str> = serde_json::to_string(&doc).unwrap_or_default().into();
    let mut r = api
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = Arc::clone(&doc);
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        doc.to_string(),
                    )
                }
            }),
        )
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
