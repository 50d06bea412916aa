//! The incremental cursor: the last delivered modification time plus the ids delivered at
//! exactly that time (the tiebreak), and the cap that keeps it behind the run start.
//!
//! A record `(stamp, id)` is *covered* by a cursor `(m, ids)` when `stamp < m`, or
//! `stamp == m` and `id ∈ ids`. Keeping the ids of the last timestamp (instead of comparing
//! ids) makes the tiebreak independent of the server's collation.

use crate::stamp::{ServerTz, Stamp};
use chrono::NaiveDateTime;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone)]
pub struct Cursor {
    pub stamp: Stamp,
    /// Ids delivered at exactly `stamp`, in delivery order.
    pub ids: Vec<String>,
    /// The same ids for lookups (groups of equal stamps can be large).
    index: HashSet<String>,
}

impl PartialEq for Cursor {
    fn eq(&self, other: &Self) -> bool {
        self.stamp == other.stamp && self.ids == other.ids
    }
}

impl Eq for Cursor {}

impl Cursor {
    pub fn to_json(&self) -> Value {
        json!({ "modified": self.stamp.to_text(), "ids": self.ids })
    }

    pub fn from_json(v: &Value) -> Option<Cursor> {
        let stamp = Stamp::from_text(v.get("modified")?.as_str()?)?;
        let ids = match v.get("ids") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()?,
            None | Some(Value::Null) => Vec::new(),
            _ => return None,
        };
        Some(Cursor::new(stamp, ids))
    }

    pub fn new(stamp: Stamp, ids: Vec<String>) -> Cursor {
        let index = ids.iter().cloned().collect();
        Cursor { stamp, ids, index }
    }

    /// Was this record delivered already (in an earlier run or earlier in this one)?
    pub fn covers(&self, stamp: Stamp, id: Option<&str>) -> bool {
        stamp.at < self.stamp.at
            || (stamp.at == self.stamp.at && id.is_some_and(|id| self.index.contains(id)))
    }

    /// Moves the cursor over a delivered record (records arrive in ascending stamp order).
    pub fn advance(&mut self, stamp: Stamp, id: Option<String>) {
        if stamp.at > self.stamp.at {
            self.stamp = stamp;
            self.ids.clear();
            self.index.clear();
        }
        if stamp.at == self.stamp.at
            && let Some(id) = id
            && self.index.insert(id.clone())
        {
            self.ids.push(id);
        }
    }

    pub fn starting_at(stamp: Stamp, id: Option<String>) -> Cursor {
        Cursor::new(stamp, id.into_iter().collect())
    }
}

/// The latest stamp a committed cursor may hold: the run start (the server's `Date` header of
/// the first response, or the local clock when the unit was opened) minus the safety margin,
/// in UTC for zoned stamps and in the server's local time for zone-less ones.
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    pub utc: NaiveDateTime,
    pub local: NaiveDateTime,
}

impl Cap {
    pub fn new(run_start: SystemTime, margin: Duration, tz: ServerTz) -> Cap {
        let start: chrono::DateTime<chrono::Utc> = (run_start - margin).into();
        let utc = start.naive_utc();
        Cap {
            utc,
            local: tz.utc_to_local(utc),
        }
    }

    pub fn limit(&self, zoned: bool) -> NaiveDateTime {
        if zoned { self.utc } else { self.local }
    }

    /// The cursor to commit: `c` itself, or the cap when `c` is beyond it (records after the
    /// cap are read again next run; the store's upsert makes that harmless).
    pub fn apply(&self, c: &Cursor) -> Cursor {
        let limit = self.limit(c.stamp.zoned);
        if c.stamp.at <= limit {
            c.clone()
        } else {
            Cursor::new(
                Stamp {
                    at: limit,
                    zoned: c.stamp.zoned,
                },
                Vec::new(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(s: &str) -> Stamp {
        Stamp::from_text(s).unwrap()
    }

    #[test]
    fn covers_by_time_then_by_id_set() {
        let mut c = Cursor::starting_at(st("2024-01-15T10:00:00"), Some("B".into()));
        assert!(c.covers(st("2024-01-15T09:59:59"), Some("Z")));
        assert!(c.covers(st("2024-01-15T10:00:00"), Some("B")));
        // "a" sorts after "B" bytewise but before it case-insensitively: not covered either way.
        assert!(!c.covers(st("2024-01-15T10:00:00"), Some("a")));
        assert!(!c.covers(st("2024-01-15T10:00:01"), Some("B")));
        c.advance(st("2024-01-15T10:00:00"), Some("a".into()));
        assert_eq!(c.ids, ["B", "a"]);
        c.advance(st("2024-01-15T11:00:00"), Some("C".into()));
        assert_eq!(c.ids, ["C"]);
        assert_eq!(Cursor::from_json(&c.to_json()), Some(c));
    }

    #[test]
    fn cap_keeps_cursor_behind_run_start() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_768_478_400); // 2026-01-15T12:00:00Z
        let cap = Cap::new(start, Duration::from_secs(300), ServerTz::CentralEurope);
        assert_eq!(cap.utc.to_string(), "2026-01-15 11:55:00");
        assert_eq!(cap.local.to_string(), "2026-01-15 12:55:00");
        let local = Cursor::starting_at(st("2026-01-15T12:56:00"), Some("X".into()));
        assert_eq!(cap.apply(&local).stamp, st("2026-01-15T12:55:00"));
        assert!(cap.apply(&local).ids.is_empty());
        let early = Cursor::starting_at(st("2026-01-15T12:54:00"), Some("X".into()));
        assert_eq!(cap.apply(&early), early);
        let zoned = Cursor::starting_at(st("2026-01-15T11:56:00Z"), None);
        assert_eq!(cap.apply(&zoned).stamp, st("2026-01-15T11:55:00Z"));
    }
}
