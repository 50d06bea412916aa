//! A complaint's service process (`[complaints.processes]`): its steps are copied from the
//! category's template when it is filed — each due `days` after the step before, the first
//! `days` after the day it was filed — so a later change of the template leaves existing
//! complaints alone. Steps are marked done (or open again); an open step past its due date is
//! overdue while the complaint is open, and suggests one reminder for the owning team. A
//! complaint can be forwarded to another team with a note; its recorded cost is kept on it.

use super::complaints::ComplaintError;
use super::ticket::{Ticket, is_open as ticket_open};
use crate::config::{ComplaintsSection, parse_cost};
use crate::store::{DynStore, NewForward, NewReminder, NewStep};
use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The steps a complaint of `category` filed on `filed` gets, with their due dates.
pub fn steps_for(
    cfg: &ComplaintsSection,
    category: &str,
    filed: NaiveDate,
) -> Result<Vec<NewStep>, ComplaintError> {
    let mut due = filed;
    let mut out = Vec::new();
    for s in cfg.process(category) {
        due = due
            .checked_add_days(Days::new(s.days.max(0).unsigned_abs()))
            .ok_or_else(|| {
                ComplaintError::Invalid(format!("step `{}`: its due date is out of range", s.step))
            })?;
        out.push(NewStep {
            step: s.step.trim().to_owned(),
            due,
            expected_cost: s.expected_cost().map_err(ComplaintError::Invalid)?,
        });
    }
    Ok(out)
}

/// A cost as given to the API: a decimal string; empty or absent is none.
pub fn parse_cost_field(s: Option<&str>) -> Result<Option<Decimal>, ComplaintError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_cost(s).map(Some).map_err(ComplaintError::Invalid),
    }
}

async fn load(store: &DynStore, id: i64) -> Result<Ticket, ComplaintError> {
    super::ticket::get(store, id)
        .await?
        .ok_or_else(|| ComplaintError::NotFound(format!("no complaint {id}")))
}

/// Marks step `n` of complaint `id` done, or open again (`done` false).
pub async fn set_step(
    store: &DynStore,
    id: i64,
    n: i64,
    done: bool,
) -> Result<Ticket, ComplaintError> {
    let t = load(store, id).await?;
    if t.status == "closed" {
        return Err(ComplaintError::Conflict(format!(
            "complaint {id} is closed: its steps stay as they are"
        )));
    }
    if !store.set_ticket_step(id, n, done).await? {
        return Err(ComplaintError::NotFound(if t.steps.is_empty() {
            format!("complaint {id} has no process steps")
        } else {
            format!(
                "complaint {id} has no step {n} (steps 1 to {})",
                t.steps.len()
            )
        }));
    }
    load(store, id).await
}

/// Forwards complaint `id` to `team` (one of `teams`, `[privacy] teams`) with a note.
pub async fn forward(
    store: &DynStore,
    teams: &BTreeMap<String, u32>,
    id: i64,
    team: &str,
    note: &str,
    at: DateTime<Utc>,
) -> Result<Ticket, ComplaintError> {
    let team = team.trim();
    if !teams.contains_key(team) {
        let known: Vec<&str> = teams.keys().map(String::as_str).collect();
        return Err(ComplaintError::Invalid(if known.is_empty() {
            "no teams are configured to forward to ([privacy] teams)".to_owned()
        } else {
            format!("team `{team}`: one of {}", known.join(", "))
        }));
    }
    let note = note.trim();
    if note.is_empty() {
        return Err(ComplaintError::Invalid(
            "note must not be empty: say what the other team is to do".into(),
        ));
    }
    let t = load(store, id).await?;
    if !ticket_open(&t.status) {
        return Err(ComplaintError::Conflict(format!(
            "complaint {id} is {}: reopen it before forwarding",
            t.status
        )));
    }
    if t.holder() == Some(team) {
        return Err(ComplaintError::Conflict(format!(
            "complaint {id} is with team {team} already"
        )));
    }
    store
        .forward_ticket(
            id,
            &NewForward {
                at,
                from_team: t.holder().map(str::to_owned),
                to_team: team.to_owned(),
                note: note.to_owned(),
            },
        )
        .await?;
    load(store, id).await
}

/// Records what complaint `id` cost (`None` or empty: not known).
pub async fn set_cost(
    store: &DynStore,
    id: i64,
    cost: Option<&str>,
) -> Result<Ticket, ComplaintError> {
    let cost = parse_cost_field(cost)?;
    load(store, id).await?;
    store.set_ticket_cost(id, cost).await?;
    load(store, id).await
}

/// One reminder per overdue step of the open complaints `tickets`, for the complaint's own
/// team (`fallback` when it has none); keyed `complaint_step:<id>:<n>`, so never twice.
pub fn overdue_step_reminders(
    tickets: &[Ticket],
    today: NaiveDate,
    fallback: &Option<String>,
) -> Vec<NewReminder> {
    let mut out = Vec::new();
    for t in tickets.iter().filter(|t| ticket_open(&t.status)) {
        for s in t
            .steps
            .iter()
            .filter(|s| s.done_at.is_none() && s.due < today)
        {
            out.push(NewReminder {
                customer_id: Some(t.customer_id),
                title: format!(
                    "Schritt „{}“ der Reklamation „{}“ ist überfällig",
                    s.step, t.title
                ),
                due_date: today,
                assignee: t.team.clone().or_else(|| fallback.clone()),
                source: "complaint_step".into(),
                reason: Some(format!(
                    "Schritt {} von {} war fällig am {}",
                    s.n,
                    t.steps.len(),
                    s.due.format("%d.%m.%Y")
                )),
                rule_key: Some(format!("complaint_step:{}:{}", t.id, s.n)),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_is_due_days_after_the_one_before() {
        let cfg: ComplaintsSection = toml::from_str(
            "processes = { reparatur = [{ step = \"Termin vereinbaren\", days = 1 }, { step = \"Techniker vor Ort\", days = 3, cost = \"180\" }, { step = \"Abschluss\", days = 0 }] }",
        )
        .unwrap();
        let filed: NaiveDate = "2026-02-27".parse().unwrap();
        let steps = steps_for(&cfg, "reparatur", filed).unwrap();
        let due: Vec<String> = steps.iter().map(|s| s.due.to_string()).collect();
        assert_eq!(due, ["2026-02-28", "2026-03-03", "2026-03-03"]);
        assert_eq!(
            steps[1].expected_cost.map(|c| c.to_string()),
            Some("180.00".into())
        );
        assert!(steps_for(&cfg, "lieferung", filed).unwrap().is_empty());
    }

    #[test]
    fn an_empty_cost_is_none_and_a_bad_one_is_refused() {
        assert_eq!(parse_cost_field(Some(" ")).unwrap(), None);
        assert_eq!(
            parse_cost_field(Some("99.5"))
                .unwrap()
                .map(|d| d.to_string()),
            Some("99.50".into())
        );
        assert!(matches!(
            parse_cost_field(Some("-3")),
            Err(ComplaintError::Invalid(_))
        ));
    }
}
