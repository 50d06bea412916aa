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

/// Hostile or broken PBX input gets a clear 4xx, never a server error or a pop-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_pbx_input_gets_clear_errors() {
    let w = world("sqlite", "").await;
    let cti = w.tokens["cti"].clone();
    let long = "4".repeat(200);
    for (form, want) in [
        (
            format!("event=newCall&from={long}&direction=in&callId=x"),
            400,
        ),
        ("event=hangup&from=49221471123".to_owned(), 400),
        ("event=dtmf&dtmf=1&callId=x".to_owned(), 200),
        ("%%%=&&&".to_owned(), 200),
        (
            "event=newCall&from=%00%01&direction=in&callId=y".to_owned(),
            200,
        ),
    ] {
        let (s, body) = sipgate(&w, &format!("?token={cti}"), &form).await;
        assert_eq!(s.as_u16(), want, "{form}: {body}");
    }
    for body in [
        json!({"from": "+49 221 4711-23", "event": "klingelt"}),
        json!({"from": "+49 221 4711-23", "call_id": "x".repeat(200)}),
        json!({"from": "+49 221 4711-23", "event": "ended"}),
        json!({"to": "23"}),
    ] {
        let (s, answer) = w
            .call("POST", "/api/v1/calls", Some("cti"), Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some(), "{answer}");
    }
    let res = w
        .http
        .get(format!("{}/api/v1/calls/events", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

both_backends!(missed_calls_land_in_the_history_and_become_reminders,);

async fn placetel(w: &common::World, form: &str) -> StatusCode {
    let cti = w.tokens["cti"].clone();
    w.http
        .post(format!("{}/api/v1/cti/placetel", w.base))
        .basic_auth("kontor", Some(cti))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap()
        .status()
}

/// Answered, missed and voicemail calls in the contact history (team, never a person or a
/// duration); a missed call from a known customer becomes one "Rückruf" reminder.
async fn missed_calls_land_in_the_history_and_become_reminders(backend: &str) {
    let w = world(backend, TEAMS).await;
    let id = w.id_of("00042").await;
    let sha = |n: u8| format!("{n:02x}").repeat(32);
    // Placetel (numbers as dialled in Germany, the token as basic-auth password): missed.
    let ring = |n: u8| {
        format!(
            "event=IncomingCall&from=0221471123&to=022140000&call_id={}&direction=in",
            sha(n)
        )
    };
    assert_eq!(placetel(&w, &ring(1)).await, StatusCode::OK);
    let hangup = format!(
        "event=HungUp&from=0221471123&to=022140000&call_id={}&type=missed&duration=0&direction=in",
        sha(1)
    );
    assert_eq!(placetel(&w, &hangup).await, StatusCode::OK);
    assert_eq!(placetel(&w, &hangup).await, StatusCode::OK, "repeated");
    // Answered, then hung up.
    assert_eq!(placetel(&w, &ring(2)).await, StatusCode::OK);
    let accepted = format!(
        "event=CallAccepted&from=0221471123&to=022140000&call_id={}&peer=7777abcdefg@fpbx.de&direction=in",
        sha(2)
    );
    assert_eq!(placetel(&w, &accepted).await, StatusCode::OK);
    let done = format!(
        "event=HungUp&from=0221471123&to=022140000&call_id={}&type=accepted&duration=312&direction=in",
        sha(2)
    );
    assert_eq!(placetel(&w, &done).await, StatusCode::OK);
    // Outgoing calls are not the desk's business.
    let out = "event=OutgoingCall&from=7777abcdefg@fpbx.de&to=0221471123&call_id=ff&direction=out";
    assert_eq!(placetel(&w, out).await, StatusCode::OK);
    // The generic webhook: to the voicemail.
    for body in [
        json!({"from": "+49 221 4711-23", "call_id": "g-1"}),
        json!({"from": "+49 221 4711-23", "call_id": "g-1", "event": "ended", "cause": "voicemail"}),
    ] {
        let (s, a) = w
            .call("POST", "/api/v1/calls", Some("cti"), Some(body))
            .await;
        assert!(s.is_success(), "{a}");
    }
    let (s, page) = w
        .get(
            &format!("/api/v1/customers/{id}/timeline?kind=call&limit=50"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    let titles: Vec<&str> = items.iter().filter_map(|i| i["title"].as_str()).collect();
    for want in [
        "Anruf verpasst",
        "Anruf angenommen",
        "Anruf auf der Mailbox",
    ] {
        assert_eq!(
            titles.iter().filter(|t| **t == want).count(),
            1,
            "{want} once in {titles:?}"
        );
    }
    let text = page.to_string();
    for secret in ["7777abcdefg", "duration", "peer"] {
        assert!(
            !text.contains(secret),
            "no person or duration: {secret} in {text}"
        );
    }
    let (s, list) = w
        .get(
            &format!("/api/v1/reminders?show=all&customer_id={id}"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let callbacks: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "missed_call")
        .collect();
    assert_eq!(
        callbacks.len(),
        2,
        "missed and voicemail, once each: {list}"
    );
    for r in &callbacks {
        assert_eq!(r["title"], "Rückruf: Müller & Söhne GmbH");
        assert!(r["reason"].as_str().unwrap().contains("0221 471123"), "{r}");
    }
}

/// 3CX: the lookup its CRM template reads (the shipped template's paths are checked), and
/// call journaling with outcomes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threecx_looks_callers_up_and_journals_calls() {
    let w = world(
        "sqlite",
        "[server]\npublic_url = \"https://kontor.example.de\"\n",
    )
    .await;
    let id = w.id_of("00042").await;
    let cti = w.tokens["cti"].clone();
    let lookup = |n: &str| {
        w.http
            .get(format!(
                "{}/api/v1/cti/3cx/lookup?number={}",
                w.base,
                n.replace('+', "%2B").replace(' ', "%20")
            ))
            .basic_auth("3cx", Some(&cti))
            .send()
    };
    for number in ["+49221471123", "0221471123", "49221471123"] {
        let res = lookup(number).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let list: Value = res.json().await.unwrap();
        assert_eq!(list[0]["id"], id, "{number}: {list}");
        assert_eq!(list[0]["company"], "Müller & Söhne GmbH");
        assert_eq!(
            list[0]["url"],
            format!("https://kontor.example.de/kunde/{id}")
        );
    }
    let none: Value = lookup("030 999999").await.unwrap().json().await.unwrap();
    assert_eq!(none, json!([]));
    // The template reads exactly these fields.
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/pbx/3cx-kontor.xml"),
    )
    .unwrap();
    for path in ["id", "company", "contact", "phone", "url"] {
        assert!(template.contains(&format!("Path=\"{path}\"")), "{path}");
    }
    assert!(template.contains("/api/v1/cti/3cx/lookup?number=[Number]"));
    assert!(template.contains("/api/v1/cti/3cx/journal"));
    let journal = |form: &'static str| {
        w.http
            .post(format!("{}/api/v1/cti/3cx/journal", w.base))
            .basic_auth("3cx", Some(&cti))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
    };
    let missed = "CallType=Missed&Number=%2B49221471123&CallStartTimeUTC=2026-12-05T08:15:00Z&Agent=101&Duration=00%3A00%3A00";
    for _ in 0..2 {
        let r: Value = journal(missed).await.unwrap().json().await.unwrap();
        assert_eq!(r["recorded"], true);
    }
    let out =
        "CallType=Outbound&Number=%2B49221471123&CallStartTimeUTC=2026-12-05T08:20:00Z&Agent=101";
    let r: Value = journal(out).await.unwrap().json().await.unwrap();
    assert_eq!(r["recorded"], false);
    let (_, page) = w
        .get(
            &format!("/api/v1/customers/{id}/timeline?kind=call&limit=50"),
            "sales",
        )
        .await;
    let missed_calls = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["title"] == "Anruf verpasst")
        .count();
    assert_eq!(missed_calls, 1, "journaled twice, recorded once: {page}");
    let (_, list) = w
        .get(
            &format!("/api/v1/reminders?show=all&customer_id={id}"),
            "sales",
        )
        .await;
    assert_eq!(
        list.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["source"] == "missed_call")
            .count(),
        1,
        "{list}"
    );
    let res = w
        .http
        .get(format!("{}/api/v1/cti/3cx/lookup?number=1", w.base))
        .basic_auth("3cx", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
