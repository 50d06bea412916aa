//! Shared state of the API server: the store, the in-memory directory (reloaded when the
//! store's identity generation moves), the token cache and the per-token rate limit.

use super::accounts::{CSRF_HEADER, csrf_ok, session_cookie, session_hash};
use super::auth::{Role, hash_token};
use super::error::ApiError;
use crate::config::Config;
use crate::directory::Directory;
use crate::store::{DynStore, NewAudit, StoreError, TokenInfo};
use crate::view::ViewContext;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How often the server looks for a new identity generation (a sync on another node).
const REFRESH_EVERY: Duration = Duration::from_secs(2);
/// How often the token list is reloaded (revocations take effect within this).
const TOKENS_EVERY: Duration = Duration::from_secs(10);
/// How often the last successful runs are read again (when the directory did not reload).
const SUCCESSES_EVERY: Duration = Duration::from_secs(10);

struct Tokens {
    by_hash: HashMap<String, TokenInfo>,
    loaded: Instant,
}

pub struct AppState {
    pub store: DynStore,
    /// The configuration the server started with (`[server]`, `[store]`: a reload does not
    /// change them); the cluster's part as loaded now is [`AppState::current`].
    pub cfg: Arc<Config>,
    view: RwLock<Arc<ViewContext>>,
    directory: RwLock<Arc<Directory>>,
    tokens: RwLock<Tokens>,
    limiter: DefaultKeyedRateLimiter<i64>,
    /// Starts runs (schedule, API) and tracks them for the shutdown.
    pub runner: Arc<crate::scheduler::Runner>,
    events: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<crate::scheduler::RunEvent>>>,
    pub metrics: Arc<crate::metrics::Metrics>,
    audit_tx: tokio::sync::mpsc::UnboundedSender<NewAudit>,
    audit_rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<NewAudit>>>,
    rebuild: tokio::sync::Mutex<()>,
    /// Live calls for the desks (`GET /api/v1/calls/events`).
    pub calls: crate::front::calls::CallHub,
    /// The store's salt for personal keys (an activity's author).
    key_salt: [u8; 32],
    /// Customer cards built by requests, for the background writer to store.
    cards: tokio::sync::mpsc::Sender<crate::store::NewCard>,
}

/// The authenticated caller of a request: a machine with an API token, or a person signed
/// in with a session cookie — both act with their role and team alike.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who, as the audit log names them: the token's name, or `user:NAME` for a person.
    pub who: String,
    pub role: Role,
    /// The token's or the person's team (for the contacts it logs).
    pub team: Option<String>,
    /// The session, when the caller signed in (not a token).
    pub session: Option<SessionCaller>,
}

/// A signed-in person's session.
#[derive(Debug, Clone)]
pub struct SessionCaller {
    /// The session id (the cookie's value; never stored).
    pub id: String,
    pub user_id: i64,
    pub user: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl Caller {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(format!(
                "role {} may not do this (allowed: {})",
                self.role,
                allowed.join(", ")
            )))
        }
    }
}

fn quota(rate: &str) -> Quota {
    let (n, per) = kontor_connector::parse_rate(rate).unwrap_or((100, Duration::from_secs(1)));
    let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(per / n.get())
        .unwrap_or_else(|| Quota::per_second(n))
        .allow_burst(n)
}

impl AppState {
    pub async fn new(store: DynStore, cfg: Arc<Config>) -> Result<Arc<Self>, StoreError> {
        let view = ViewContext::from_config(&cfg);
        let directory = Directory::load(&store, &view.policy, &cfg.identity.phone_region).await?;
        let tokens = store.active_tokens().await?.into_iter().collect();
        let (runner, events) = crate::scheduler::Runner::new(
            store.clone(),
            Arc::clone(&cfg),
            crate::sync::node_name(),
        );
        let (audit_tx, audit_rx) = tokio::sync::mpsc::unbounded_channel();
        let key_salt = store.key_salt().await?;
        let (cards, cards_rx) = tokio::sync::mpsc::channel(4096);
        tokio::spawn(super::watch::card_writer(store.clone(), cards_rx));
        Ok(Arc::new(Self {
            cards,
            key_salt,
            limiter: RateLimiter::keyed(quota(&cfg.server.rate_limit)),
            store,
            cfg,
            view: RwLock::new(Arc::new(view)),
            metrics: Arc::clone(&runner.metrics),
            directory: RwLock::new(Arc::new(directory)),
            tokens: RwLock::new(Tokens {
                by_hash: tokens,
                loaded: Instant::now(),
            }),
            runner,
            events: Mutex::new(Some(events)),
            audit_tx,
            audit_rx: Mutex::new(Some(audit_rx)),
            rebuild: tokio::sync::Mutex::new(()),
            calls: crate::front::calls::CallHub::new(),
        }))
    }

    /// Hands a built customer card to the background writer (dropped when it is behind: the
    /// card is built again when shown next).
    pub fn keep_card(&self, card: crate::store::NewCard) {
        let _ = self.cards.try_send(card);
    }

    /// The configuration as loaded now (connectors, mappings, identity: reloaded on SIGHUP).
    pub fn current(&self) -> Arc<Config> {
        self.runner.config()
    }

    /// The merged view's settings (schedules, field priorities) as loaded now.
    pub fn view(&self) -> Arc<ViewContext> {
        self.view
            .read()
            .map(|v| Arc::clone(&v))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Loads the configuration again (SIGHUP): connectors, mappings, identity and the other
    /// cluster-wide sections, checked against the cluster's configuration like at the start.
    /// `[server]` and `[store]` need a restart.
    pub async fn reload(&self, cfg: Config) -> Result<crate::cluster::Verdict, StoreError> {
        let mut view = ViewContext::from_config(&cfg);
        view.since = self.view().since;
        if let Ok(mut v) = self.view.write() {
            *v = Arc::new(view);
        }
        let verdict = self.runner.reload(cfg).await?;
        self.refresh_directory(true).await?;
        Ok(verdict)
    }

    /// Who `caller` is as an activity's author: a salted hash of their name, so that they may
    /// correct what they recorded without the store naming them.
    pub fn author_key(&self, caller: &Caller) -> String {
        crate::model::personal_key(&self.key_salt, &caller.who)
    }

    /// Notes that `caller` did `action` (on a customer) in the audit log (written in the
    /// background, in order, batched: see `watch::audit_writer`).
    pub fn audit(&self, caller: &Caller, action: &str, customer_id: Option<i64>) {
        self.audit_detail(caller, action, customer_id, None);
    }

    /// [`AppState::audit`] with a detail (a looked-up number, a count; never free text).
    pub fn audit_detail(
        &self,
        caller: &Caller,
        action: &str,
        customer_id: Option<i64>,
        detail: Option<String>,
    ) {
        let _ = self.audit_tx.send(NewAudit {
            at: chrono::Utc::now(),
            token_name: caller.who.clone(),
            role: caller.role.as_str().to_owned(),
            action: action.to_owned(),
            customer_id,
            detail,
        });
    }

    /// The audit queue (once: the writer takes it).
    pub fn take_audit(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<NewAudit>> {
        self.audit_rx.lock().ok()?.take()
    }

    /// The run events (once: the server's event loop takes them).
    pub fn take_events(
        &self,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<crate::scheduler::RunEvent>> {
        self.events.lock().ok()?.take()
    }

    pub fn directory(&self) -> Arc<Directory> {
        self.directory
            .read()
            .map(|d| Arc::clone(&d))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Brings the directory to the store's identity generation when it moved: reads only the
    /// customers changed since when the store lists them ([`Directory::refreshed`]), else
    /// everything — always with `force` (new settings: field priorities, phone region).
    pub async fn refresh_directory(&self, force: bool) -> Result<bool, StoreError> {
        let _one_at_a_time = self.rebuild.lock().await;
        let old = self.directory();
        if !force && self.store.identity_generation().await? == old.generation {
            return Ok(false);
        }
        let view = self.view();
        let policy = &view.policy;
        let changed = match force {
            true => None,
            false => {
                let region = &self.current().identity.phone_region;
                old.refreshed(&self.store, policy, region).await?
            }
        };
        let full = changed.is_none();
        let d = match changed {
            Some(d) => d,
            None => {
                drop(old);
                Directory::load(&self.store, policy, &self.current().identity.phone_region).await?
            }
        };
        tracing::debug!(
            generation = d.generation,
            customers = d.len(),
            full,
            changed_since_load = d.changed_since_load(),
            "directory reloaded"
        );
        if let Ok(mut slot) = self.directory.write() {
            *slot = Arc::new(d);
        }
        Ok(true)
    }

    async fn reload_tokens(&self) -> Result<(), StoreError> {
        let fresh: HashMap<String, TokenInfo> =
            self.store.active_tokens().await?.into_iter().collect();
        if let Ok(mut t) = self.tokens.write() {
            t.by_hash = fresh;
            t.loaded = Instant::now();
        }
        Ok(())
    }

    /// Keeps the directory and the tokens fresh until the process ends.
    pub fn spawn_refresher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let state = Arc::clone(self);
        tokio::spawn(async move {
            let mut successes_at = Instant::now();
            let mut tick = tokio::time::interval(REFRESH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match state.refresh_directory(false).await {
                    Ok(true) => successes_at = Instant::now(),
                    Ok(false) if successes_at.elapsed() >= SUCCESSES_EVERY => {
                        // Runs that changed nothing do not reload the directory, but they
                        // are successes (the merged view's `stale`).
                        if let Ok(s) = state.store.last_successes().await {
                            state.directory().set_successes(s);
                        }
                        successes_at = Instant::now();
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "directory refresh failed; keeping the last one")
                    }
                }
                let stale = state
                    .tokens
                    .read()
                    .map(|t| t.loaded.elapsed() >= TOKENS_EVERY)
                    .unwrap_or(true);
                if stale && let Err(e) = state.reload_tokens().await {
                    tracing::warn!(error = %e, "token reload failed");
                }
            }
        })
    }

    fn token(&self, hash: &str) -> Option<TokenInfo> {
        self.tokens.read().ok()?.by_hash.get(hash).cloned()
    }

    /// The caller behind an `Authorization` header: 401 without a valid token, 429 over the
    /// token's rate limit.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Caller, ApiError> {
        let token = header.and_then(bearer).ok_or_else(|| {
            ApiError::unauthorized("send `Authorization: Bearer <token>`, or sign in")
        })?;
        let hash = hash_token(token);
        let mut info = self.token(&hash);
        // A token created a moment ago: look again (at most four times a second).
        let reload = self
            .tokens
            .read()
            .map(|t| t.loaded.elapsed() >= Duration::from_millis(250))
            .unwrap_or(true);
        if info.is_none() && reload {
            self.reload_tokens().await?;
            info = self.token(&hash);
        }
        let info = info.ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
        let role = Role::parse(&info.role)
            .ok_or_else(|| ApiError::unauthorized("the token has an unknown role"))?;
        self.rate_check(info.id, "token")?;
        Ok(Caller {
            who: info.name,
            role,
            team: info.team,
            session: None,
        })
    }

    /// 429 over the rate limit (tokens by id, people by the negated user id).
    fn rate_check(&self, key: i64, what: &str) -> Result<(), ApiError> {
        if let Err(not_until) = self.limiter.check_key(&key) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let mut e = ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("more than {} for this {what}", self.cfg.server.rate_limit),
            );
            e.retry_after = Some(wait.as_secs().max(1));
            return Err(e);
        }
        Ok(())
    }

    /// The person behind a session cookie: 401 when the session is unknown, idle for longer
    /// than `[auth] session_idle` or older than `session_max` (it is deleted then).
    pub async fn authenticate_session(&self, id: &str) -> Result<Caller, ApiError> {
        let hash = session_hash(id);
        let ended =
            || ApiError::unauthorized("not signed in, or the session has ended: sign in again");
        let s = self.store.session(&hash).await?.ok_or_else(ended)?;
        let now = chrono::Utc::now();
        let times = self.cfg.auth.times();
        let idle = chrono::TimeDelta::from_std(times.idle).unwrap_or(chrono::TimeDelta::MAX);
        if now >= s.expires_at || now - s.last_seen > idle {
            self.store.end_session(&hash).await?;
            return Err(ended());
        }
        // Noted now and then, not on every request (at most every tenth of the idle time).
        let every = (idle / 10).min(chrono::TimeDelta::seconds(30));
        if now - s.last_seen >= every {
            self.store.touch_session(&hash, now).await?;
        }
        let role = Role::parse(&s.role)
            .ok_or_else(|| ApiError::unauthorized("the session has an unknown role"))?;
        self.rate_check(-s.user_id, "user")?;
        Ok(Caller {
            who: format!("user:{}", s.user_name),
            role,
            team: s.team,
            session: Some(SessionCaller {
                id: id.to_owned(),
                user_id: s.user_id,
                user: s.user_name,
                expires_at: s.expires_at,
            }),
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case, RFC 7235).
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        // A token (machines) wins; else the session cookie (people).
        let cookie = parts
            .headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(session_cookie);
        let (None, Some(id)) = (header, cookie) else {
            return state.authenticate(header).await;
        };
        let caller = state.authenticate_session(id).await?;
        // A browser sends the cookie by itself: a state-changing request must also carry the
        // session's CSRF token, which only the page knows.
        if !parts.method.is_safe() {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !csrf_ok(id, given) {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "csrf",
                    "send the session's CSRF token in X-CSRF-Token (GET /api/v1/session)",
                ));
            }
        }
        Ok(caller)
    }
}
