//! The position of a stream: where the next page starts.
//!
//! Incremental streams: `{"increment": <val>, "key": <val>}` — the last row delivered; the next
//! page takes rows with `(increment, key)` after it. Without `key` (a position held back by the
//! safety margin) the next page starts at rows whose increment is at least `increment`.
//! Streams without increment (read whole every run): `{"key": <val>}` while a run is under way,
//! `{"complete": true}` once the stream was read to its end (the next run starts again).
//! Values carry their type (see [`Val`]); anything else is an error, never a silent restart.

use crate::value::Val;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pos {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub increment: Option<Val>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Val>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub complete: bool,
}

impl Pos {
    /// The stored position of a stream; `incremental` says whether the stream has an
    /// increment column.
    pub fn parse(v: &serde_json::Value, incremental: bool) -> Result<Pos, String> {
        let p: Pos = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
        match (incremental, &p) {
            (
                true,
                Pos {
                    increment: None, ..
                },
            ) => Err("an incremental stream's position has no `increment`".into()),
            (true, Pos { complete: true, .. }) => {
                Err("an incremental stream's position cannot be `complete`".into())
            }
            (
                false,
                Pos {
                    increment: Some(_), ..
                },
            ) => {
                Err("the position has an `increment` but the stream has no increment column".into())
            }
            (
                false,
                Pos {
                    complete: true,
                    key: Some(_),
                    ..
                },
            ) => Err("a `complete` position has no `key`".into()),
            (
                false,
                Pos {
                    complete: false,
                    key: None,
                    ..
                },
            ) => Err("the position has neither `key` nor `complete`".into()),
            _ => Ok(p),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Is the row `(increment, key)` exactly at this position (delivered already)?
    pub fn is_at(&self, increment: Option<&Val>, key: &Val) -> bool {
        self.increment.as_ref() == increment && self.key.as_ref() == Some(key)
    }

    /// The position to commit after delivering up to `self`: held back to `cap` (increment
    /// at least `cap`, any key) when `self` is at or beyond it. Text increments have no cap.
    pub fn capped(&self, cap: &Cap) -> Option<Pos> {
        match (cap, &self.increment) {
            (Cap::None, _) | (_, None) => Some(self.clone()),
            (Cap::Start(start), _) => start.clone(),
            (Cap::At(limit), Some(inc)) => match inc.order(limit) {
                Some(Ordering::Less) => Some(self.clone()),
                _ => Some(Pos {
                    increment: Some(limit.clone()),
                    key: None,
                    complete: false,
                }),
            },
        }
    }
}

/// How far the committed position of an incremental stream may go in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cap {
    /// Not capped (text increments, streams read whole).
    None,
    /// Up to this increment value (the largest at the start of the run minus the margin).
    At(Val),
    /// Nowhere beyond where the run started (`None`: the beginning): the stream had no rows
    /// when the run started.
    Start(Option<Pos>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn positions_are_validated_not_guessed() {
        let ok = json!({"increment": {"type": "int", "value": 7}, "key": {"type": "text", "value": "A"}});
        let p = Pos::parse(&ok, true).unwrap();
        assert_eq!(p.increment, Some(Val::Int(7)));
        assert_eq!(Pos::parse(&p.to_json(), true).unwrap(), p);
        for (bad, incremental) in [
            (json!({"increment": {"type": "int", "value": "x"}}), true),
            (json!({"modified": "2026-01-01"}), true),
            (json!({"key": {"type": "int", "value": 1}}), true),
            (json!({"increment": {"type": "int", "value": 1}}), false),
            (json!({}), false),
            (json!("2026-01-01"), true),
            (
                json!({"complete": true, "key": {"type": "int", "value": 1}}),
                false,
            ),
        ] {
            assert!(Pos::parse(&bad, incremental).is_err(), "{bad}");
        }
        let done = Pos::parse(&json!({"complete": true}), false).unwrap();
        assert!(done.complete);
    }

    #[test]
    fn cap_holds_the_position_back() {
        let at = |i: i64, k: i64| Pos {
            increment: Some(Val::Int(i)),
            key: Some(Val::Int(k)),
            complete: false,
        };
        let cap = Cap::At(Val::Int(100));
        assert_eq!(at(99, 5).capped(&cap), Some(at(99, 5)));
        let held = Pos {
            increment: Some(Val::Int(100)),
            key: None,
            complete: false,
        };
        assert_eq!(at(100, 5).capped(&cap), Some(held.clone()));
        assert_eq!(at(250, 1).capped(&cap), Some(held));
        assert_eq!(at(250, 1).capped(&Cap::None), Some(at(250, 1)));
        assert_eq!(
            at(250, 1).capped(&Cap::Start(Some(at(3, 3)))),
            Some(at(3, 3))
        );
        assert_eq!(at(250, 1).capped(&Cap::Start(None)), None);
    }
}
