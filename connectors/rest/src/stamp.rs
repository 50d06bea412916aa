//! Modification timestamps: parsing them from records, comparing them, rendering them into
//! filters, and the server's time zone.
//!
//! A [`Stamp`] is kept in the *source's own clock*: values without a zone (ERPNext `modified`,
//! SAP B1 `UpdateDate`/`UpdateTime`) stay in the server's local time, so that our comparison
//! agrees with the server's `ORDER BY`; values with a zone and epoch numbers are normalised to
//! UTC (`zoned = true`). Only the cap "never beyond the run start" needs the server's time zone
//! (`server_timezone`) to compare a local stamp with the run start.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use serde_json::Value;
use std::fmt;

/// A modification time in the source's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    pub at: NaiveDateTime,
    /// `true` when `at` is UTC (the source gave a zone or an epoch number).
    pub zoned: bool,
}

impl Stamp {
    /// Text form kept in cursors: ISO 8601, `Z` suffix for UTC stamps.
    pub fn to_text(self) -> String {
        let base = self.at.format("%Y-%m-%dT%H:%M:%S%.f").to_string();
        if self.zoned { base + "Z" } else { base }
    }

    pub fn from_text(s: &str) -> Option<Stamp> {
        let (body, zoned) = match s.strip_suffix('Z') {
            Some(b) => (b, true),
            None => (s, false),
        };
        let at = NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
        Some(Stamp { at, zoned })
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// How the modified field is written by the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModFormat {
    /// Epoch numbers, RFC 3339 with zone, ISO or `YYYY-MM-DD HH:MM:SS[.f]` without zone, dates.
    Auto,
    EpochMs,
    EpochS,
    Rfc3339,
    /// A chrono format without zone, e.g. `%Y-%m-%d %H:%M:%S%.f`; also used to render `{since}`.
    Pattern(String),
}

impl ModFormat {
    pub fn parse(s: &str) -> Result<ModFormat, String> {
        Ok(match s {
            "auto" => ModFormat::Auto,
            "epoch_ms" => ModFormat::EpochMs,
            "epoch_s" => ModFormat::EpochS,
            "rfc3339" => ModFormat::Rfc3339,
            p if p.contains('%') => {
                // Validate the pattern by formatting a sample.
                let sample = NaiveDate::from_ymd_opt(2026, 1, 2)
                    .and_then(|d| d.and_hms_opt(3, 4, 5))
                    .ok_or("internal")?;
                let mut out = String::new();
                use std::fmt::Write;
                write!(out, "{}", sample.format(p))
                    .map_err(|_| format!("invalid date pattern `{p}`"))?;
                ModFormat::Pattern(p.to_owned())
            }
            other => {
                return Err(format!(
                    "unknown modified_format `{other}` (auto, epoch_ms, epoch_s, rfc3339 or a %-pattern)"
                ));
            }
        })
    }

    /// Renders a stamp the way the source writes it (for `{since}` in filters).
    pub fn render(&self, s: Stamp) -> String {
        match self {
            ModFormat::EpochMs => s.at.and_utc().timestamp_millis().to_string(),
            ModFormat::EpochS => s.at.and_utc().timestamp().to_string(),
            ModFormat::Rfc3339 => s.at.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string(),
            ModFormat::Pattern(p) => s.at.format(p).to_string(),
            ModFormat::Auto => s.to_text(),
        }
    }
}

fn epoch(n: i128, ms: bool) -> Option<Stamp> {
    let at = if ms {
        DateTime::from_timestamp_millis(i64::try_from(n).ok()?)?
    } else {
        DateTime::from_timestamp(i64::try_from(n).ok()?, 0)?
    };
    Some(Stamp {
        at: at.naive_utc(),
        zoned: true,
    })
}

fn number_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.clone())
        }
        _ => None,
    }
}

const NAIVE_PATTERNS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];

fn parse_text(s: &str) -> Option<Stamp> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(Stamp {
            at: dt.naive_utc(),
            zoned: true,
        });
    }
    for p in NAIVE_PATTERNS {
        if let Ok(at) = NaiveDateTime::parse_from_str(s, p) {
            return Some(Stamp { at, zoned: false });
        }
    }
    let date = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
    if s.len() == 10 {
        return Some(Stamp {
            at: date.and_time(NaiveTime::MIN),
            zoned: false,
        });
    }
    None
}

fn parse_time(v: &Value) -> Option<NaiveTime> {
    let s = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => format!("{n:0>6}"),
        _ => return None,
    };
    for p in ["%H:%M:%S%.f", "%H:%M"] {
        if let Ok(t) = NaiveTime::parse_from_str(&s, p) {
            return Some(t);
        }
    }
    if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveTime::parse_from_str(&s, "%H%M%S").ok();
    }
    if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveTime::parse_from_str(&s, "%H%M").ok();
    }
    None
}

/// Parses a record's modification time; `time` is a separate time-of-day value (SAP B1
/// `UpdateTime`) that replaces the time part of a date.
pub fn parse_stamp(value: &Value, time: Option<&Value>, fmt: &ModFormat) -> Option<Stamp> {
    let mut stamp = match fmt {
        ModFormat::EpochMs => epoch(number_text(value)?.parse().ok()?, true)?,
        ModFormat::EpochS => epoch(number_text(value)?.parse().ok()?, false)?,
        ModFormat::Rfc3339 => {
            let dt = DateTime::parse_from_rfc3339(value.as_str()?.trim()).ok()?;
            Stamp {
                at: dt.naive_utc(),
                zoned: true,
            }
        }
        ModFormat::Pattern(p) => {
            let text = value.as_str()?.trim();
            match NaiveDateTime::parse_from_str(text, p) {
                Ok(at) => Stamp { at, zoned: false },
                // Lenient: the pattern is for rendering; accept the usual zone-less shapes.
                Err(_) => parse_text(text).filter(|s| !s.zoned)?,
            }
        }
        ModFormat::Auto => match value {
            Value::Number(_) => {
                let n: i128 = number_text(value)?.parse().ok()?;
                // Heuristic: epoch milliseconds are > 10^11 (any date after 1973).
                epoch(n, n.abs() >= 100_000_000_000)?
            }
            Value::String(s) => parse_text(s)?,
            _ => return None,
        },
    };
    if let Some(t) = time {
        stamp.at = stamp.at.date().and_time(parse_time(t)?);
    }
    Some(stamp)
}

/// The server's time zone, to relate local stamps to the run start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTz {
    /// A fixed offset east of UTC, in seconds (`UTC` = 0).
    Fixed(i32),
    /// Central European Time with the EU summer-time rule (CET +1, CEST +2 from the last Sunday
    /// of March 01:00 UTC to the last Sunday of October 01:00 UTC): Europe/Berlin, Vienna,
    /// Zurich, …
    CentralEurope,
}

const CET_ZONES: &[&str] = &[
    "Europe/Berlin",
    "Europe/Vienna",
    "Europe/Zurich",
    "Europe/Amsterdam",
    "Europe/Brussels",
    "Europe/Luxembourg",
    "Europe/Paris",
    "Europe/Rome",
    "Europe/Madrid",
    "Europe/Prague",
    "Europe/Warsaw",
    "Europe/Copenhagen",
    "Europe/Stockholm",
    "Europe/Oslo",
    "Europe/Vaduz",
    "CET",
];

impl ServerTz {
    pub fn parse(s: &str) -> Result<ServerTz, String> {
        if s == "UTC" || s == "Z" || s == "Etc/UTC" {
            return Ok(ServerTz::Fixed(0));
        }
        if CET_ZONES.contains(&s) {
            return Ok(ServerTz::CentralEurope);
        }
        let bad = || {
            format!(
                "unknown time zone `{s}` (UTC, ±HH:MM, or a Central European zone such as Europe/Berlin)"
            )
        };
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1, &s[1..]),
            Some(b'-') => (-1, &s[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = rest.split_once(':').ok_or_else(bad)?;
        let h: i32 = h.parse().map_err(|_| bad())?;
        let m: i32 = m.parse().map_err(|_| bad())?;
        if h > 14 || m > 59 {
            return Err(bad());
        }
        Ok(ServerTz::Fixed(sign * (h * 3600 + m * 60)))
    }

    /// Offset east of UTC at a UTC instant.
    pub fn offset_at(self, utc: NaiveDateTime) -> Duration {
        match self {
            ServerTz::Fixed(secs) => Duration::seconds(secs.into()),
            ServerTz::CentralEurope => {
                let y = utc.year();
                let start = last_sunday(y, 3).and_hms_opt(1, 0, 0);
                let end = last_sunday(y, 10).and_hms_opt(1, 0, 0);
                match (start, end) {
                    (Some(s), Some(e)) if utc >= s && utc < e => Duration::hours(2),
                    _ => Duration::hours(1),
                }
            }
        }
    }

    pub fn utc_to_local(self, utc: NaiveDateTime) -> NaiveDateTime {
        utc + self.offset_at(utc)
    }
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .unwrap_or(NaiveDate::MIN);
    let mut d = next.pred_opt().unwrap_or(NaiveDate::MIN);
    while d.weekday() != Weekday::Sun {
        d = d.pred_opt().unwrap_or(NaiveDate::MIN);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn parses_the_usual_shapes() {
        let a = parse_stamp(&json!("2024-01-15 10:23:45.123456"), None, &ModFormat::Auto).unwrap();
        assert_eq!(a.at, dt("2024-01-15 10:23:45.123456"));
        assert!(!a.zoned);
        let b = parse_stamp(&json!("2024-01-15T10:23:45+01:00"), None, &ModFormat::Auto).unwrap();
        assert_eq!(b.at, dt("2024-01-15 09:23:45"));
        assert!(b.zoned);
        let c = parse_stamp(&json!(1705312345678u64), None, &ModFormat::Auto).unwrap();
        assert_eq!(c.at, dt("2024-01-15 09:52:25.678"));
        let d = parse_stamp(
            &json!("2024-01-15"),
            Some(&json!("14:35:20")),
            &ModFormat::Auto,
        )
        .unwrap();
        assert_eq!(d.at, dt("2024-01-15 14:35:20"));
        let e = parse_stamp(
            &json!("2024-01-15T00:00:00Z"),
            Some(&json!("143520")),
            &ModFormat::Auto,
        )
        .unwrap();
        assert_eq!(e.at, dt("2024-01-15 14:35:20"));
        assert!(parse_stamp(&json!("gestern"), None, &ModFormat::Auto).is_none());
        assert!(parse_stamp(&json!(null), None, &ModFormat::Auto).is_none());
    }

    #[test]
    fn text_roundtrip_and_render() {
        let s = parse_stamp(&json!(1705312345678u64), None, &ModFormat::EpochMs).unwrap();
        assert_eq!(Stamp::from_text(&s.to_text()), Some(s));
        assert_eq!(ModFormat::EpochMs.render(s), "1705312345678");
        let p = ModFormat::parse("%Y-%m-%d %H:%M:%S%.6f").unwrap();
        let l = parse_stamp(&json!("2024-01-15 10:23:45.1"), None, &p).unwrap();
        assert_eq!(p.render(l), "2024-01-15 10:23:45.100000");
        assert!(ModFormat::parse("weekly").is_err());
    }

    #[test]
    fn central_europe_summer_time() {
        let tz = ServerTz::parse("Europe/Berlin").unwrap();
        // 2026: CEST from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(
            tz.utc_to_local(dt("2026-03-29 00:59:59")),
            dt("2026-03-29 01:59:59")
        );
        assert_eq!(
            tz.utc_to_local(dt("2026-03-29 01:00:00")),
            dt("2026-03-29 03:00:00")
        );
        assert_eq!(
            tz.utc_to_local(dt("2026-10-25 00:59:59")),
            dt("2026-10-25 02:59:59")
        );
        assert_eq!(
            tz.utc_to_local(dt("2026-10-25 01:00:00")),
            dt("2026-10-25 02:00:00")
        );
        assert_eq!(ServerTz::parse("+05:30").unwrap(), ServerTz::Fixed(19800));
        assert!(ServerTz::parse("Mars/Olympus").is_err());
    }
}
