//! The API under generated input: random paths, query values and bodies on every route with
//! every role never get a server error (the property-based companion of the schemathesis run in
//! docs/api.md).

use crate::common;

use common::world;
use std::collections::BTreeMap;

/// Random paths, queries and bodies on every route with every role: never a 5xx, always JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_never_get_a_server_error() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let w = world("sqlite", "").await;
    let segment = proptest::prop_oneof![
        ".{0,24}",
        "[0-9]{1,30}",
        "-[0-9]{1,20}",
        proptest::strategy::Just("%00".to_owned()),
        proptest::strategy::Just("..%2F..%2Fetc%2Fpasswd".to_owned()),
        "[+0-9 ()/-]{0,30}",
        "[a-zA-ZäöüßÄÖÜ&. -]{0,40}",
    ];
    let templates = [
        ("GET", "/api/v1/customers?q={}&limit={}&cursor={}"),
        ("GET", "/api/v1/customers/{}"),
        ("GET", "/api/v1/lookup/phone/{}"),
        ("GET", "/api/v1/items/{}/availability"),
        ("GET", "/api/v1/items?q={}&limit={}"),
        ("GET", "/api/v1/sync/runs?connector={}&limit={}"),
        ("GET", "/api/v1/identity/suggestions?status={}&limit={}"),
        ("POST", "/api/v1/customers/{}/merge"),
        ("POST", "/api/v1/customers/{}/split"),
        ("POST", "/api/v1/identity/suggestions/{}/reject"),
        ("PATCH", "/api/v1/complaints/{}/steps/{}"),
        ("POST", "/api/v1/complaints/{}/forward"),
        ("PATCH", "/api/v1/complaints/{}"),
        ("GET", "/api/v1/{}"),
    ];
    let mut runner = TestRunner::deterministic();
    let strategy = (
        0..templates.len(),
        proptest::collection::vec(segment, 3),
        0..4usize,
        ".{0,60}",
    );
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for _ in 0..600 {
        let (t, segs, role, body) = strategy.new_tree(&mut runner).unwrap().current();
        let (method, template) = templates[t];
        let mut path = template.to_owned();
        for s in &segs {
            path = path.replacen("{}", &enc(s), 1);
        }
        let role = ["sales", "service", "ops", "cti"][role];
        let body = serde_json::json!({"other": body, "keys": [body]});
        let (status, json) = w.call(method, &path, Some(role), Some(body)).await;
        assert!(
            status.as_u16() < 500,
            "{method} {path} as {role}: {status} {json}"
        );
        *statuses.entry(status.as_u16()).or_default() += 1;
    }
    // The inputs reached the handlers, not only the auth layer.
    assert!(statuses.len() >= 3, "{statuses:?}");
}

/// The route's roles are checked before its path, query or body is read: a caller without the
/// role gets 403 whatever the input (and learns nothing about what the route accepts); a
/// caller with it gets a 400 that says what is wrong, as JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_is_checked_before_any_input_is_read() {
    use reqwest::StatusCode;
    let w = world("sqlite", "").await;
    let bad_json = serde_json::json!({"title": 5, "other": "x", "keys": "x"});
    // (method, path, body, a role without access, a role with access)
    let cases: &[(&str, &str, Option<serde_json::Value>, &str, &str)] = &[
        (
            "GET",
            "/api/v1/customers/not-a-number",
            None,
            "cti",
            "sales",
        ),
        (
            "GET",
            "/api/v1/customers?limit=many",
            None,
            "ops",
            "service",
        ),
        ("GET", "/api/v1/sync/runs?limit=many", None, "sales", "ops"),
        (
            "POST",
            "/api/v1/customers/not-a-number/merge",
            Some(bad_json.clone()),
            "sales",
            "ops",
        ),
        (
            "POST",
            "/api/v1/complaints",
            Some(bad_json.clone()),
            "ops",
            "sales",
        ),
        (
            "GET",
            "/api/v1/reports/complaints?from=yesterday",
            None,
            "cti",
            "ops",
        ),
    ];
    for (method, path, body, denied, allowed) in cases {
        let (s, json) = w.call(method, path, Some(denied), body.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{denied} {method} {path}: {json}");
        assert_eq!(json["error"]["code"], "forbidden", "{json}");
        let (s, json) = w.call(method, path, Some(allowed), body.clone()).await;
        assert_eq!(
            s,
            StatusCode::BAD_REQUEST,
            "{allowed} {method} {path}: {json}"
        );
        assert_eq!(json["error"]["code"], "bad_request", "{json}");
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{json}"
        );
        let (s, _) = w.call(method, path, None, body.clone()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
}
