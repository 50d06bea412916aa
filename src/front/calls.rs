//! Live calls for the desks: every PBX event (a call ringing, answered, ended) is published
//! once and streamed to the people it concerns (`GET /api/v1/calls/events`, Server-Sent
//! Events). A desk that falls behind by more than [`CLIENT_BUFFER`] events is dropped (it
//! reconnects and resumes with `Last-Event-ID`), so a slow browser never holds up the others
//! or the PBX's request.

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Events one desk may fall behind before it is dropped.
pub const CLIENT_BUFFER: usize = 64;
/// Events kept for a desk that reconnects with `Last-Event-ID`.
const REPLAY: usize = 256;
/// Calls remembered for their updates (team and caller of a ringing call).
const CALLS: usize = 1024;
/// A desk that connects (opens the page) sees the calls still ringing from this long ago.
const STILL_RINGING: std::time::Duration = std::time::Duration::from_secs(45);

/// One event for the desks.
#[derive(Debug, Clone, Serialize)]
pub struct CallEvent {
    /// The SSE id: increasing, also across restarts (it starts at the start time in µs).
    pub id: u64,
    /// `call` (a call rings) or `call_update` (answered, ended).
    pub event: &'static str,
    /// The team the call is for; `None`: everyone.
    pub team: Option<String>,
    /// The payload (JSON): `call_id`, `state`, `extension`, and for `call` the screen-pop.
    pub data: Value,
    /// When it was published.
    #[serde(skip)]
    pub at: std::time::Instant,
}

impl CallEvent {
    /// Whether a person of `team` gets this event: calls for a team go to its members and
    /// to people without a team (a small office); calls for no team go to everyone.
    pub fn concerns(&self, team: Option<&str>) -> bool {
        match (self.team.as_deref(), team) {
            (None, _) | (_, None) => true,
            (Some(a), Some(b)) => a == b,
        }
    }
}

/// The state of a call as the PBX reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Ringing,
    Answered,
    Ended,
}

impl CallState {
    /// The generic webhook's `event` (also sipgate's and Placetel's words).
    pub fn parse(s: &str) -> Option<CallState> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "ringing" | "newcall" | "incoming" | "new" => Some(CallState::Ringing),
            "answered" | "answer" | "accepted" => Some(CallState::Answered),
            "ended" | "hangup" | "hungup" | "end" => Some(CallState::Ended),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Ringing => "ringing",
            CallState::Answered => "answered",
            CallState::Ended => "ended",
        }
    }
}

/// What kontor keeps of a call between its events (in memory, bounded).
#[derive(Debug, Clone, Default)]
pub struct CallInfo {
    /// The team whose desks it rang at.
    pub team: Option<String>,
    /// Its entry in the contact history.
    pub activity: Option<i64>,
    /// The customer it was from, and their name.
    pub customer: Option<(i64, Option<String>)>,
    /// The caller's number (E.164, or `anonymous`).
    pub number: String,
    pub answered: bool,
    pub ended: bool,
}

struct Inner {
    next: u64,
    recent: VecDeque<Arc<CallEvent>>,
    /// The calls seen, by call id (bounded: the oldest go first).
    calls: BTreeMap<String, (u64, CallInfo)>,
}

/// The publisher of call events (one per server process).
pub struct CallHub {
    tx: broadcast::Sender<Arc<CallEvent>>,
    inner: Mutex<Inner>,
    /// Set at shutdown: open streams end (a desk reconnects to the next server).
    closed: tokio::sync::watch::Sender<bool>,
}

impl Default for CallHub {
    fn default() -> Self {
        Self::new()
    }
}

impl CallHub {
    pub fn new() -> Self {
        let start = chrono::Utc::now().timestamp_micros().max(0) as u64;
        let (tx, _) = broadcast::channel(CLIENT_BUFFER);
        CallHub {
            tx,
            closed: tokio::sync::watch::Sender::new(false),
            inner: Mutex::new(Inner {
                next: start,
                recent: VecDeque::new(),
                calls: BTreeMap::new(),
            }),
        }
    }

    /// Ends every open stream (the server shuts down).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Resolves when the hub is closed.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closed.subscribe();
        async move {
            let _ = rx.wait_for(|c| *c).await;
        }
    }

    /// What is known of a call (a PBX that repeats its webhook records the call once).
    pub fn info(&self, call_id: &str) -> Option<CallInfo> {
        self.lock().calls.get(call_id).map(|(_, c)| c.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes a ringing call to its team's desks and remembers it for its updates (a
    /// repeated ringing keeps what was remembered first).
    pub fn ringing(&self, call_id: &str, info: CallInfo, data: Value) -> u64 {
        let mut g = self.lock();
        let seq = g.next;
        let team = info.team.clone();
        g.calls.entry(call_id.to_owned()).or_insert((seq, info));
        if g.calls.len() > CALLS
            && let Some(oldest) = g
                .calls
                .iter()
                .min_by_key(|(_, (s, _))| *s)
                .map(|(k, _)| k.clone())
        {
            g.calls.remove(&oldest);
        }
        self.send(&mut g, "call", team, data)
    }

    /// Remembers a call without showing it (a PBX that reports calls only after they ended).
    pub fn remember(&self, call_id: &str, info: CallInfo) {
        let mut g = self.lock();
        let seq = g.next;
        g.calls.entry(call_id.to_owned()).or_insert((seq, info));
    }

    /// Publishes an update of a call to the team its ringing went to (`fallback` when the
    /// ringing was not seen, e.g. before a restart) and returns what is known of the call
    /// before this update (whether it was answered or had ended already).
    pub fn update(
        &self,
        call_id: &str,
        state: CallState,
        fallback: Option<String>,
        data: Value,
    ) -> Option<CallInfo> {
        let mut g = self.lock();
        let before = g.calls.get(call_id).map(|(_, c)| c.clone());
        if let Some((_, c)) = g.calls.get_mut(call_id) {
            c.answered |= state == CallState::Answered;
            c.ended |= state == CallState::Ended;
        }
        let team = before.as_ref().map(|c| c.team.clone()).unwrap_or(fallback);
        self.send(&mut g, "call_update", team, data);
        before
    }

    fn send(&self, g: &mut Inner, event: &'static str, team: Option<String>, data: Value) -> u64 {
        g.next += 1;
        let ev = Arc::new(CallEvent {
            id: g.next,
            event,
            team,
            data,
            at: std::time::Instant::now(),
        });
        g.recent.push_back(ev.clone());
        while g.recent.len() > REPLAY {
            g.recent.pop_front();
        }
        // No desk listening is fine.
        let _ = self.tx.send(ev);
        g.next
    }

    /// A desk's subscription: the kept events after `last_id` (a reconnect) — or, for a
    /// desk that just opened the page, the calls still ringing — and the live receiver,
    /// taken together so that nothing falls between them.
    pub fn subscribe(
        &self,
        last_id: Option<u64>,
    ) -> (Vec<Arc<CallEvent>>, broadcast::Receiver<Arc<CallEvent>>) {
        let g = self.lock();
        let rx = self.tx.subscribe();
        let replay = match last_id {
            Some(last) => g.recent.iter().filter(|e| e.id > last).cloned().collect(),
            None => {
                let call_id = |e: &CallEvent| e.data.get("call_id").cloned();
                let over: std::collections::HashSet<String> = g
                    .recent
                    .iter()
                    .filter(|e| e.event == "call_update")
                    .filter_map(|e| call_id(e)?.as_str().map(str::to_owned))
                    .collect();
                let mut seen = std::collections::HashSet::new();
                g.recent
                    .iter()
                    .filter(|e| e.event == "call" && e.at.elapsed() < STILL_RINGING)
                    .filter(|e| {
                        let id = call_id(e).and_then(|c| c.as_str().map(str::to_owned));
                        id.is_some_and(|c| !over.contains(&c) && seen.insert(c))
                    })
                    .cloned()
                    .collect()
            }
        };
        (replay, rx)
    }
}

/// A caller's number as the PBX sends it, in a notation the directory reads: sipgate and
/// Placetel send E.164 without `+` (`4922147110`), which would read as a national number.
pub fn pbx_number(raw: &str) -> String {
    let t = raw.trim();
    let digits = t.chars().all(|c| c.is_ascii_digit());
    if digits && t.len() >= 8 && !t.starts_with('0') {
        format!("+{t}")
    } else {
        t.to_owned()
    }
}

/// The team a call is for: the called number or extension as configured in
/// `[cti] extensions`. Extensions compare as written; numbers by their E.164 form, so
/// `+49 221 40000`, `4922140000` (as sipgate sends it) and `0221 40000` are one number.
pub fn team_for(
    extensions: &BTreeMap<String, String>,
    called: &[Option<&str>],
    region: &str,
) -> Option<String> {
    let e164 = |s: &str| crate::model::phone::normalise_phone(&pbx_number(s), region).ok();
    for c in called.iter().flatten() {
        let c = c.trim();
        if c.is_empty() {
            continue;
        }
        if let Some(t) = extensions.get(c) {
            return Some(t.clone());
        }
        let Some(n) = e164(c) else { continue };
        if let Some((_, t)) = extensions
            .iter()
            .find(|(k, _)| e164(k).as_ref() == Some(&n))
        {
            return Some(t.clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_reconnect_gets_what_it_missed_and_updates_follow_their_call() {
        let hub = CallHub::new();
        let team = |t: &str| CallInfo {
            team: Some(t.into()),
            ..Default::default()
        };
        let first = hub.ringing("c1", team("vertrieb"), json!({"n": 1}));
        let (_, mut rx) = hub.subscribe(None);
        let before = hub.update(
            "c1",
            CallState::Answered,
            None,
            json!({"state": "answered"}),
        );
        assert!(!before.unwrap().answered);
        assert!(hub.info("c1").unwrap().answered);
        let live = rx.try_recv().unwrap();
        let second = live.id;
        assert_eq!(live.event, "call_update");
        assert_eq!(live.team.as_deref(), Some("vertrieb"));
        let (replay, _) = hub.subscribe(Some(first));
        assert_eq!(replay.iter().map(|e| e.id).collect::<Vec<_>>(), [second]);
        assert!(second > first);
        // Ids grow across restarts: a new hub starts above the old one's ids.
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(CallHub::new().ringing("c2", CallInfo::default(), json!({})) > second);
    }

    #[test]
    fn a_desk_that_opens_the_page_sees_the_calls_still_ringing() {
        let hub = CallHub::new();
        hub.ringing("a", CallInfo::default(), json!({"call_id": "a"}));
        hub.ringing("b", CallInfo::default(), json!({"call_id": "b"}));
        hub.ringing("b", CallInfo::default(), json!({"call_id": "b"}));
        hub.update(
            "a",
            CallState::Answered,
            None,
            json!({"call_id": "a", "state": "answered"}),
        );
        let (replay, _) = hub.subscribe(None);
        let ids: Vec<&Value> = replay.iter().map(|e| &e.data["call_id"]).collect();
        assert_eq!(ids, [&json!("b")], "answered calls and repeats left out");
    }

    #[test]
    fn a_slow_desk_is_dropped_not_waited_for() {
        let hub = CallHub::new();
        let (_, mut rx) = hub.subscribe(None);
        for i in 0..CLIENT_BUFFER + 5 {
            hub.ringing(&format!("c{i}"), CallInfo::default(), json!({}));
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
    }

    #[test]
    fn teams_and_numbers() {
        let ev = |team: Option<&str>| CallEvent {
            id: 1,
            event: "call",
            team: team.map(str::to_owned),
            data: Value::Null,
            at: std::time::Instant::now(),
        };
        assert!(ev(None).concerns(Some("a")));
        assert!(ev(Some("a")).concerns(Some("a")));
        assert!(!ev(Some("a")).concerns(Some("b")));
        assert!(ev(Some("a")).concerns(None));
        assert_eq!(pbx_number("4922147110"), "+4922147110");
        assert_eq!(pbx_number("022147110"), "022147110");
        assert_eq!(pbx_number("anonymous"), "anonymous");
        assert_eq!(pbx_number("+49 221 4711"), "+49 221 4711");
        let ext: BTreeMap<String, String> = [
            ("+49 221 40000".to_owned(), "innendienst".to_owned()),
            ("23".to_owned(), "vertrieb-nord".to_owned()),
        ]
        .into();
        assert_eq!(
            team_for(&ext, &[Some("23")], "DE").as_deref(),
            Some("vertrieb-nord")
        );
        for called in ["4922140000", "022140000", "+4922140000", "0049 221 40000"] {
            assert_eq!(
                team_for(&ext, &[None, Some(called)], "DE").as_deref(),
                Some("innendienst"),
                "{called}"
            );
        }
        assert_eq!(team_for(&ext, &[Some("24"), Some("0221999")], "DE"), None);
    }
}
