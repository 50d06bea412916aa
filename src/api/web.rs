//! The web page: one search box, the customer card, the call screen-pop, the item search; a small static
//! bundle (web/) of native ES modules that talks to the JSON API with the signed-in person's
//! session cookie (and its CSRF token).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;

const INDEX: &str = include_str!("../../web/index.html");
const APP_CSS: &str = include_str!("../../web/app.css");

/// The page's JavaScript modules, each served as `/static/<name>`; `app.js` is the entry
/// module (index.html loads it with `type="module"`), the others are imported from it.
const SCRIPTS: &[(&str, &str)] = &[
    ("app.js", include_str!("../../web/app.js")),
    ("lib.js", include_str!("../../web/lib.js")),
    ("prov.js", include_str!("../../web/prov.js")),
    ("card.js", include_str!("../../web/card.js")),
    ("side.js", include_str!("../../web/side.js")),
    ("forms.js", include_str!("../../web/forms.js")),
    ("items.js", include_str!("../../web/items.js")),
    ("calls.js", include_str!("../../web/calls.js")),
    ("docs.js", include_str!("../../web/docs.js")),
    ("dial.js", include_str!("../../web/dial.js")),
    ("reports.js", include_str!("../../web/reports.js")),
    ("process.js", include_str!("../../web/process.js")),
];

async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX,
    )
}

fn script(body: &'static str) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        body,
    )
}

/// The page's icon (a file of its own: the CSP allows no `data:` URLs).
const ICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#1f4e79\"/><path d=\"M5 3v10M5 8l5-5M5 8l5 5\" stroke=\"#fff\" stroke-width=\"2\" fill=\"none\"/></svg>";

async fn icon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        ICON,
    )
}

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS)
}

/// `/`, `/kunde/{id}`, `/anruf`, `/artikel`, `/berichte` (client-side views of one page) and its assets.
pub fn routes() -> Router<Arc<super::AppState>> {
    let mut router = Router::new()
        .route("/", get(index))
        .route("/kunde/{id}", get(index))
        .route("/anruf", get(index))
        .route("/artikel", get(index))
        .route("/berichte", get(index))
        .route("/static/app.css", get(css))
        .route("/static/icon.svg", get(icon));
    for &(name, body) in SCRIPTS {
        router = router.route(
            &format!("/static/{name}"),
            get(move || async move { script(body) }),
        );
    }
    router
}

#[cfg(test)]
mod tests {
    use super::SCRIPTS;

    /// Every module a script imports (`from './x.js'`) is embedded and served.
    #[test]
    fn every_imported_module_is_served() {
        for (name, body) in SCRIPTS {
            for part in body.split("from './").skip(1) {
                let imported = part.split('\'').next().unwrap_or_default();
                assert!(
                    SCRIPTS.iter().any(|(n, _)| *n == imported),
                    "{name} imports ./{imported}, which web.rs does not serve"
                );
            }
        }
    }
}
