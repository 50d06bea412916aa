//! The web page: one search box, the customer card, the call screen-pop; a small static
//! bundle (web/) of native ES modules that talks to the JSON API with the user's token.

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
    ("card.js", include_str!("../../web/card.js")),
    ("side.js", include_str!("../../web/side.js")),
    ("forms.js", include_str!("../../web/forms.js")),
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

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS)
}

/// `/`, `/kunde/{id}`, `/anruf` (client-side views of one page) and its assets.
pub fn routes() -> Router<Arc<super::AppState>> {
    let mut router = Router::new()
        .route("/", get(index))
        .route("/kunde/{id}", get(index))
        .route("/anruf", get(index))
        .route("/static/app.css", get(css));
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
