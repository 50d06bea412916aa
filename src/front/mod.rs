//! Front-office features on top of the merged view: contact history and the timeline, the
//! screen-pop of incoming calls, reminders (manual and suggested), complaints with similar
//! cases, data protection (erasure, export, retention) and works-council rules.

pub mod calls;
pub mod complaint_process;
pub mod complaint_report;
pub mod complaints;
pub mod desk;
pub mod privacy;
mod redact;
pub mod reminders;
pub mod reports;
pub mod screenpop;
pub mod ticket;
pub mod timeline;

use crate::config::{Config, parse_span};
use crate::store::{DynStore, StoreError};
use chrono::Utc;

/// Deletes what is older than its retention (`[privacy] retention`): (table, rows).
pub async fn purge(store: &DynStore, cfg: &Config) -> Result<Vec<(String, u64)>, StoreError> {
    let mut out = Vec::new();
    for (table, span) in &cfg.privacy.retention {
        let Ok(span) = parse_span(span) else { continue };
        let n = store.purge_before(table, Utc::now() - span).await?;
        out.push((table.clone(), n));
    }
    Ok(out)
}
