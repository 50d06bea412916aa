//! Snapshot semantics: which entities of a connector are delivered as full lists (records
//! missing from a newer file are closed), why, and in which order several files of one
//! connector are applied.
//!
//! - `mode = "snapshot"` / `"incremental"` in kontor.toml decides for every entity.
//! - Without `mode`, a file connector (csv, xml) with a mapping file is a snapshot for the
//!   entities its mapping delivers as open items: invoices and credit notes whose
//!   `open_amount` is mapped, orders whose `status` is not mapped (an open-orders export) and
//!   their lines. Everything else is incremental.
//! - Files are applied oldest first: the date in the file name (`OP_2026-12-03.csv`,
//!   `op20261203.csv`, `03.12.2026`), else the modification time. Of a snapshot connector
//!   only the newest file is applied; older ones are passed over (they describe a state the
//!   newest replaces), also when they arrive after a newer one was applied.

use super::{MappingSet, Prepared};
use crate::config::{ConnectorConfig, SyncMode};
use crate::model::Entity;
use crate::store::{DynStore, StoreError, UnitStatus};
use chrono::{NaiveDate, NaiveDateTime};
use kontor_connector::{CommitMode, Item, Unit};
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// The mode in force for one entity of a connector, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityMode {
    pub entity: Entity,
    pub snapshot: bool,
    pub why: String,
}

/// Connector kinds that read files.
const FILE_KINDS: &[&str] = &["csv", "xml"];

/// The mode of every entity the connector's mappings make.
pub fn entity_modes(cfg: &ConnectorConfig, mappings: &MappingSet) -> Vec<EntityMode> {
    let mut entities: Vec<Entity> = mappings.all().flat_map(|m| m.entities()).collect();
    entities.sort();
    entities.dedup();
    let file_kind = FILE_KINDS.contains(&cfg.kind.as_str());
    let own_mapping = cfg.mapping.is_some();
    let order_snapshot = default_reason(Entity::Order, mappings).is_some();
    entities
        .into_iter()
        .map(|entity| {
            let (snapshot, why) = match cfg.mode {
                Some(SyncMode::Snapshot) => (true, "`mode = \"snapshot\"` in kontor.toml".into()),
                Some(SyncMode::Incremental) => (
                    false,
                    "`mode = \"incremental\"` in kontor.toml: records missing from a later file stay open".into(),
                ),
                None => match default_reason(entity, mappings) {
                    Some(why) if file_kind && own_mapping => (true, why),
                    _ if entity == Entity::OrderLine && order_snapshot && file_kind && own_mapping => (
                        true,
                        "lines of open orders, which are a snapshot".into(),
                    ),
                    _ if !file_kind => (
                        false,
                        format!("default for `{}` connectors; `mode = \"snapshot\"` when every run delivers the full list", cfg.kind),
                    ),
                    _ => (
                        false,
                        "default, not open items: records missing from a later file stay open; `mode = \"snapshot\"` changes that".into(),
                    ),
                },
            };
            EntityMode {
                entity,
                snapshot,
                why,
            }
        })
        .collect()
}

/// Why a file export of `entity` is a snapshot by default, if it is.
fn default_reason(entity: Entity, mappings: &MappingSet) -> Option<String> {
    match entity {
        Entity::Invoice | Entity::CreditNote
            if mappings.all().any(|m| m.maps_field(entity, "open_amount")) =>
        {
            Some(
                "open items: the mapping maps `open_amount`, so each file is the full list of what is open"
                    .into(),
            )
        }
        Entity::Order | Entity::Quote
            if mappings.all().any(|m| m.entities().contains(&entity))
                && !mappings.all().any(|m| m.maps_field(entity, "status")) =>
        {
            Some(format!(
                "open {entity}s: the mapping does not map `status`, every {entity} is open, so each file is the full list"
            ))
        }
        _ => None,
    }
}

/// The entities in snapshot mode.
pub fn snapshot_entities(modes: &[EntityMode]) -> Vec<Entity> {
    modes
        .iter()
        .filter(|m| m.snapshot)
        .map(|m| m.entity)
        .collect()
}

static NAME_DATE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(?:^|\D)(?:(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})|(\d{2})\.(\d{2})\.(\d{4}|\d{2})(?:\D|$))",
    )
    .expect("valid regex")
});

/// The date a file name carries: `2026-12-03`, `20261203`, `2026_12_03` or `03.12.2026`.
pub fn name_date(label: &str) -> Option<NaiveDate> {
    let name = label.rsplit(['/', '\\']).next().unwrap_or(label);
    dated_span(name).map(|(date, _)| date)
}

/// A file name with its date replaced by `*` (`OP_*.csv` for `OP_2026-12-03.csv`): the
/// pattern every day's export matches; `None` when the name carries no date.
pub fn undated_pattern(name: &str) -> Option<String> {
    let (_, span) = dated_span(name)?;
    Some(format!("{}*{}", &name[..span.start], &name[span.end..]))
}

/// The date in `name` and where it stands.
fn dated_span(name: &str) -> Option<(NaiveDate, std::ops::Range<usize>)> {
    for c in NAME_DATE.captures_iter(name) {
        let groups = || (1..=6).filter_map(|i| c.get(i));
        let span = groups().map(|m| m.start()).min()?..groups().map(|m| m.end()).max()?;
        let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        let (y, m, d) = match (n(1), n(4)) {
            (Some(y), _) => (y, n(2)?, n(3)?),
            // `04.12.26`: a two-digit year is this century's.
            (None, Some(d)) => (n(6).map(|y| if y < 100 { 2000 + y } else { y })?, n(5)?, d),
            _ => continue,
        };
        if (1990..=2200).contains(&y)
            && let Some(date) = NaiveDate::from_ymd_opt(y as i32, m, d)
        {
            return Some((date, span));
        }
    }
    None
}

/// When a unit's content is from: the date in its name, else its modification time.
pub fn unit_date(u: &Unit) -> Option<NaiveDateTime> {
    name_date(&u.label)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .or_else(|| {
            u.modified
                .map(|t| chrono::DateTime::<chrono::Local>::from(t).naive_local())
        })
}

/// Orders the units of a run: files oldest first (units without a date keep their place
/// before the dated ones, in discovery order); streams stay as they are.
pub fn order_units(units: &mut [Unit]) {
    units.sort_by_key(|u| {
        let atomic = u.commit == CommitMode::Atomic;
        (atomic, if atomic { unit_date(u) } else { None })
    });
}

/// Why a snapshot file is not applied.
pub(super) enum PassedOver {
    /// A newer file of the connector comes in the same sync.
    OlderInRun(String),
    /// Its name's date is older than that of a file applied before.
    OlderThanApplied(String),
}

/// The files of a snapshot connector that are not applied (by index in the ordered units):
/// all but the newest of a sync, and files older than the newest applied before.
pub(super) async fn superseded_units(
    store: &DynStore,
    p: &Prepared,
    units: &[Unit],
) -> Result<std::collections::HashMap<usize, PassedOver>, StoreError> {
    let mut out = std::collections::HashMap::new();
    if !p.is_snapshot() {
        return Ok(out);
    }
    let Some(newest) = units.iter().rposition(|u| u.commit == CommitMode::Atomic) else {
        return Ok(out);
    };
    let applied = store
        .checkpoints(&p.cfg.name)
        .await?
        .into_iter()
        .filter(|c| c.status == UnitStatus::Done)
        .filter_map(|c| Some((name_date(&c.label)?, c.label)))
        .max();
    for (i, u) in units.iter().enumerate() {
        if u.commit != CommitMode::Atomic {
            continue;
        }
        if i != newest {
            out.insert(i, PassedOver::OlderInRun(units[newest].label.clone()));
        } else if let (Some(d), Some((applied, label))) = (name_date(&u.label), &applied)
            && d < *applied
        {
            out.insert(i, PassedOver::OlderThanApplied(label.clone()));
        }
    }
    Ok(out)
}

/// Notes the streams of a batch's records.
pub(super) fn note_streams(items: &[Item], out: &mut BTreeSet<Option<String>>) {
    for i in items {
        if let Item::Record(r) = i
            && !out.contains(&r.stream.as_deref().map(str::to_owned))
        {
            out.insert(r.stream.as_deref().map(str::to_owned));
        }
    }
}

/// The error of a snapshot file that delivered no entity its connector closes.
pub(super) fn empty_scope(unit: &Unit, streams: &BTreeSet<Option<String>>) -> String {
    let seen = if streams.is_empty() {
        "no records".to_owned()
    } else {
        streams
            .iter()
            .map(|s| s.as_deref().unwrap_or("(none)"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{}: snapshot mode, but the file delivered no entity this connector closes (streams: {seen}); \
         nothing of it was loaded — check the mapping's `stream` names against the file",
        unit.label
    )
}

/// The entities a snapshot unit closes: the snapshot entities among those its records'
/// streams map to (or the unit's own stream when it had no records) and those it staged.
pub(super) fn snapshot_scope(
    p: &Prepared,
    unit: &Unit,
    streams: &BTreeSet<Option<String>>,
    staged: &BTreeSet<&'static str>,
) -> Vec<&'static str> {
    let mut seen: Vec<Option<&str>> = streams.iter().map(|s| s.as_deref()).collect();
    if seen.is_empty() {
        seen.push(unit.stream.as_deref());
    }
    let mut out: Vec<&'static str> = seen
        .into_iter()
        .flat_map(|s| {
            p.mappings
                .for_stream(s)
                .map(|m| m.stream_entities(s))
                .unwrap_or_default()
        })
        .map(|e| e.as_str())
        .chain(staged.iter().copied())
        .filter(|e| p.snapshot.iter().any(|s| s.as_str() == *e))
        .collect();
    if streams.is_empty() && staged.is_empty() && out.is_empty() {
        // No record read in this process (an empty file, or a resumed unit whose batches
        // were all staged before): the file is the full list of every snapshot entity.
        out = p.snapshot.iter().map(|e| e.as_str()).collect();
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(label: &str, secs: u64) -> Unit {
        Unit {
            key: label.into(),
            label: label.into(),
            fingerprint: None,
            size: None,
            commit: CommitMode::Atomic,
            stream: None,
            modified: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)),
        }
    }

    #[test]
    fn dates_in_file_names() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(name_date("inbox/OP_2026-12-03.csv"), d(2026, 12, 3));
        assert_eq!(name_date("op20261203.csv"), d(2026, 12, 3));
        assert_eq!(name_date("EXTF_20261203102500.csv"), d(2026, 12, 3));
        assert_eq!(name_date("offene posten 03.12.2026.csv"), d(2026, 12, 3));
        // Found by a new ops person: `Offene Posten 04.12.26.csv` was ordered by mtime.
        assert_eq!(name_date("Offene Posten 04.12.26.csv"), d(2026, 12, 4));
        assert_eq!(name_date("op_04.12.265.csv"), None);
        assert_eq!(
            undated_pattern("OP-Liste_20261202.csv").as_deref(),
            Some("OP-Liste_*.csv")
        );
        assert_eq!(
            undated_pattern("Offene Posten 04.12.26.csv").as_deref(),
            Some("Offene Posten *.csv")
        );
        // The digits that are no date stay: the pattern replaces the date the order uses.
        assert_eq!(
            undated_pattern("op_99999999_2026-12-03.csv").as_deref(),
            Some("op_99999999_*.csv")
        );
        assert_eq!(undated_pattern("kunden.csv"), None);
        assert_eq!(
            name_date("2026_11_30/op.csv"),
            None,
            "the folder does not count"
        );
        assert_eq!(name_date("op_99999999.csv"), None);
        assert_eq!(name_date("offene_posten.csv"), None);
    }

    #[test]
    fn files_oldest_first_name_date_before_mtime() {
        let mut v = vec![
            unit("OP_2026-12-03.csv", 10),
            unit("OP_2026-12-01.csv", 30),
            unit("OP_2026-12-02.csv", 20),
        ];
        order_units(&mut v);
        let labels: Vec<&str> = v.iter().map(|u| u.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "OP_2026-12-01.csv",
                "OP_2026-12-02.csv",
                "OP_2026-12-03.csv"
            ]
        );
        let mut v = vec![unit("b.csv", 30), unit("a.csv", 20)];
        order_units(&mut v);
        assert_eq!(v[0].label, "a.csv", "by modification time");
    }
}
