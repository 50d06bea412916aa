//! Progress of long runs: a bar on a terminal, a log line every few seconds otherwise.

use indicatif::{ProgressBar, ProgressStyle};
use kontor::sync::Progress;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct CliProgress {
    bar: Option<ProgressBar>,
    state: Mutex<State>,
}

struct State {
    rows: u64,
    unit_rows: u64,
    started: Instant,
    last_log: Instant,
}

impl CliProgress {
    pub fn new() -> Self {
        let now = Instant::now();
        Self {
            bar: std::io::stderr().is_terminal().then(ProgressBar::hidden),
            state: Mutex::new(State {
                rows: 0,
                unit_rows: 0,
                started: now,
                last_log: now,
            }),
        }
    }
}

impl Progress for CliProgress {
    fn unit_started(&self, connector: &str, label: &str, size: Option<u64>) {
        if let Ok(mut s) = self.state.lock() {
            s.unit_rows = 0;
            s.started = Instant::now();
        }
        if let Some(bar) = &self.bar {
            bar.reset();
            match size {
                Some(n) => {
                    bar.set_length(n);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix} {wide_bar} {bytes}/{total_bytes} {msg} ETA {eta}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                }
                None => bar.set_style(
                    ProgressStyle::with_template("{prefix} {spinner} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                ),
            }
            bar.set_prefix(format!("{connector} {label}"));
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    fn batch_done(&self, connector: &str, rows: u64, bytes: Option<u64>) {
        let Ok(mut s) = self.state.lock() else { return };
        s.rows += rows;
        s.unit_rows += rows;
        let secs = s.started.elapsed().as_secs_f64().max(0.001);
        let rate = s.unit_rows as f64 / secs;
        if let Some(bar) = &self.bar {
            if let Some(b) = bytes {
                bar.set_position(b);
            }
            bar.set_message(format!("{} rows, {:.0} rows/s", s.unit_rows, rate));
            bar.tick();
        } else if s.last_log.elapsed() >= Duration::from_secs(5) {
            s.last_log = Instant::now();
            tracing::info!(
                connector,
                rows = s.unit_rows,
                rows_per_s = rate as u64,
                "sync in progress"
            );
        }
    }

    fn unit_finished(&self, _connector: &str, _label: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
