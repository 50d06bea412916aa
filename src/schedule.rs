//! Connector schedules: 5-field cron expressions (`*/10 * * * *`), evaluated in the server's
//! local time, and what "stale" means for a source.

use chrono::{DateTime, Local, Utc};
use croner::Cron;
use std::str::FromStr;

/// Parses a 5-field cron expression (minute hour day-of-month month day-of-week); a 6th
/// leading field gives seconds (`*/5 * * * * *`: every 5 seconds).
pub fn parse(expr: &str) -> Result<Cron, String> {
    let fields = expr.split_whitespace().count();
    if !(5..=6).contains(&fields) && !expr.trim_start().starts_with('@') {
        return Err(format!(
            "schedule `{expr}`: use 5 fields (minute hour day month weekday), e.g. \"*/10 * * * *\""
        ));
    }
    Cron::from_str(expr).map_err(|e| format!("schedule `{expr}`: {e}"))
}

/// The next slot strictly after `t`.
pub fn next_after(cron: &Cron, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = t.with_timezone(&Local);
    cron.find_next_occurrence(&local, false)
        .ok()
        .map(|n| n.with_timezone(&Utc))
}

/// A source is stale when its schedule had two slots since its last successful run (one
/// missed or slow slot is tolerated), or when it never succeeded although a slot passed
/// since `since` (when kontor started to know it).
pub fn is_stale(
    cron: &Cron,
    last_success: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    let from = last_success.unwrap_or(since);
    let Some(first) = next_after(cron, from) else {
        return false;
    };
    if last_success.is_none() {
        return first < now;
    }
    match next_after(cron, first) {
        Some(second) => second < now,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn five_fields_only_and_staleness() {
        assert!(parse("*/10 * * * *").is_ok());
        assert!(parse("*/10 * * *").unwrap_err().contains("5 fields"));
        assert!(parse("0 0 */10 * * * *").unwrap_err().contains("5 fields"));
        let every_5s = parse("*/5 * * * * *").unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 2).unwrap();
        assert_eq!(
            next_after(&every_5s, t0),
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 5).unwrap())
        );
        assert!(parse("61 * * * *").is_err());
        let every_10 = parse("*/10 * * * *").unwrap();
        let t = |h, m| Utc.with_ymd_and_hms(2026, 12, 1, h, m, 30).unwrap();
        // Last success 10:00:30; slots 10:10, 10:20: stale after 10:20.
        assert!(!is_stale(&every_10, Some(t(10, 0)), t(9, 0), t(10, 15)));
        assert!(!is_stale(&every_10, Some(t(10, 0)), t(9, 0), t(10, 19)));
        assert!(is_stale(&every_10, Some(t(10, 0)), t(9, 0), t(10, 21)));
        // Never succeeded: stale once a slot passed.
        assert!(!is_stale(&every_10, None, t(10, 1), t(10, 9)));
        assert!(is_stale(&every_10, None, t(10, 1), t(10, 11)));
    }
}
