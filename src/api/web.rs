//! The web page: one search box, the customer card, the call screen-pop; a small static
//! bundle (web/) that talks to the JSON API with the user's token.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;

const INDEX: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const APP_CSS: &str = include_str!("../../web/app.css");

async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX,
    )
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
}

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS)
}

/// `/`, `/kunde/{id}`, `/anruf` (client-side views of one page) and its assets.
pub fn routes() -> Router<Arc<super::AppState>> {
    Router::new()
        .route("/", get(index))
        .route("/kunde/{id}", get(index))
        .route("/anruf", get(index))
        .route("/static/app.js", get(js))
        .route("/static/app.css", get(css))
}
