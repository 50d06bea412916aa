//! `/metrics` in the Prometheus/OpenMetrics text format.
//!
//! Two kinds, so that several nodes can be summed without counting twice:
//! - **per node** (counters and histograms of what this process did): HTTP latency, the sync
//!   runs it carried out (`kontor_sync_runs_total`, `kontor_sync_rows_total`,
//!   `kontor_sync_rejects_total`, `kontor_sync_run_duration_seconds`), webhook deliveries
//!   and failures, `kontor_build_info`, whether its configuration is the cluster's — sum
//!   them across nodes;
//! - **from the store** (gauges labelled `scope="store"`, the same on every node): runs and
//!   rows of every node and of `kontor sync`, last success, staleness, refused files,
//!   missed slots, the quarantine backlog, undelivered alerts, the identity generation —
//!   take one node's value (`max without (instance)`), never the sum.

use crate::store::{DynStore, RunStatus, StoreError};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::{BTreeMap, BTreeSet};
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreRunLabels {
    connector: String,
    status: String,
    scope: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreRowLabels {
    connector: String,
    outcome: String,
    scope: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreConnector {
    connector: String,
    scope: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Scope {
    scope: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

const STORE: &str = "store";

type U64Counter = Counter<u64, AtomicU64>;

/// Run duration buckets (seconds).
pub const DURATION_BUCKETS: &[f64] = &[1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0];

/// What the store-side gauges need from the node besides the store.
#[derive(Debug, Default)]
pub struct Cluster {
    /// The configured connectors (their gauges are written even at 0).
    pub connectors: Vec<String>,
    pub stale: BTreeSet<String>,
    /// Whether this node's configuration is the cluster's.
    pub config_matches: bool,
}

/// Metrics of this process; the rest is read from the store on every scrape.
pub struct Metrics {
    http: Family<HttpLabels, Histogram>,
    runs: Family<RunLabels, U64Counter>,
    rows: Family<RowLabels, U64Counter>,
    rejects: Family<ConnectorLabel, U64Counter>,
    durations: Family<ConnectorLabel, Histogram>,
    webhook_deliveries: U64Counter,
    webhook_failures: U64Counter,
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
            runs: Family::default(),
            rows: Family::default(),
            rejects: Family::default(),
            durations: Family::new_with_constructor(|| {
                Histogram::new(DURATION_BUCKETS.iter().copied())
            }),
            webhook_deliveries: U64Counter::default(),
            webhook_failures: U64Counter::default(),
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

    /// Records a run this process carried out.
    pub fn observe_run(
        &self,
        connector: &str,
        status: RunStatus,
        c: &crate::store::Counts,
        took: std::time::Duration,
    ) {
        self.runs
            .get_or_create(&RunLabels {
                connector: connector.to_owned(),
                status: status.as_str().to_owned(),
            })
            .inc();
        for (outcome, n) in outcomes(c) {
            self.rows
                .get_or_create(&RowLabels {
                    connector: connector.to_owned(),
                    outcome: outcome.to_owned(),
                })
                .inc_by(n);
        }
        let label = ConnectorLabel {
            connector: connector.to_owned(),
        };
        self.rejects.get_or_create(&label).inc_by(c.quarantined);
        self.durations
            .get_or_create(&label)
            .observe(took.as_secs_f64());
    }

    /// A webhook message delivered (or not).
    pub fn observe_webhook(&self, delivered: bool) {
        if delivered {
            self.webhook_deliveries.inc();
        } else {
            self.webhook_failures.inc();
        }
    }

    /// The exposition text.
    pub async fn render(&self, store: &DynStore, cluster: &Cluster) -> Result<String, StoreError> {
        // Everything from the store first: the registry is not held across an await.
        let stats = store.run_stats().await?;
        let successes = store.last_successes().await?;
        let refused_units = store.refused_units().await?;
        let missed = store.missed_slot_counts().await?;
        let backlog = store.quarantine_backlog().await?;
        let outbox = store.alert_pending().await?;
        let identity = store.identity_generation().await?;
        self.encode(
            cluster,
            &stats,
            successes,
            refused_units,
            missed,
            backlog,
            outbox,
            identity,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn encode(
        &self,
        cluster: &Cluster,
        stats: &[crate::store::RunStats],
        successes: BTreeMap<String, chrono::DateTime<chrono::Utc>>,
        refused_units: Vec<crate::store::RefusedRow>,
        missed: BTreeMap<String, i64>,
        backlog: BTreeMap<String, u64>,
        outbox: u64,
        identity: i64,
    ) -> Result<String, StoreError> {
        let mut registry = Registry::default();
        registry.register(
            "kontor_http_request_duration_seconds",
            "HTTP request latency by route (this node)",
            self.http.clone(),
        );
        registry.register(
            "kontor_sync_runs",
            "Sync runs this node carried out, by connector and status",
            self.runs.clone(),
        );
        registry.register(
            "kontor_sync_rows",
            "Rows of the sync runs of this node, by outcome",
            self.rows.clone(),
        );
        registry.register(
            "kontor_sync_rejects",
            "Rows quarantined by the sync runs of this node",
            self.rejects.clone(),
        );
        registry.register(
            "kontor_sync_run_duration_seconds",
            "Duration of the sync runs of this node",
            self.durations.clone(),
        );
        registry.register(
            "kontor_alert_webhook_deliveries",
            "Alert messages this node delivered to the webhook",
            self.webhook_deliveries.clone(),
        );
        registry.register(
            "kontor_alert_webhook_failures",
            "Failed attempts of this node to deliver an alert message (retried)",
            self.webhook_failures.clone(),
        );
        let build = Family::<BuildLabels, Gauge<i64>>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("kontor_build_info", "The running kontor version", build);
        let matches = Gauge::<i64>::default();
        matches.set(i64::from(cluster.config_matches));
        registry.register(
            "kontor_config_matches_cluster",
            "1 when this node's configuration is the cluster's (else it changes nothing)",
            matches,
        );

        // From the store: the same on every node.
        let runs = Family::<StoreRunLabels, Gauge<i64>>::default();
        let rows = Family::<StoreRowLabels, Gauge<i64>>::default();
        for s in stats {
            runs.get_or_create(&StoreRunLabels {
                connector: s.connector.clone(),
                status: s.status.clone(),
                scope: STORE,
            })
            .set(s.runs as i64);
            let c = crate::store::Counts {
                read: s.read,
                inserted: s.inserted,
                updated: s.updated,
                unchanged: s.unchanged,
                quarantined: s.quarantined,
                skipped: s.skipped,
                closed: s.closed,
                ..Default::default()
            };
            for (outcome, n) in outcomes(&c) {
                rows.get_or_create(&StoreRowLabels {
                    connector: s.connector.clone(),
                    outcome: outcome.to_owned(),
                    scope: STORE,
                })
                .inc_by(n as i64);
            }
        }
        registry.register(
            "kontor_store_sync_runs",
            "Sync runs recorded in the store (every node and `kontor sync`), by status",
            runs,
        );
        registry.register(
            "kontor_store_sync_rows",
            "Rows of the sync runs recorded in the store, by outcome",
            rows,
        );
        let per_connector = |values: BTreeMap<String, i64>| {
            let g = Family::<StoreConnector, Gauge<i64>>::default();
            for c in &cluster.connectors {
                g.get_or_create(&StoreConnector {
                    connector: c.clone(),
                    scope: STORE,
                })
                .set(0);
            }
            for (connector, v) in values {
                g.get_or_create(&StoreConnector {
                    connector,
                    scope: STORE,
                })
                .set(v);
            }
            g
        };
        let last = per_connector(
            successes
                .into_iter()
                .map(|(c, at)| (c, at.timestamp()))
                .collect(),
        );
        registry.register(
            "kontor_sync_last_success_timestamp_seconds",
            "When the last successful run of a connector finished (Unix time; 0: never)",
            last,
        );
        registry.register(
            "kontor_connector_stale",
            "1 when a connector's last success is older than its schedule allows",
            per_connector(cluster.stale.iter().map(|c| (c.clone(), 1)).collect()),
        );
        let mut refused: BTreeMap<String, i64> = BTreeMap::new();
        for u in refused_units {
            *refused.entry(u.connector).or_default() += 1;
        }
        registry.register(
            "kontor_connector_refused_units",
            "Files refused (too many rejects, a header that does not fit the mapping) and not followed by one that loaded; \
             the connector is degraded while it is above 0",
            per_connector(refused),
        );
        registry.register(
            "kontor_schedule_missed_slots",
            "Schedule slots no node ran (all nodes down, or none with the cluster's configuration)",
            per_connector(missed),
        );
        registry.register(
            "kontor_quarantine_open",
            "Rejected rows waiting in quarantine (the backlog)",
            per_connector(backlog.into_iter().map(|(c, n)| (c, n as i64)).collect()),
        );
        let pending = Family::<Scope, Gauge<i64>>::default();
        pending
            .get_or_create(&Scope { scope: STORE })
            .set(outbox as i64);
        registry.register(
            "kontor_alert_outbox_pending",
            "Alert messages not delivered yet",
            pending,
        );
        let generation = Family::<Scope, Gauge<i64>>::default();
        generation
            .get_or_create(&Scope { scope: STORE })
            .set(identity);
        registry.register(
            "kontor_identity_generation",
            "Identity resolutions that changed something, so far",
            generation,
        );
        let mut out = String::new();
        encode(&mut out, &registry).map_err(|e| StoreError::Data(e.to_string()))?;
        Ok(out)
    }
}

fn outcomes(c: &crate::store::Counts) -> [(&'static str, u64); 7] {
    [
        ("read", c.read),
        ("inserted", c.inserted),
        ("updated", c.updated),
        ("unchanged", c.unchanged),
        ("quarantined", c.quarantined),
        ("skipped", c.skipped),
        ("closed", c.closed),
    ]
}
