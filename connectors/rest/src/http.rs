//! The HTTP client: rate limit, timeouts, retries with backoff and jitter, `Retry-After`,
//! a retry budget per run, and the 401 → fresh login → retry-once rule.

use crate::auth::Auth;
use crate::error::RestError;
use crate::paging::{redact_url, set_param};
use crate::secret::Redactor;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};
use url::Url;

/// Retry and timing policy.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub timeout: Duration,
    pub max_retries: u32,
    pub retry_budget: u32,
    pub backoff: Duration,
    pub max_backoff: Duration,
    pub max_retry_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_retries: 5,
            retry_budget: 50,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_wait: Duration::from_secs(300),
        }
    }
}

/// A successful JSON response.
#[derive(Debug)]
pub struct JsonResponse {
    pub body: Value,
    pub headers: HeaderMap,
    /// The server's `Date` header (its notion of now).
    pub date: Option<SystemTime>,
}

/// What one attempt came to.
enum Outcome {
    Done(JsonResponse),
    Retry {
        reason: String,
        wait: Option<Duration>,
    },
    Unauthorized(String),
    /// 404: the resource does not exist (a lookup may treat it as "no value").
    NotFound(String),
    Fatal(String),
}

pub struct HttpClient {
    client: reqwest::Client,
    limiter: Option<DefaultDirectRateLimiter>,
    pub policy: RetryPolicy,
    budget_left: AtomicU32,
    pub redactor: Redactor,
    pub auth: Auth,
    /// Appended to the error of a 401 that a fresh login did not cure.
    pub unauthorized_hint: Option<String>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.policy)
            .field("rate_limited", &self.limiter.is_some())
            .field("auth", &self.auth)
            .finish()
    }
}

/// A JSON body check run inside the retry loop (a page whose records are missing is retried
/// like a truncated one).
pub type BodyCheck<'a> = &'a (dyn Fn(&Value) -> Result<(), String> + Sync);

impl HttpClient {
    pub fn new(
        policy: RetryPolicy,
        rate: Option<(u32, Duration)>,
        auth: Auth,
        redactor: Redactor,
    ) -> Result<HttpClient, String> {
        // reqwest is built without a bundled crypto provider; use ring unless the process
        // already installed one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .user_agent(concat!("kontor-rest/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let limiter = match rate {
            Some((n, per)) => {
                // Evenly spaced, burst 1, with 5 % slack: no window of length `per` ever sees
                // more than n, even at the server, where network jitter shifts arrivals.
                let period = (per / n).mul_f64(1.05);
                let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
                    .ok_or("rate_limit: invalid period")?;
                Some(RateLimiter::direct(quota))
            }
            None => None,
        };
        Ok(HttpClient {
            client,
            limiter,
            budget_left: AtomicU32::new(policy.retry_budget),
            policy,
            redactor,
            auth,
            unauthorized_hint: None,
        })
    }

    /// Starts a new run: the retry budget is full again.
    pub fn reset_budget(&self) {
        self.budget_left
            .store(self.policy.retry_budget, Ordering::SeqCst);
    }

    /// A URL without secrets, for positions, errors and logs.
    pub fn shown(&self, url: &Url) -> String {
        self.redactor
            .redact(&redact_url(url, self.auth.secret_query_params()))
    }

    pub async fn wait_rate(&self) {
        if let Some(l) = &self.limiter {
            l.until_ready().await;
        }
    }

    /// GET a JSON document with authentication, retries and the rate limit.
    pub async fn get_json(
        &self,
        url: &Url,
        headers: &[(String, String)],
        check: BodyCheck<'_>,
    ) -> Result<JsonResponse, RestError> {
        let shown = self.shown(url);
        let mut attempt = 0u32;
        let mut relogged = false;
        loop {
            let creds = self.auth.credentials(self).await?;
            let mut u = url.clone();
            if let Some((param, value)) = &creds.query {
                set_param(&mut u, param, value.expose());
            }
            let mut rb = self.client.get(u);
            for (k, v) in headers {
                rb = rb.header(k.as_str(), v.as_str());
            }
            for (k, v) in creds.headers {
                rb = rb.header(k, v);
            }
            self.wait_rate().await;
            let started = std::time::Instant::now();
            let outcome = self.attempt(rb, check).await;
            tracing::debug!(url = %shown, ms = started.elapsed().as_millis() as u64, "GET");
            match outcome {
                Outcome::Done(r) => return Ok(r),
                Outcome::Unauthorized(msg) => {
                    if !relogged && self.auth.invalidate().await {
                        relogged = true;
                        tracing::info!(url = %shown, "401: logging in again");
                        continue;
                    }
                    let msg = match &self.unauthorized_hint {
                        Some(hint) => format!("{msg}. {hint}"),
                        None => msg,
                    };
                    return Err(RestError::Auth {
                        url: shown,
                        message: self.redactor.redact(&msg),
                    });
                }
                Outcome::Fatal(msg) => {
                    return Err(RestError::Http {
                        url: shown,
                        message: self.redactor.redact(&msg),
                    });
                }
                Outcome::NotFound(msg) => {
                    return Err(RestError::NotFound {
                        url: shown,
                        message: self.redactor.redact(&msg),
                    });
                }
                Outcome::Retry { reason, wait } => {
                    self.before_retry(&shown, &mut attempt, &reason, wait)
                        .await?;
                }
            }
        }
    }

    /// POST for a JSON answer without the connector's auth (logins, token requests). Retries
    /// like a GET; a 401/403 is an authentication failure.
    pub async fn post_json(
        &self,
        url: &Url,
        build: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
    ) -> Result<JsonResponse, RestError> {
        let shown = self.shown(url);
        let mut attempt = 0u32;
        let any = |_: &Value| Ok(());
        loop {
            let rb = build(self.client.post(url.clone()));
            self.wait_rate().await;
            let outcome = self.attempt(rb, &any).await;
            tracing::debug!(url = %shown, "POST");
            match outcome {
                Outcome::Done(r) => return Ok(r),
                Outcome::Unauthorized(msg) | Outcome::NotFound(msg) | Outcome::Fatal(msg) => {
                    return Err(RestError::Auth {
                        url: shown,
                        message: self.redactor.redact(&msg),
                    });
                }
                Outcome::Retry { reason, wait } => {
                    self.before_retry(&shown, &mut attempt, &reason, wait)
                        .await?;
                }
            }
        }
    }

    async fn before_retry(
        &self,
        shown: &str,
        attempt: &mut u32,
        reason: &str,
        wait: Option<Duration>,
    ) -> Result<(), RestError> {
        let reason = self.redactor.redact(reason);
        *attempt += 1;
        if *attempt > self.policy.max_retries {
            return Err(RestError::Http {
                url: shown.to_owned(),
                message: format!("gave up after {} attempts: {reason}", *attempt),
            });
        }
        let took = self
            .budget_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1));
        if took.is_err() {
            return Err(RestError::RetryBudget {
                budget: self.policy.retry_budget,
                last: format!("{shown}: {reason}"),
            });
        }
        let delay = match wait {
            Some(w) if w > self.policy.max_retry_wait => {
                return Err(RestError::Http {
                    url: shown.to_owned(),
                    message: format!(
                        "{reason}: server asks to wait {}s (Retry-After), more than max_retry_wait ({}s)",
                        w.as_secs(),
                        self.policy.max_retry_wait.as_secs()
                    ),
                });
            }
            Some(w) => w,
            None => backoff(&self.policy, *attempt),
        };
        tracing::warn!(
            url = %shown,
            attempt = *attempt,
            delay_ms = delay.as_millis() as u64,
            reason = %reason,
            "retrying"
        );
        tokio::time::sleep(delay).await;
        Ok(())
    }

    async fn attempt(&self, rb: reqwest::RequestBuilder, check: BodyCheck<'_>) -> Outcome {
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => {
                return if e.is_builder() {
                    Outcome::Fatal(describe(e))
                } else {
                    Outcome::Retry {
                        reason: describe(e),
                        wait: None,
                    }
                };
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        if status.is_success() {
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    return Outcome::Retry {
                        reason: format!("reading the body: {}", describe(e)),
                        wait: None,
                    };
                }
            };
            let body: Value = match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(e) => {
                    return Outcome::Retry {
                        reason: format!("invalid JSON ({} bytes): {e}", bytes.len()),
                        wait: None,
                    };
                }
            };
            if let Err(m) = check(&body) {
                return Outcome::Retry {
                    reason: m,
                    wait: None,
                };
            }
            let date = headers
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok());
            return Outcome::Done(JsonResponse {
                body,
                headers,
                date,
            });
        }
        let snippet = body_snippet(resp).await;
        let code = status.as_u16();
        match code {
            401 => Outcome::Unauthorized(format!("HTTP 401: {snippet}")),
            404 => Outcome::NotFound(format!("HTTP 404: {snippet}")),
            429 | 503 => Outcome::Retry {
                reason: format!("HTTP {code}"),
                wait: retry_after(&headers),
            },
            408 | 500..=599 => Outcome::Retry {
                reason: format!("HTTP {code}: {snippet}"),
                wait: None,
            },
            _ => Outcome::Fatal(format!("HTTP {code}: {snippet}")),
        }
    }
}

async fn body_snippet(resp: reqwest::Response) -> String {
    let text = resp.text().await.unwrap_or_default();
    let mut s: String = text.chars().take(300).collect();
    if text.chars().count() > 300 {
        s.push('…');
    }
    s.replace(['\n', '\r'], " ")
}

/// The error text without the URL (it may hold an API key) and with its causes.
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut msg = format!("{kind}: {e}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Exponential backoff with "equal jitter": half fixed, half random.
pub fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exp = policy
        .backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(policy.max_backoff);
    let half = exp / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let at = SystemTime::now() + Duration::from_secs(30);
        h.insert(
            reqwest::header::RETRY_AFTER,
            httpdate::fmt_http_date(at).parse().unwrap(),
        );
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(27) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        for attempt in 1..10 {
            let d = backoff(&p, attempt);
            let exp = Duration::from_millis(100 * (1 << (attempt - 1))).min(p.max_backoff);
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d:?}");
        }
    }
}
