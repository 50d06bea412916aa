//! Calls reach the desks by themselves (issue 18): PBX webhooks (generic JSON, sipgate.io's
//! form posts with its numbers without `+`) are recorded once and streamed as Server-Sent
//! Events to the desks of the team the called number or extension belongs to; updates
//! (answered, ended) follow their call; a desk resumes with `Last-Event-ID`; PBX tokens by
//! header, basic auth or `?token=`; open streams do not hold up a shutdown.

use crate::common;

use common::{TEAMS, world};
use kontor::api::auth::{hash_token, new_token};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// (The demo's config has `[cti]` already: its `extensions` as a sub-table.)
const CTI: &str =
    "[cti.extensions]\n\"23\" = \"vertrieb-nord\"\n\"+49 228 9999-40\" = \"innendienst\"\n";

/// One desk's event stream.
struct Desk {
    res: reqwest::Response,
    buf: String,
}

/// One event: (event name, id, data).
type Ev = (String, String, Value);

impl Desk {
    async fn open(w: &common::World, token: &str, last: Option<&str>) -> Desk {
        let mut req = w
            .http
            .get(format!("{}/api/v1/calls/events", w.base))
            .bearer_auth(token);
        if let Some(l) = last {
            req = req.header("Last-Event-ID", l);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let h = res.headers();
        assert!(
            h["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        assert_eq!(h["x-accel-buffering"], "no", "nginx must not buffer it");
        Desk {
            res,
            buf: String::new(),
        }
    }

    /// The next event within `limit` (keep-alive comments skipped), or `None`.
    async fn next_within(&mut self, limit: Duration) -> Option<Ev> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some((event, id, serde_json::from_str(&data).unwrap()));
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    async fn next(&mut self) -> Ev {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("an event within 10 s")
    }
}

async fn token(w: &common::World, name: &str, role: &str, team: Option<&str>) -> String {
    let t = new_token();
    w.store
        .create_token(name, role, team, &hash_token(&t))
        .await
        .unwrap();
    t
}

async fn sipgate(w: &common::World, auth: &str, form: &str) -> (StatusCode, String) {
    let mut req = w
        .http
        .post(format!("{}/api/v1/cti/sipgate{auth}", w.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned());
    if let Some(basic) = auth.strip_prefix("#basic:") {
        req = w
            .http
            .post(format!("{}/api/v1/cti/sipgate", w.base))
            .basic_auth("sipgate", Some(basic))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
    }
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn calls_in_timeline(w: &common::World, id: i64) -> usize {
    let (s, page) = w
        .get(
            &format!("/api/v1/customers/{id}/timeline?kind=call&limit=50"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_pop_up_on_the_desks_of_their_team() {
    let mut w = world("sqlite", &format!("{TEAMS}{CTI}")).await;
    let id = w.id_of("00042").await;
    let innendienst = token(&w, "desk-innen", "sales", Some("innendienst")).await;
    let office = token(&w, "desk-office", "service", None).await;
    let cti = w.tokens["cti"].clone();
    // The server looks for new tokens at most four times a second.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut nord = Desk::open(&w, &w.tokens["sales"], None).await;
    let mut innen = Desk::open(&w, &innendienst, None).await;
    let mut all = Desk::open(&w, &office, None).await;
    let calls_before = calls_in_timeline(&w, id).await;

    // The generic webhook: a call rings at extension 23 (team vertrieb-nord).
    let ring = json!({"from": "+49 221 4711-23", "to": "0228 9999-10", "event": "ringing",
        "call_id": "pbx-1", "extension": "23"});
    let (s, pop) = w
        .call("POST", "/api/v1/calls", Some("cti"), Some(ring.clone()))
        .await;
    assert_eq!(s, StatusCode::OK, "{pop}");
    assert_eq!(pop["customer"]["name"], "Müller & Söhne GmbH");
    let (event, first_id, data) = nord.next().await;
    assert_eq!(event, "call");
    assert_eq!(data["call_id"], "pbx-1");
    assert_eq!(data["team"], "vertrieb-nord");
    assert_eq!(data["pop"]["customer"]["name"], "Müller & Söhne GmbH");
    assert_eq!(
        data["pop"]["customer"]["open_items_total"]["amount"],
        "5449.60"
    );
    assert_eq!(
        all.next().await.2["call_id"],
        "pbx-1",
        "no team: every call"
    );
    // A PBX that repeats its webhook: recorded once.
    let (s, _) = w
        .call("POST", "/api/v1/calls", Some("cti"), Some(ring))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(calls_in_timeline(&w, id).await, calls_before + 1);
    let (s, ack) = w
        .call(
            "POST",
            "/api/v1/calls",
            Some("cti"),
            Some(json!({"from": "+49 221 4711-23", "event": "answered", "call_id": "pbx-1", "extension": "24"})),
        )
        .await;
    assert_eq!(
        (s, &ack["state"]),
        (StatusCode::ACCEPTED, &json!("answered")),
        "{ack}"
    );
    // The repeated ringing comes again (a desk that missed it), then the update.
    let (event, _, data) = nord.next().await;
    assert_eq!(
        (event.as_str(), &data["call_id"]),
        ("call", &json!("pbx-1"))
    );
    let (event, _, data) = nord.next().await;
    assert_eq!(
        (event.as_str(), &data["state"]),
        ("call_update", &json!("answered"))
    );
    let (s, bad) = w
        .call(
            "POST",
            "/api/v1/calls",
            Some("cti"),
            Some(json!({"from": "1", "event": "ended"})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "an update names its call: {bad}"
    );

    // sipgate.io: numbers without `+`, the token as a query parameter; the called line
    // belongs to team innendienst.
    let (s, xml) = sipgate(
        &w,
        &format!("?token={cti}"),
        "event=newCall&from=49221471123&to=49228999940&direction=in&callId=sg-1&user%5B%5D=Anna+Schmidt&xcid=x",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{xml}");
    let back = format!("{}/api/v1/cti/sipgate?token={cti}", w.base);
    assert!(
        xml.contains(&format!(
            "<Response onAnswer=\"{back}\" onHangup=\"{back}\"/>"
        )),
        "sipgate subscribes to answer and hangup at the same URL: {xml}"
    );
    let (event, _, data) = innen.next().await;
    assert_eq!((event.as_str(), &data["call_id"]), ("call", &json!("sg-1")));
    assert_eq!(data["pop"]["number"], "+49221471123", "49… read as +49…");
    assert_eq!(data["pop"]["customer"]["name"], "Müller & Söhne GmbH");
    assert_eq!(all.next().await.2["call_id"], "pbx-1");
    assert_eq!(all.next().await.2["call_id"], "pbx-1");
    assert_eq!(all.next().await.2["call_id"], "sg-1");
    // Its hangup, with the token as basic-auth password.
    let (s, xml) = sipgate(
        &w,
        &format!("#basic:{cti}"),
        "event=hangup&callId=sg-1&cause=normalClearing&from=49221471123&to=49228999940&direction=in",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{xml}");
    assert!(xml.contains("<Response/>"), "{xml}");
    let (event, _, data) = innen.next().await;
    assert_eq!(
        (event.as_str(), &data["state"], &data["cause"]),
        ("call_update", &json!("ended"), &json!("normalClearing"))
    );
    // Outgoing calls and withheld numbers.
    let (s, xml) = sipgate(
        &w,
        &format!("?token={cti}"),
        "event=newCall&from=49228999940&to=49221471123&direction=out&callId=sg-2",
    )
    .await;
    assert_eq!((s, xml.contains("<Response/>")), (StatusCode::OK, true));
    let (s, _) = sipgate(
        &w,
        &format!("?token={cti}"),
        "event=newCall&from=anonymous&to=49228999940&direction=in&callId=sg-3",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, data) = innen.next().await;
    assert_eq!(
        (
            &data["call_id"],
            &data["pop"]["number"],
            data["pop"]["customer"].is_null()
        ),
        (&json!("sg-3"), &json!("anonymous"), true),
        "the outgoing call sg-2 was not shown; a withheld number pops up as such"
    );
    // Team vertrieb-nord saw none of innendienst's calls: its next event is its own.
    w.call(
        "POST",
        "/api/v1/calls",
        Some("cti"),
        Some(json!({"from": "030 999999", "call_id": "pbx-2", "extension": "23"})),
    )
    .await;
    assert_eq!(nord.next().await.2["call_id"], "pbx-2");

    // Tokens: wrong ones and other roles are refused.
    let (s, _) = sipgate(
        &w,
        "?token=nope",
        "event=newCall&from=1&to=2&direction=in&callId=x",
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let sales = w.tokens["sales"].clone();
    let (s, _) = sipgate(
        &w,
        &format!("?token={sales}"),
        "event=newCall&from=1&callId=x",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let res = w
        .http
        .get(format!("{}/api/v1/calls/events", w.base))
        .bearer_auth(&cti)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "the PBX does not listen"
    );

    // A desk that reconnects gets what it missed after its last event.
    let mut again = Desk::open(&w, &w.tokens["sales"], Some(&first_id)).await;
    let mut missed = Vec::new();
    while let Some((_, _, d)) = again.next_within(Duration::from_secs(2)).await {
        missed.push((d["call_id"].clone(), d["state"].clone()));
    }
    assert_eq!(
        missed,
        [
            (json!("pbx-1"), json!("ringing")),
            (json!("pbx-1"), json!("answered")),
            (json!("pbx-2"), json!("ringing")),
        ]
    );

    // Open streams end at shutdown instead of holding the server.
    tokio::time::timeout(Duration::from_secs(15), w.shutdown())
        .await
        .expect("shutdown with open event streams");
    assert!(nord.next_within(Duration::from_secs(5)).await.is_none());
}
