//! Typed values of the increment and key columns: what a position holds, what is bound into
//! the paging query, and how the safety margin is taken off an increment.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::time::Duration;

/// A value of an increment or key column. Serialized with its type, so that a stored position
/// is bound with the type it was read with and a changed column type is noticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    content = "value",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum Val {
    /// A signed integer column (any width).
    Int(i64),
    /// MariaDB/MySQL `BIGINT UNSIGNED`.
    Uint(u64),
    /// `DECIMAL`/`NUMERIC`.
    Decimal(Decimal),
    /// Text (`CHAR`, `VARCHAR`, `TEXT`, enums): ordered by the database's collation.
    Text(String),
    Date(NaiveDate),
    /// A timestamp without time zone (`DATETIME`, PostgreSQL `timestamp`), as the column holds it.
    Datetime(NaiveDateTime),
    /// A point in time (`timestamptz`, MariaDB `TIMESTAMP`), in UTC.
    Timestamp(DateTime<Utc>),
}

impl Val {
    pub fn kind(&self) -> &'static str {
        match self {
            Val::Int(_) => "int",
            Val::Uint(_) => "uint",
            Val::Decimal(_) => "decimal",
            Val::Text(_) => "text",
            Val::Date(_) => "date",
            Val::Datetime(_) => "datetime",
            Val::Timestamp(_) => "timestamp",
        }
    }

    /// The order of two values of the same kind, where kontor can know it: not for text (the
    /// database's collation decides) and not across kinds.
    pub fn order(&self, other: &Val) -> Option<Ordering> {
        Some(match (self, other) {
            (Val::Int(a), Val::Int(b)) => a.cmp(b),
            (Val::Uint(a), Val::Uint(b)) => a.cmp(b),
            (Val::Decimal(a), Val::Decimal(b)) => a.cmp(b),
            (Val::Date(a), Val::Date(b)) => a.cmp(b),
            (Val::Datetime(a), Val::Datetime(b)) => a.cmp(b),
            (Val::Timestamp(a), Val::Timestamp(b)) => a.cmp(b),
            _ => return None,
        })
    }

    /// The value `margin` before this one; `Err` when the margin does not fit the kind,
    /// `Ok(None)` for text (no margin possible).
    pub fn minus(&self, margin: &Margin) -> Result<Option<Val>, String> {
        let wrong = |want: &str| {
            Err(format!(
                "safety_margin {margin} does not fit a {} increment (write {want})",
                self.kind()
            ))
        };
        let delta = |d: &Duration| TimeDelta::from_std(*d).unwrap_or(TimeDelta::MAX);
        Ok(Some(match (self, margin) {
            (Val::Datetime(t), Margin::Time(d)) => {
                Val::Datetime(t.checked_sub_signed(delta(d)).unwrap_or(NaiveDateTime::MIN))
            }
            (Val::Timestamp(t), Margin::Time(d)) => Val::Timestamp(
                t.checked_sub_signed(delta(d))
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
            ),
            (Val::Date(day), Margin::Time(d)) => {
                // Whole days, rounded up: a date increment cannot tell the hours apart.
                let days = d.as_secs().div_ceil(86_400).max(u64::from(!d.is_zero()));
                let back = chrono::Days::new(days);
                Val::Date(day.checked_sub_days(back).unwrap_or(NaiveDate::MIN))
            }
            (Val::Int(i), Margin::Units(n)) => Val::Int(i.saturating_sub_unsigned(*n)),
            (Val::Uint(i), Margin::Units(n)) => Val::Uint(i.saturating_sub(*n)),
            (Val::Decimal(x), Margin::Units(n)) => {
                Val::Decimal(x.checked_sub(Decimal::from(*n)).unwrap_or(Decimal::MIN))
            }
            (Val::Text(_), _) => return Ok(None),
            (Val::Datetime(_) | Val::Timestamp(_) | Val::Date(_), Margin::Units(_)) => {
                return wrong("a duration such as \"5m\"");
            }
            (Val::Int(_) | Val::Uint(_) | Val::Decimal(_), Margin::Time(_)) => {
                return wrong("a number of increment units such as 1000");
            }
        }))
    }

    /// The value as text, for messages.
    pub fn text(&self) -> String {
        match self {
            Val::Int(i) => i.to_string(),
            Val::Uint(i) => i.to_string(),
            Val::Decimal(d) => d.to_string(),
            Val::Text(s) => s.clone(),
            Val::Date(d) => d.to_string(),
            Val::Datetime(t) => t.to_string(),
            Val::Timestamp(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        }
    }
}

/// How far behind the largest increment seen at the start of a run the committed position
/// stays: a duration for time increments, a number of units for numeric ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Margin {
    Time(Duration),
    Units(u64),
}

impl std::fmt::Display for Margin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Margin::Time(d) => write!(f, "{}s", d.as_secs_f64()),
            Margin::Units(n) => write!(f, "{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn values_round_trip_with_their_type() {
        let vals = [
            Val::Int(-42),
            Val::Uint(u64::MAX),
            Val::Decimal("12345678901234567890.1234".parse().unwrap()),
            Val::Text("K-0001".into()),
            Val::Date(NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()),
            Val::Datetime(dt("2026-01-15 10:00:00.123456")),
            Val::Timestamp(dt("2026-01-15 10:00:00.5").and_utc()),
        ];
        for v in vals {
            let json = serde_json::to_value(&v).unwrap();
            assert_eq!(json["type"], v.kind());
            let back: Val = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(back, v, "{json}");
        }
        let bad = serde_json::json!({"type": "datetime", "value": "yesterday"});
        assert!(serde_json::from_value::<Val>(bad).is_err());
        let unknown = serde_json::json!({"type": "float", "value": 1.5});
        assert!(serde_json::from_value::<Val>(unknown).is_err());
    }

    #[test]
    fn margin_is_taken_off_by_kind() {
        let five = Margin::Time(Duration::from_secs(300));
        assert_eq!(
            Val::Datetime(dt("2026-01-15 10:00:00")).minus(&five),
            Ok(Some(Val::Datetime(dt("2026-01-15 09:55:00"))))
        );
        let day = |d| Val::Date(NaiveDate::from_ymd_opt(2026, 1, d).unwrap());
        assert_eq!(day(15).minus(&five), Ok(Some(day(14))));
        assert_eq!(
            day(15).minus(&Margin::Time(Duration::from_secs(86_401))),
            Ok(Some(day(13)))
        );
        assert_eq!(
            Val::Int(10).minus(&Margin::Units(1000)),
            Ok(Some(Val::Int(-990)))
        );
        assert_eq!(
            Val::Uint(10).minus(&Margin::Units(1000)),
            Ok(Some(Val::Uint(0)))
        );
        assert_eq!(Val::Text("x".into()).minus(&five), Ok(None));
        assert!(Val::Int(1).minus(&five).unwrap_err().contains("1000"));
        assert!(
            Val::Date(NaiveDate::MIN)
                .minus(&Margin::Units(3))
                .unwrap_err()
                .contains("5m")
        );
    }

    #[test]
    fn order_is_known_except_for_text() {
        assert_eq!(Val::Int(1).order(&Val::Int(2)), Some(Ordering::Less));
        assert_eq!(Val::Text("a".into()).order(&Val::Text("b".into())), None);
        assert_eq!(Val::Int(1).order(&Val::Uint(2)), None);
    }
}
