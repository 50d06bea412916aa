//! `[complaints]`: categories with their deadline, and per category a service process
//! (`[complaints.processes]`): the steps a new complaint of that category gets, each due some
//! days after the one before, with an expected cost.

use super::sections::{Problem, key, parse_span};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The longest a step may wait after the one before (ten years).
pub const MAX_STEP_DAYS: i64 = 3650;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintsSection {
    /// Category → time to resolve (`"3d"`, `"48h"`).
    #[serde(default = "default_categories")]
    pub categories: BTreeMap<String, String>,
    /// Category → its service process, in order:
    /// `reparatur_vor_ort = [{ step = "Termin vereinbaren", days = 1 }, …]`.
    #[serde(default)]
    pub processes: BTreeMap<String, Vec<ProcessStep>>,
}

/// One step of a service process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessStep {
    /// What is to be done ("Techniker vor Ort").
    pub step: String,
    /// Due this many days after the step before (the first: after the complaint was filed).
    pub days: i64,
    /// What the step is expected to cost, a decimal string (`"180"`, `"49.90"`); a whole
    /// number is taken too, a floating-point number is not (it cannot hold cents exactly).
    #[serde(default)]
    pub cost: Option<toml::Value>,
}

impl ProcessStep {
    /// The expected cost as written (`None`: none given).
    pub fn expected_cost(&self) -> Result<Option<Decimal>, String> {
        match &self.cost {
            None => Ok(None),
            Some(toml::Value::String(s)) => parse_cost(s).map(Some),
            Some(toml::Value::Integer(i)) if *i >= 0 => parse_cost(&i.to_string()).map(Some),
            Some(toml::Value::Float(f)) => Err(format!(
                "cost {f}: write the amount as a string, e.g. cost = \"{f}\" (a floating-point number cannot hold cents exactly)"
            )),
            Some(other) => Err(format!(
                "cost {other}: a decimal amount as a string, e.g. cost = \"180\" or \"49.90\""
            )),
        }
    }
}

/// An amount of money as people type it into the API or the config: a decimal with a dot,
/// not negative, at most two decimal places (`"180"`, `"49.90"`); normalised to two places.
pub fn parse_cost(s: &str) -> Result<Decimal, String> {
    let bad = || {
        format!(
            "cost `{s}`: a decimal amount such as 180 or 49.90 (0 or more, at most 2 decimal places)"
        )
    };
    let t = s.trim();
    // Digits and one decimal point: no sign, exponent or thousands separator.
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    let d: Decimal = t.parse().map_err(|_| bad())?;
    if d.is_sign_negative() || d.normalize().scale() > 2 || d > Decimal::from(1_000_000_000i64) {
        return Err(bad());
    }
    let mut d = d.normalize();
    d.rescale(2);
    Ok(d)
}

fn default_categories() -> BTreeMap<String, String> {
    [
        ("lieferung", "3d"),
        ("qualitaet", "5d"),
        ("rechnung", "10d"),
        ("sonstiges", "7d"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect()
}

impl Default for ComplaintsSection {
    fn default() -> Self {
        Self {
            categories: default_categories(),
            processes: BTreeMap::new(),
        }
    }
}

impl ComplaintsSection {
    /// The service process of `category` (empty: none).
    pub fn process(&self, category: &str) -> &[ProcessStep] {
        self.processes.get(category).map_or(&[], Vec::as_slice)
    }

    pub fn problems(&self) -> Vec<Problem> {
        let mut out: Vec<Problem> = self
            .categories
            .iter()
            .filter_map(|(k, v)| {
                parse_span(v)
                    .err()
                    .map(|e| (key(&["complaints", "categories", k]), e))
            })
            .collect();
        for (category, steps) in &self.processes {
            out.extend(unknown_category(self, category));
            for (i, s) in steps.iter().enumerate() {
                let at = |field: &str| {
                    let i = i.to_string();
                    key(&["complaints", "processes", category, &i, field])
                };
                let named = |msg: String| format!("process `{category}`, step {}: {msg}", i + 1);
                for (field, problem) in [
                    ("step", empty_step(s)),
                    ("days", days_out_of_range(s)),
                    ("cost", bad_cost(s)),
                ] {
                    if let Some(p) = problem {
                        out.push((at(field), named(p)));
                    }
                }
            }
        }
        out
    }
}

/// A process for a category that `[complaints] categories` does not have.
fn unknown_category(c: &ComplaintsSection, category: &str) -> Option<Problem> {
    (!c.categories.contains_key(category)).then(|| {
        let known: Vec<&str> = c.categories.keys().map(String::as_str).collect();
        (
            key(&["complaints", "processes", category]),
            format!(
                "process for unknown category `{category}`: [complaints] categories has {}",
                known.join(", ")
            ),
        )
    })
}

fn empty_step(s: &ProcessStep) -> Option<String> {
    s.step
        .trim()
        .is_empty()
        .then(|| "step is empty: say what is to be done".to_owned())
}

fn days_out_of_range(s: &ProcessStep) -> Option<String> {
    (!(0..=MAX_STEP_DAYS).contains(&s.days)).then(|| {
        format!(
            "days = {}: the days after the step before, 0 to {MAX_STEP_DAYS}",
            s.days
        )
    })
}

fn bad_cost(s: &ProcessStep) -> Option<String> {
    s.expected_cost().err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_are_decimals_with_at_most_cents() {
        assert_eq!(parse_cost("180").unwrap().to_string(), "180.00");
        assert_eq!(parse_cost(" 49.9 ").unwrap().to_string(), "49.90");
        assert_eq!(parse_cost("12.500").unwrap().to_string(), "12.50");
        for bad in ["-1", "1.234", "abc", "", "1,50", "1e3"] {
            assert!(parse_cost(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_check_names_its_step() {
        let c: ComplaintsSection = toml::from_str(
            "processes = { reparatur = [{ step = \" \", days = -1, cost = 1.5 }], lieferung = [{ step = \"a\", days = 1, cost = 20 }] }",
        )
        .unwrap();
        let p = c.problems();
        let keys: Vec<String> = p.iter().map(|(k, _)| k.join(".")).collect();
        assert_eq!(
            keys,
            [
                "complaints.processes.reparatur",
                "complaints.processes.reparatur.0.step",
                "complaints.processes.reparatur.0.days",
                "complaints.processes.reparatur.0.cost"
            ],
            "{p:?}"
        );
        assert!(p[3].1.contains("as a string"), "{p:?}");
        assert_eq!(
            c.process("lieferung")[0]
                .expected_cost()
                .unwrap()
                .map(|d| d.to_string()),
            Some("20.00".into())
        );
        assert!(c.process("sonstiges").is_empty());
    }
}
