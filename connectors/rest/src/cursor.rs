//! The incremental cursor: the last delivered modification time plus the ids delivered at
//! exactly that time (the tiebreak), and the cap that keeps it behind the run start.
//!
//! A record `(stamp, id)` is *covered* by a cursor `(m, ids)` when `stamp < m`, or
//! `stamp == m` and `id ∈ ids`. Keeping the ids of the last timestamp (instead of comparing
//! ids) makes the tiebreak independent of the server's collation.

use crate::stamp::{ServerTz, Stamp};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
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

/// The position of an endpoint with periodic full re-scans (`full_every`): the cursor of its
/// increment plus when the last complete full scan started, e.g.
/// `{"modified": "2026-02-15T08:04:00", "ids": ["7"], "full_scan_at": "2026-12-04T22:00:00Z"}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanPosition {
    pub cursor: Option<Cursor>,
    pub full_scan_at: Option<DateTime<Utc>>,
}

impl ScanPosition {
    pub fn to_json(&self) -> Value {
        let mut v = match &self.cursor {
            Some(c) => c.to_json(),
            None if self.full_scan_at.is_none() => return Value::Null,
            None => json!({}),
        };
        if let Some(t) = self.full_scan_at {
            v["full_scan_at"] = json!(t.to_rfc3339_opts(SecondsFormat::Secs, true));
        }
        v
    }

    /// Reads a stored position; anything not understood is an error (the caller scans in
    /// full, which loses nothing).
    pub fn from_json(v: &Value) -> Result<ScanPosition, String> {
        if v.is_null() {
            return Ok(ScanPosition::default());
        }
        let cursor = match v.get("modified") {
            Some(_) => Some(Cursor::from_json(v).ok_or("`modified`/`ids` not understood")?),
            None => None,
        };
        let full_scan_at = match v.get("full_scan_at") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|e| format!("`full_scan_at` `{s}`: {e}"))?
                    .with_timezone(&Utc),
            ),
            Some(other) => return Err(format!("`full_scan_at` is not a time: {other}")),
        };
        Ok(ScanPosition {
            cursor,
            full_scan_at,
        })
    }

    /// Is a full scan due at `now`? Also when the last one lies in the future (a clock that
    /// went back): the scan is what is safe.
    pub fn full_scan_due(&self, now: DateTime<Utc>, every: std::time::Duration) -> bool {
        match self.full_scan_at {
            None => true,
            Some(t) if t > now => true,
            Some(t) => (now - t).to_std().is_ok_and(|age| age >= every),
        }
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
    fn scan_position_round_trips_and_is_validated() {
        let t = DateTime::parse_from_rfc3339("2026-12-04T22:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let p = ScanPosition {
            cursor: Some(Cursor::starting_at(
                st("2026-02-15T08:04:00"),
                Some("7".into()),
            )),
            full_scan_at: Some(t),
        };
        let v = p.to_json();
        assert_eq!(v["full_scan_at"], "2026-12-04T22:00:00Z");
        assert_eq!(ScanPosition::from_json(&v).unwrap(), p);
        let only = ScanPosition {
            cursor: None,
            full_scan_at: Some(t),
        };
        assert_eq!(ScanPosition::from_json(&only.to_json()).unwrap(), only);
        assert_eq!(ScanPosition::default().to_json(), Value::Null);
        assert!(ScanPosition::from_json(&json!({"full_scan_at": "yesterday"})).is_err());
        assert!(ScanPosition::from_json(&json!({"full_scan_at": 5})).is_err());
        assert!(ScanPosition::from_json(&json!({"modified": 5})).is_err());
        // Plain cursors (no full scan yet) are understood: a scan is due.
        let plain = ScanPosition::from_json(&json!({"modified": "2026-02-15T08:04:00"})).unwrap();
        let day = std::time::Duration::from_secs(86_400);
        assert!(plain.full_scan_due(t, day));
        assert!(!p.full_scan_due(t + chrono::Duration::hours(23), day));
        assert!(p.full_scan_due(t + chrono::Duration::hours(24), day));
        assert!(
            p.full_scan_due(t - chrono::Duration::hours(1), day),
            "future scan time"
        );
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
