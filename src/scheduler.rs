//! Runs in `kontor serve`: the scheduler (a cron schedule per connector, with jitter) and the
//! runner that also carries out runs started through the API.
//!
//! Single flight: a run holds its connector's run lock (an advisory lock on PostgreSQL, a file
//! lock beside a SQLite store), so two runs of one connector never overlap — in one process,
//! between processes, between nodes. Every schedule slot runs once: the node that claims the
//! slot in the store runs it; the others skip it. When a node dies during a run, its lock goes
//! with it, and another node takes the unfinished slot over (the run resumes from the last
//! committed batch).

use crate::cluster::{Fingerprint, Verdict};
use crate::config::Config;
use crate::store::{DynStore, RunId, RunLock, RunStatus, StoreError};
use crate::sync::{self, SyncError, SyncOptions};
use chrono::{DateTime, Utc};
use croner::Cron;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tracing::Instrument;

/// A slot claimed this long ago and not finished, with its run lock free, lost its node.
const TAKEOVER_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(5);
/// How often the scheduler looks for such slots.
const TAKEOVER_EVERY: Duration = Duration::from_secs(2);

/// What happened to a run (for the directory refresh, alerts, logs).
#[derive(Debug, Clone)]
pub struct RunEvent {
    pub connector: String,
    pub run_id: RunId,
    pub status: RunStatus,
    pub error: Option<String>,
    pub slot: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no connector `{0}`")]
    NoConnector(String),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Busy(SyncError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The configuration a node runs: loaded at start, again on SIGHUP.
#[derive(Debug)]
pub struct Loaded {
    pub cfg: Arc<Config>,
    pub fingerprint: Fingerprint,
    /// Counts the loads (the scheduler recomputes its slots when it moves).
    pub version: u64,
}

/// Starts and tracks the runs of this process.
pub struct Runner {
    pub store: DynStore,
    pub node: String,
    /// Set on shutdown: runs stop after their current batch.
    pub cancel: Arc<AtomicBool>,
    pub metrics: Arc<crate::metrics::Metrics>,
    loaded: RwLock<Arc<Loaded>>,
    loads: AtomicU64,
    /// Started with `--take-over-config`: every load of the configuration takes the
    /// cluster's over (once; a later take-over by another node is not undone).
    take_over: AtomicBool,
    take_over_pending: AtomicBool,
    /// Why this node changes nothing now (its configuration differs from the cluster's).
    refusal: RwLock<Option<String>>,
    reloaded: Notify,
    events: mpsc::UnboundedSender<RunEvent>,
    tasks: tokio::sync::Mutex<tokio::task::JoinSet<()>>,
}

impl Runner {
    pub fn new(
        store: DynStore,
        cfg: Arc<Config>,
        node: String,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<RunEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let fingerprint = Fingerprint::of(&cfg);
        (
            Arc::new(Self {
                store,
                node,
                cancel: Arc::new(AtomicBool::new(false)),
                metrics: Arc::new(crate::metrics::Metrics::new()),
                loaded: RwLock::new(Arc::new(Loaded {
                    cfg,
                    fingerprint,
                    version: 0,
                })),
                loads: AtomicU64::new(0),
                take_over: AtomicBool::new(false),
                take_over_pending: AtomicBool::new(false),
                refusal: RwLock::new(None),
                reloaded: Notify::new(),
                events: tx,
                tasks: tokio::sync::Mutex::new(tokio::task::JoinSet::new()),
            }),
            rx,
        )
    }

    /// The configuration this node runs now.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .map(|l| Arc::clone(&l))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.loaded().cfg)
    }

    /// `--take-over-config`: this node's configuration becomes the cluster's at the next
    /// check, and again after every reload.
    pub fn set_take_over(&self, on: bool) {
        self.take_over.store(on, Ordering::Relaxed);
        self.take_over_pending.store(on, Ordering::Relaxed);
    }

    /// Replaces the configuration (SIGHUP) and checks it against the cluster's.
    pub async fn reload(&self, cfg: Config) -> Result<Verdict, StoreError> {
        let version = self.loads.fetch_add(1, Ordering::Relaxed) + 1;
        let fingerprint = Fingerprint::of(&cfg);
        if let Ok(mut l) = self.loaded.write() {
            *l = Arc::new(Loaded {
                cfg: Arc::new(cfg),
                fingerprint,
                version,
            });
        }
        if self.take_over.load(Ordering::Relaxed) {
            self.take_over_pending.store(true, Ordering::Relaxed);
        }
        let v = self.check_config().await;
        self.reloaded.notify_waiters();
        v
    }

    /// Why this node changes nothing now, as of the last check.
    pub fn refusal(&self) -> Option<String> {
        self.refusal.read().ok().and_then(|r| r.clone())
    }

    /// Compares this node's configuration with the cluster's (recording it when the store
    /// has none, or taking over when told to) and remembers the outcome; says so in the log
    /// when it changes.
    pub async fn check_config(&self) -> Result<Verdict, StoreError> {
        let loaded = self.loaded();
        let take_over = self.take_over_pending.load(Ordering::Relaxed);
        let v = crate::cluster::reconcile(
            &self.store,
            &loaded.cfg,
            &loaded.fingerprint,
            &self.node,
            take_over,
        )
        .await?;
        if v.allows_changes() {
            self.take_over_pending.store(false, Ordering::Relaxed);
        }
        match &v {
            Verdict::Recorded => {
                tracing::info!(fingerprint = %loaded.fingerprint.digest, "recorded this configuration as the cluster's")
            }
            Verdict::TookOver {
                previous,
                differences,
            } => tracing::warn!(
                fingerprint = %loaded.fingerprint.digest,
                from = %previous.node,
                "took the cluster's configuration over (--take-over-config): {}",
                differences.join("; ")
            ),
            _ => {}
        }
        let refusal = v.refusal();
        let before = self
            .refusal
            .write()
            .map(|mut r| std::mem::replace(&mut *r, refusal.clone()))
            .unwrap_or_default();
        match (&before, &refusal) {
            (None, Some(why)) => tracing::error!("this node changes nothing: {why}"),
            (Some(_), None) => {
                tracing::info!("this node's configuration is the cluster's again; it runs again")
            }
            _ => {}
        }
        Ok(v)
    }

    /// Whether this node may change shared data now (checked against the store).
    pub async fn allowed(&self) -> bool {
        match self.check_config().await {
            Ok(v) => v.allows_changes(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the cluster configuration");
                false
            }
        }
    }

    /// Starts a run of `connector` (taking its run lock); returns the run id at once.
    pub async fn start(
        self: &Arc<Self>,
        connector: &str,
        slot: Option<DateTime<Utc>>,
    ) -> Result<RunId, StartError> {
        if !self.allowed().await {
            return Err(StartError::Config(self.refusal().unwrap_or_else(|| {
                "the cluster configuration could not be read".into()
            })));
        }
        let lock = sync::lock(&self.store, connector)
            .await
            .map_err(|e| match e {
                SyncError::Store(s) => StartError::Store(s),
                busy => StartError::Busy(busy),
            })?;
        self.start_locked(connector, slot, lock).await
    }

    /// Starts a run while holding its lock.
    async fn start_locked(
        self: &Arc<Self>,
        connector: &str,
        slot: Option<DateTime<Utc>>,
        lock: RunLock,
    ) -> Result<RunId, StartError> {
        let loaded = self.loaded();
        let cfg = Arc::clone(&loaded.cfg);
        let c = cfg
            .connector(connector)
            .ok_or_else(|| StartError::NoConnector(connector.to_owned()))?;
        let prepared = sync::prepare(&cfg, c).map_err(|d| {
            StartError::Config(
                d.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        // Runs use what the cluster agreed on: a mapping edited on disk since the load
        // waits for the reload (SIGHUP).
        if let Some(file) = &c.mapping
            && loaded
                .fingerprint
                .parts
                .get(&format!("mapping:{connector}"))
                .is_some_and(|h| *h != prepared.mappings.hash)
        {
            return Err(StartError::Config(format!(
                "{file} changed since this node loaded its configuration; reload it (SIGHUP) to run with it"
            )));
        }
        let run_id = self.store.start_run(connector, &self.node).await?;
        if let Some(at) = slot {
            self.store
                .update_slot(connector, at, "running", Some(run_id), None)
                .await?;
        }
        let opts = SyncOptions {
            node: self.node.clone(),
            cancel: Some(Arc::clone(&self.cancel)),
            ..Default::default()
        };
        let me = Arc::clone(self);
        let name = connector.to_owned();
        let mut tasks = self.tasks.lock().await;
        // Finished runs leave the set here, not only at shutdown.
        while tasks.try_join_next().is_some() {}
        let span = tracing::info_span!("run", connector = %name, run_id);
        tasks.spawn(
            async move {
                let _lock = lock;
                let started = std::time::Instant::now();
                let result = sync::run_started(&me.store, &prepared, &opts, run_id).await;
                let (status, error) = match &result {
                    Ok(r) => (
                        r.status,
                        (!r.errors.is_empty()).then(|| r.errors.join("; ")),
                    ),
                    Err(e) => (RunStatus::Failed, Some(e.to_string())),
                };
                match &result {
                    Ok(r) => {
                        me.metrics
                            .observe_run(&name, status, &r.counts, started.elapsed());
                        tracing::info!(status = status.as_str(), "{}", r.summary_line())
                    }
                    Err(e) => {
                        me.metrics.observe_run(
                            &name,
                            status,
                            &Default::default(),
                            started.elapsed(),
                        );
                        tracing::error!(error = %e, "run failed")
                    }
                }
                if let Some(at) = slot {
                    // A run stopped by a shutdown leaves its slot to be taken over.
                    let slot_status = match status {
                        RunStatus::Ok | RunStatus::Partial => "done",
                        RunStatus::Aborted => "claimed",
                        _ => "failed",
                    };
                    if let Err(e) = me
                        .store
                        .update_slot(&name, at, slot_status, Some(run_id), error.as_deref())
                        .await
                    {
                        tracing::warn!(error = %e, "could not record the slot's outcome");
                    }
                }
                if status != RunStatus::Aborted
                    && me.allowed().await
                    && let Err(e) = crate::identity::resolve_changed(&me.store, &cfg).await
                {
                    tracing::error!(error = %e, "identity resolution after the run failed");
                }
                let _ = me.events.send(RunEvent {
                    connector: name,
                    run_id,
                    status,
                    error,
                    slot,
                });
            }
            .instrument(span),
        );
        Ok(run_id)
    }

    /// Runs a claimed schedule slot (or records why it did not run).
    async fn run_slot(self: &Arc<Self>, connector: &str, slot: DateTime<Utc>) {
        // A node whose configuration differs leaves the slot to one whose matches.
        if !self.allowed().await {
            return;
        }
        match self.store.claim_slot(connector, slot, &self.node).await {
            Ok(true) => {}
            Ok(false) => return, // another node has it
            Err(e) => {
                tracing::warn!(connector, error = %e, "could not claim the slot");
                return;
            }
        }
        if let Err(e) = self.start(connector, Some(slot)).await {
            tracing::warn!(connector, %slot, error = %e, "scheduled run skipped");
            let _ = self
                .store
                .update_slot(connector, slot, "skipped", None, Some(&e.to_string()))
                .await;
        }
    }

    /// Takes over slots whose node stopped: unfinished, claimed a while ago, run lock free.
    async fn take_over_stale(self: &Arc<Self>) {
        let before = Utc::now() - TAKEOVER_AFTER;
        if self.refusal().is_some() {
            return;
        }
        let Ok(slots) = self.store.unfinished_slots(before).await else {
            return;
        };
        let cfg = self.config();
        for s in slots {
            if self.cancel.load(Ordering::Relaxed) || cfg.connector(&s.connector).is_none() {
                continue;
            }
            // The lock first: while the slot's node is alive and running, it holds it.
            let Ok(Some(lock)) = self.store.try_lock_run(&s.connector).await else {
                continue;
            };
            match self
                .store
                .take_over_slot(&s.connector, s.slot_at, &self.node, before)
                .await
            {
                Ok(true) => {
                    tracing::warn!(connector = %s.connector, slot = %s.slot_at, from = %s.node, "taking over a slot whose node stopped");
                    if let Err(e) = self.start_locked(&s.connector, Some(s.slot_at), lock).await {
                        tracing::warn!(connector = %s.connector, error = %e, "taken-over run did not start");
                    }
                }
                _ => drop(lock),
            }
        }
    }

    /// Waits for the runs of this process to end (they stop after their current batch once
    /// `cancel` is set), at most `timeout`.
    pub async fn drain(&self, timeout: Duration) {
        let mut tasks = self.tasks.lock().await;
        let all = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!("runs did not stop in time; they resume on the next start");
        }
    }
}

fn jitter(max: Duration) -> chrono::TimeDelta {
    if max.is_zero() {
        return chrono::TimeDelta::zero();
    }
    let ms = rand::random_range(0..=max.as_millis() as u64);
    chrono::TimeDelta::milliseconds(ms as i64)
}

/// The enabled connectors with a schedule.
pub fn crons_of(cfg: &Config) -> Vec<(String, Cron)> {
    cfg.connectors
        .iter()
        .filter(|c| c.enabled)
        .filter_map(|c| {
            Some((
                c.name.clone(),
                crate::schedule::parse(c.schedule.as_deref()?).ok()?,
            ))
        })
        .collect()
}

/// The schedule loop: until `shutdown` turns true. A reload of the configuration starts the
/// schedules afresh.
pub async fn schedule(runner: Arc<Runner>, mut shutdown: watch::Receiver<bool>) {
    let mut version = u64::MAX;
    let mut crons: Vec<(String, Cron)> = Vec::new();
    let mut max_jitter = Duration::ZERO;
    // connector → (slot, when to fire it)
    let mut next: BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    let mut takeover = tokio::time::interval(TAKEOVER_EVERY);
    takeover.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Slots being claimed and started: a shutdown waits for them, so that no slot stays
    // claimed by a node that went away between the claim and recording what became of it.
    let mut claiming = tokio::task::JoinSet::new();
    loop {
        while claiming.try_join_next().is_some() {}
        let loaded = runner.loaded();
        if loaded.version != version {
            version = loaded.version;
            crons = crons_of(&loaded.cfg);
            max_jitter =
                kontor_connector::parse_duration(&loaded.cfg.sync.jitter).unwrap_or_default();
            next.clear();
            let now = Utc::now();
            for (name, cron) in &crons {
                if let Some(slot) = crate::schedule::next_after(cron, now) {
                    next.insert(name.clone(), (slot, slot + jitter(max_jitter)));
                }
            }
            tracing::info!(connectors = crons.len(), node = %runner.node, "scheduler started");
        }
        let soonest = next.values().map(|(_, fire)| *fire).min();
        let wait = soonest
            .map(|t| (t - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = takeover.tick() => runner.take_over_stale().await,
            _ = runner.reloaded.notified() => continue,
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
        let now = Utc::now();
        for (name, cron) in &crons {
            let Some(&(slot, fire)) = next.get(name) else {
                continue;
            };
            if fire > now {
                continue;
            }
            let r = Arc::clone(&runner);
            let n = name.clone();
            claiming.spawn(async move { r.run_slot(&n, slot).await });
            // The next slot; slots missed while this node was busy or down are not caught up.
            let after =
                if let Some(s) = crate::schedule::next_after(cron, slot).filter(|s| *s > now) {
                    Some(s)
                } else {
                    crate::schedule::next_after(cron, now)
                };
            match after {
                Some(s) => {
                    next.insert(name.clone(), (s, s + jitter(max_jitter)));
                }
                None => {
                    next.remove(name);
                }
            }
        }
    }
    // A slot claimed just before the shutdown: its run starts (then stops after its current
    // batch) or the slot is recorded as skipped.
    while claiming.join_next().await.is_some() {}
    tracing::info!("scheduler stopped");
}
