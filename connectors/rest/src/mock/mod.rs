//! An in-process mock ERP for tests and `kontor demo` (feature `mock`).
//!
//! [`MockErp`] serves a built-in profile's endpoints (ERPNext, SAP B1 Service Layer, weclapp,
//! Business Central, JTL-Wawi, lexoffice, Xentral) from
//! in-memory JSON with the real paging, filter, sort and auth rules of each API, on a
//! loopback wiremock server. [`MockErp::start_api`] serves a generic `/items` API in any of
//! the five paging styles. Tests inject faults ([`Fault`]) and change data between pages
//! ([`MockErp::on_request`]).
//!
//! ```no_run
//! # async fn demo() {
//! let erp = kontor_rest::mock::MockErp::start("erpnext").await;
//! // kontor.toml: base_url = erp.uri(), profile = "erpnext",
//! // auth = { kind = "token", token_file = "secrets/erpnext" } with the file holding
//! // kontor_rest::mock::ERPNEXT_TOKEN.
//! # }
//! ```

mod bc;
mod bc_fixtures;
mod erp;
mod erpnext_payments;
pub mod fixtures;
mod generic;
mod jtl;
mod lexoffice;
mod login;
mod query;
mod scale;
mod xentral;
mod xentral_data;

use serde_json::Value;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

pub use bc::{BC_CLIENT_ID, BC_CLIENT_SECRET, BC_COMPANIES, BC_COMPANY, BC_SCOPE, BC_TENANT};
pub use generic::Style;
pub use lexoffice::{
    CONTACT_KRANICH, CONTACT_KRANZ, CONTACT_MUSTERMANN, CONTACT_SONNENHANG, LEXOFFICE_TOKEN,
    Limits as LexofficeLimits,
};
pub use login::secret_of;
pub use scale::scaled_fixtures;

/// `Authorization: token <this>` for the ERPNext mock.
pub const ERPNEXT_TOKEN: &str = "kontor-demo-key:kontor-demo-secret";
/// `AuthenticationToken` header for the weclapp mock.
pub const WECLAPP_TOKEN: &str = "kontor-demo-weclapp-token";
/// `Authorization: Wawi <this>` for the JTL-Wawi mock.
pub const JTL_API_KEY: &str = "kontor-demo-wawi-api-key";
/// The app the JTL-Wawi mock has registered (the profile's default `X-AppID`).
pub const JTL_APP_ID: &str = "kontor/v1";
pub use jtl::MAX_PAGE_SIZE as JTL_MAX_PAGE_SIZE;
/// SAP B1 mock login.
pub const SAP_COMPANY_DB: &str = "SBODEMODE";
pub const SAP_USER: &str = "manager";
pub const SAP_PASSWORD: &str = "kontor-demo-sap-password";
/// `Authorization: Bearer <this>` (a personal access token) for the Xentral mock.
pub const XENTRAL_TOKEN: &str = "kontor-demo-xentral-pat";
/// `Authorization: Bearer <this>` for the generic API (when auth is on).
pub const API_TOKEN: &str = "kontor-demo-api-token";

/// Which API the mock speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    ErpNext,
    SapB1,
    Weclapp,
    Xentral,
    Lexoffice,
    BusinessCentral,
    JtlWawi,
    Generic(Style),
}

impl Flavor {
    pub fn profile(name: &str) -> Option<Flavor> {
        match name {
            "erpnext" => Some(Flavor::ErpNext),
            "sap-b1" => Some(Flavor::SapB1),
            "weclapp" => Some(Flavor::Weclapp),
            "xentral" => Some(Flavor::Xentral),
            "lexoffice" => Some(Flavor::Lexoffice),
            "business-central" => Some(Flavor::BusinessCentral),
            "jtl-wawi" => Some(Flavor::JtlWawi),
            _ => None,
        }
    }
}

/// A failure served instead of (or around) the next data request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This status; with `Retry-After` when given (seconds or an HTTP date).
    Status {
        code: u16,
        retry_after: Option<String>,
    },
    /// `200` with the JSON body cut in half.
    Truncate,
    /// The normal answer, delayed.
    Delay(Duration),
    /// All SAP B1 sessions end (the next request answers 401 until a new login); the
    /// Xentral personal access token expires (every later request answers 401).
    ExpireSessions,
}

/// The records of a mock and its clock for modification times.
pub struct MockData {
    pub flavor: Flavor,
    pub streams: BTreeMap<String, Vec<Value>>,
    /// lexoffice's documented limits (rate, voucherlist window); off/10,000 by default.
    pub lexoffice: lexoffice::Limits,
    last_stamp_ms: i64,
}

impl MockData {
    pub fn new(flavor: Flavor, streams: BTreeMap<String, Vec<Value>>) -> MockData {
        MockData {
            flavor,
            streams,
            lexoffice: Default::default(),
            last_stamp_ms: 0,
        }
    }

    /// A strictly increasing "now" in milliseconds (SAP B1 keeps whole seconds, so several
    /// changes in one second share a stamp there, as in the real system).
    fn now_ms(&mut self) -> i64 {
        let now = chrono::Utc::now().timestamp_millis();
        let step = if self.flavor == Flavor::SapB1 { 0 } else { 1 };
        self.last_stamp_ms = now.max(self.last_stamp_ms + step);
        self.last_stamp_ms
    }

    fn stamp(&mut self, rec: &mut Value) {
        let ms = self.now_ms();
        erp::set_modified(self.flavor, rec, ms);
    }

    /// Changes a record (sets `field`) and moves its modification time to now.
    pub fn modify(&mut self, stream: &str, id: &str, field: &str, value: Value) -> bool {
        let id_field = erp::id_field(self.flavor, stream);
        let ms = self.now_ms();
        let flavor = self.flavor;
        let Some(list) = self.streams.get_mut(stream) else {
            return false;
        };
        for rec in list.iter_mut() {
            if query::text(rec.get(id_field)).as_deref() == Some(id) {
                rec[field] = value;
                erp::set_modified(flavor, rec, ms);
                return true;
            }
        }
        false
    }

    /// Adds a record stamped now.
    pub fn insert(&mut self, stream: &str, mut rec: Value) {
        self.stamp(&mut rec);
        self.streams.entry(stream.to_owned()).or_default().push(rec);
    }

    pub fn remove(&mut self, stream: &str, id: &str) -> bool {
        let id_field = erp::id_field(self.flavor, stream);
        let Some(list) = self.streams.get_mut(stream) else {
            return false;
        };
        let before = list.len();
        list.retain(|r| query::text(r.get(id_field)).as_deref() != Some(id));
        before != list.len()
    }
}

type Hook = Box<dyn FnMut(&mut MockData, u64) + Send>;

/// One request the mock saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub method: String,
    pub url: String,
    pub status: u16,
}

struct State {
    data: MockData,
    faults: VecDeque<Fault>,
    hook: Option<Hook>,
    sessions: HashSet<String>,
    logins: u64,
    data_requests: u64,
    log: Vec<Seen>,
    auth: bool,
    /// Xentral: the personal access token has expired.
    token_expired: bool,
    /// Xentral: the rate limit window (headers on every answer, 429 when enforced).
    xentral_rate: xentral::RateWindow,
    /// `http://127.0.0.1:<port>` (wiremock's request URLs lack the port).
    base: String,
    bc: bc::BcState,
}

struct Handler(Arc<Mutex<State>>);

impl Respond for Handler {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut resp = handle(&mut st, req);
        if st.data.flavor == Flavor::Xentral {
            resp.0 = xentral::rate_headers(&st, resp.0);
        }
        let status = resp.1;
        st.log.push(Seen {
            at: Instant::now(),
            method: req.method.to_string(),
            url: req.url.to_string(),
            status,
        });
        resp.0
    }
}

fn handle(st: &mut State, req: &Request) -> (ResponseTemplate, u16) {
    let flavor = st.data.flavor;
    if flavor == Flavor::SapB1 && req.url.path().ends_with("/Login") {
        return erp::sap_login(st, req);
    }
    if flavor == Flavor::BusinessCentral
        && let Some(r) = bc::token(st, req)
    {
        return r;
    }
    if req.method.as_str() != "GET" {
        return json(405, serde_json::json!({"error": "method not allowed"}));
    }
    if flavor == Flavor::Xentral
        && let Some(limited) = xentral::throttle(st)
    {
        return limited;
    }
    if let Some(denied) = erp::check_auth(st, req) {
        return denied;
    }
    if flavor == Flavor::Lexoffice
        && let Some(refused) = lexoffice::throttle(&mut st.data, req)
    {
        return refused;
    }
    st.data_requests += 1;
    let n = st.data_requests;
    if let Some(hook) = st.hook.as_mut() {
        hook(&mut st.data, n);
    }
    let fault = st.faults.pop_front();
    if let Some(Fault::ExpireSessions) = fault {
        st.sessions.clear();
        st.token_expired = true;
        if let Some(denied) = erp::check_auth(st, req) {
            return denied;
        }
    }
    let (body, headers, code) = match flavor {
        Flavor::Generic(style) => generic::answer(&st.data, style, req, &st.base),
        Flavor::Xentral => xentral::answer(&st.data, req),
        Flavor::BusinessCentral => bc::answer(st, req),
        _ => erp::answer(&st.data, req),
    };
    match fault {
        Some(Fault::Status { code, retry_after }) => {
            let body = match flavor {
                Flavor::BusinessCentral => bc::fault_body(code),
                _ => serde_json::json!({"error": format!("injected {code}")}),
            };
            let mut t = ResponseTemplate::new(code).set_body_json(body);
            if let Some(ra) = retry_after {
                t = t.insert_header("Retry-After", ra.as_str());
            }
            (t, code)
        }
        Some(Fault::Truncate) => {
            let text = body.to_string();
            let cut = &text.as_bytes()[..text.len() / 2];
            (
                ResponseTemplate::new(200)
                    .insert_header("Content-Type", "application/json")
                    .set_body_bytes(cut.to_vec()),
                200,
            )
        }
        Some(Fault::Delay(d)) => {
            let (t, c) = respond_json(code, body, headers);
            (t.set_delay(d), c)
        }
        _ => respond_json(code, body, headers),
    }
}

fn respond_json(code: u16, body: Value, headers: Vec<(String, String)>) -> (ResponseTemplate, u16) {
    // A JSON body under its own media type (`application/problem+json`).
    let mime = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone());
    let mut t = match mime {
        Some(m) => ResponseTemplate::new(code).set_body_raw(body.to_string().into_bytes(), &m),
        None => ResponseTemplate::new(code).set_body_json(body),
    };
    for (k, v) in headers
        .into_iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
    {
        t = t.insert_header(k.as_str(), v.as_str());
    }
    (t, code)
}

fn json(code: u16, body: Value) -> (ResponseTemplate, u16) {
    (ResponseTemplate::new(code).set_body_json(body), code)
}

/// A running mock on a loopback port; stops when dropped.
pub struct MockErp {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl MockErp {
    /// A profile's mock (`erpnext`, `sap-b1`, `weclapp`) with the bundled fixture data.
    pub async fn start(profile: &str) -> MockErp {
        let flavor = Flavor::profile(profile).unwrap_or_else(|| panic!("no mock for `{profile}`"));
        MockErp::start_with(flavor, fixtures::for_flavor(flavor)).await
    }

    /// The generic `/items` API in one paging style with the given records (`id`,
    /// `modified` as RFC 3339 UTC, anything else).
    pub async fn start_api(style: Style, items: Vec<Value>) -> MockErp {
        let mut streams = BTreeMap::new();
        streams.insert("items".to_owned(), items);
        MockErp::start_with(Flavor::Generic(style), streams).await
    }

    pub async fn start_with(flavor: Flavor, streams: BTreeMap<String, Vec<Value>>) -> MockErp {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            data: MockData::new(flavor, streams),
            faults: VecDeque::new(),
            hook: None,
            sessions: HashSet::new(),
            logins: 0,
            data_requests: 0,
            log: Vec::new(),
            auth: true,
            token_expired: false,
            xentral_rate: Default::default(),
            base: server.uri(),
            bc: bc::BcState::default(),
        }));
        Mock::given(any())
            .respond_with(Handler(state.clone()))
            .mount(&server)
            .await;
        MockErp { server, state }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Queues faults for the next data requests, in order.
    pub fn fail_next(&self, fault: Fault, times: usize) {
        let mut st = self.lock();
        for _ in 0..times {
            st.faults.push_back(fault.clone());
        }
    }

    /// Xentral: answer 429 (`Retry-After`, `X-RateLimit-Reset`) beyond `limit` requests per
    /// fixed `window` (off by default; the headers are always sent with the documented 100).
    pub fn enforce_rate_limit(&self, limit: u32, window: Duration) {
        let mut st = self.lock();
        st.xentral_rate = xentral::RateWindow::enforced(limit, window);
    }

    /// Turns the generic API's bearer-token check off or on (default on).
    pub fn require_auth(&self, on: bool) {
        self.lock().auth = on;
    }

    /// Runs before each data request (argument: its number, from 1), e.g. to change records
    /// between pages.
    pub fn on_request(&self, hook: impl FnMut(&mut MockData, u64) + Send + 'static) {
        self.lock().hook = Some(Box::new(hook));
    }

    /// Changes the data now.
    pub fn with_data<R>(&self, f: impl FnOnce(&mut MockData) -> R) -> R {
        f(&mut self.lock().data)
    }

    pub fn records(&self, stream: &str) -> Vec<Value> {
        self.lock()
            .data
            .streams
            .get(stream)
            .cloned()
            .unwrap_or_default()
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.lock().log.clone()
    }

    pub fn logins(&self) -> u64 {
        self.lock().logins
    }

    pub fn clear_log(&self) {
        self.lock().log.clear();
    }
}
