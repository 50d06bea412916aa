//! `/metrics` in the Prometheus/OpenMetrics text format: sync runs by status, rows by outcome,
//! rejects, run durations and the last success per connector — read from the store, so they
//! count the runs of every node and of `kontor sync` alike — and the HTTP request latency of
//! this process by route.

use crate::store::{DURATION_BUCKETS, DynStore, StoreError};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::fmt::Write as _;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    connector: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RowLabels {
    connector: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectorLabel {
    connector: String,
}

/// Metrics of this process (HTTP); the rest is read from the store on every scrape.
pub struct Metrics {
    http: Family<HttpLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            // 0.1 ms … ~3 s
            http: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0001, 2.5, 12))
            }),
        }
    }

    /// Records one HTTP request (`route` is the route template, not the path).
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http
            .get_or_create(&HttpLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.to_string(),
            })
            .observe(seconds);
    }

    /// The exposition text.
    pub async fn render(&self, store: &DynStore) -> Result<String, StoreError> {
        let mut registry = Registry::default();
        registry.register(
            "kontor_http_request_duration_seconds",
            "HTTP request latency by route",
            self.http.clone(),
        );
        let stats = store.run_stats().await?;
        let runs = Family::<RunLabels, Counter<u64, AtomicU64>>::default();
        let rows = Family::<RowLabels, Counter<u64, AtomicU64>>::default();
        let rejects = Family::<ConnectorLabel, Counter<u64, AtomicU64>>::default();
        for s in &stats {
            runs.get_or_create(&RunLabels {
                connector: s.connector.clone(),
                status: s.status.clone(),
            })
            .inc_by(s.runs);
            for (outcome, n) in [
                ("read", s.read),
                ("inserted", s.inserted),
                ("updated", s.updated),
                ("unchanged", s.unchanged),
                ("quarantined", s.quarantined),
                ("skipped", s.skipped),
                ("closed", s.closed),
            ] {
                rows.get_or_create(&RowLabels {
                    connector: s.connector.clone(),
                    outcome: outcome.to_owned(),
                })
                .inc_by(n);
            }
            rejects
                .get_or_create(&ConnectorLabel {
                    connector: s.connector.clone(),
                })
                .inc_by(s.quarantined);
        }
        registry.register(
            "kontor_sync_runs",
            "Sync runs by connector and status",
            runs,
        );
        registry.register("kontor_sync_rows", "Rows of sync runs by outcome", rows);
        registry.register(
            "kontor_sync_rejects",
            "Rows quarantined by sync runs",
            rejects,
        );
        let last = Family::<ConnectorLabel, Gauge<i64>>::default();
        for (connector, at) in store.last_successes().await? {
            last.get_or_create(&ConnectorLabel { connector })
                .set(at.timestamp());
        }
        registry.register(
            "kontor_sync_last_success_timestamp_seconds",
            "When the last successful run of a connector finished (Unix time)",
            last,
        );
        let generation = Gauge::<i64>::default();
        generation.set(store.identity_generation().await?);
        registry.register(
            "kontor_identity_generation",
            "Identity resolutions applied so far",
            generation,
        );
        let mut out = String::new();
        encode(&mut out, &registry).map_err(|e| StoreError::Data(e.to_string()))?;
        // Run durations come aggregated from the store: their histogram is written here.
        let body = out.strip_suffix("# EOF\n").unwrap_or(&out).to_owned();
        let mut text = body;
        let _ = writeln!(
            text,
            "# HELP kontor_sync_run_duration_seconds Duration of finished sync runs."
        );
        let _ = writeln!(text, "# TYPE kontor_sync_run_duration_seconds histogram");
        let mut per_connector: std::collections::BTreeMap<&str, (Vec<u64>, f64, u64)> =
            Default::default();
        for s in &stats {
            let e = per_connector.entry(s.connector.as_str()).or_insert((
                vec![0; DURATION_BUCKETS.len()],
                0.0,
                0,
            ));
            for (i, n) in s.le.iter().enumerate() {
                e.0[i] += n;
            }
            e.1 += s.duration_sum_secs;
            e.2 += s.samples;
        }
        for (c, (le, sum, count)) in per_connector {
            let c = c.replace('"', "");
            for (b, n) in DURATION_BUCKETS.iter().zip(&le) {
                let _ = writeln!(
                    text,
                    "kontor_sync_run_duration_seconds_bucket{{connector=\"{c}\",le=\"{b:.1}\"}} {n}"
                );
            }
            let total = count;
            let _ = writeln!(
                text,
                "kontor_sync_run_duration_seconds_bucket{{connector=\"{c}\",le=\"+Inf\"}} {total}"
            );
            let _ = writeln!(
                text,
                "kontor_sync_run_duration_seconds_sum{{connector=\"{c}\"}} {sum:.3}"
            );
            let _ = writeln!(
                text,
                "kontor_sync_run_duration_seconds_count{{connector=\"{c}\"}} {total}"
            );
        }
        text.push_str("# EOF\n");
        Ok(text)
    }
}
