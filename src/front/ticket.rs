//! A complaint as the desk, the API and the export see it: the store's row with what follows
//! from it as of now — overdue, the statuses it may move to, its steps' status, their expected
//! cost — and the ticket workflow that decides them.

use crate::store::{DynStore, ForwardRow, StepRow, StoreError, TicketFilter, TicketRow};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

/// The ticket workflow: new → in_progress → waiting → resolved → closed (waiting and in
/// progress go back and forth; a resolved ticket may be reopened).
pub const STATUSES: &[&str] = &["new", "in_progress", "waiting", "resolved", "closed"];

/// Whether a ticket in `from` may move to `to`.
pub fn allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("new", "in_progress")
            | ("new", "waiting")
            | ("new", "resolved")
            | ("in_progress", "waiting")
            | ("in_progress", "resolved")
            | ("waiting", "in_progress")
            | ("waiting", "resolved")
            | ("resolved", "closed")
            | ("resolved", "in_progress")
    )
}

/// The statuses a ticket in `from` may move to, in workflow order.
pub fn next_statuses(from: &str) -> Vec<String> {
    STATUSES
        .iter()
        .filter(|to| allowed(from, to))
        .map(|s| (*s).to_owned())
        .collect()
}

/// Whether a ticket in `status` is still being worked on.
pub fn is_open(status: &str) -> bool {
    !["resolved", "closed"].contains(&status)
}

/// A complaint or service ticket.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ticket {
    pub id: i64,
    pub customer_id: i64,
    pub category: String,
    pub title: String,
    pub text: String,
    pub invoice_ref: Option<String>,
    pub order_ref: Option<String>,
    pub sku: Option<String>,
    /// new | in_progress | waiting | resolved | closed
    pub status: String,
    pub deadline: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    pub team: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Past its deadline and not resolved.
    pub overdue: bool,
    /// The statuses it may move to now (`POST /api/v1/complaints/{id}/status`).
    pub next_statuses: Vec<String>,
    /// What it cost, as recorded (credit notes, replacement, travel), in the company's
    /// currency (euros); `null` until recorded.
    #[schema(value_type = Option<String>, example = "180.00")]
    pub cost: Option<Decimal>,
    /// Its category's service process (`[complaints.processes]`), copied when it was filed.
    pub steps: Vec<TicketStep>,
    /// What the steps are expected to cost together (`null`: no step has a cost).
    #[schema(value_type = Option<String>, example = "205.00")]
    pub expected_cost: Option<Decimal>,
    /// The team it was last forwarded to (`null`: never forwarded).
    pub forwarded_to: Option<String>,
    /// Its forwarding from team to team, oldest first.
    pub forwards: Vec<TicketForward>,
}

/// A step of a complaint's service process.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TicketStep {
    /// 1, 2, … in the process's order (`PATCH /api/v1/complaints/{id}/steps/{n}`).
    pub n: i64,
    pub step: String,
    /// Its due date (a business date).
    pub due: NaiveDate,
    #[schema(value_type = Option<String>, example = "180.00")]
    pub expected_cost: Option<Decimal>,
    pub done_at: Option<DateTime<Utc>>,
    /// open | done | overdue (open, past its due date, and the complaint is not resolved).
    pub status: String,
}

/// A complaint forwarded to another team.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TicketForward {
    pub at: DateTime<Utc>,
    /// The team that had it (the owning team, or the one it was forwarded to before).
    pub from_team: Option<String>,
    pub to_team: String,
    /// Why, for the other team.
    pub note: String,
}

impl Ticket {
    /// The ticket of a stored row as of `now` (its deadline) and `today` (its steps' due
    /// dates, business dates).
    pub fn of(row: TicketRow, now: DateTime<Utc>, today: NaiveDate) -> Ticket {
        let open = is_open(&row.status);
        let steps: Vec<TicketStep> = row
            .steps
            .into_iter()
            .map(|s: StepRow| TicketStep {
                status: if s.done_at.is_some() {
                    "done"
                } else if open && s.due < today {
                    "overdue"
                } else {
                    "open"
                }
                .to_owned(),
                n: s.n,
                step: s.step,
                due: s.due,
                expected_cost: s.expected_cost.0,
                done_at: s.done_at,
            })
            .collect();
        Ticket {
            overdue: open && row.deadline.is_some_and(|d| d < now),
            next_statuses: next_statuses(&row.status),
            expected_cost: steps
                .iter()
                .filter_map(|s| s.expected_cost)
                .reduce(|a, b| a + b),
            steps,
            forwards: row.forwards.into_iter().map(TicketForward::from).collect(),
            id: row.id,
            customer_id: row.customer_id,
            category: row.category,
            title: row.title,
            text: row.text,
            invoice_ref: row.invoice_ref,
            order_ref: row.order_ref,
            sku: row.sku,
            status: row.status,
            deadline: row.deadline,
            resolution: row.resolution,
            team: row.team,
            created_at: row.created_at,
            updated_at: row.updated_at,
            resolved_at: row.resolved_at,
            cost: row.cost.0,
            forwarded_to: row.forwarded_to,
        }
    }

    /// Who has it now: the team it was last forwarded to, else its own team.
    pub fn holder(&self) -> Option<&str> {
        self.forwarded_to.as_deref().or(self.team.as_deref())
    }
}

impl From<ForwardRow> for TicketForward {
    fn from(f: ForwardRow) -> Self {
        TicketForward {
            at: f.at,
            from_team: f.from_team,
            to_team: f.to_team,
            note: f.note,
        }
    }
}

fn now_and_today() -> (DateTime<Utc>, NaiveDate) {
    (Utc::now(), chrono::Local::now().date_naive())
}

/// One ticket with its process, as of now.
pub async fn get(store: &DynStore, id: i64) -> Result<Option<Ticket>, StoreError> {
    let (now, today) = now_and_today();
    Ok(store.ticket(id).await?.map(|r| Ticket::of(r, now, today)))
}

/// Tickets as `f` says, newest first, as of now.
pub async fn list(store: &DynStore, f: &TicketFilter) -> Result<Vec<Ticket>, StoreError> {
    let (now, today) = now_and_today();
    let rows = store.tickets_where(f).await?;
    Ok(rows
        .into_iter()
        .map(|r| Ticket::of(r, now, today))
        .collect())
}

/// A customer's tickets (or all with `None`), newest first; `limit` 0: all.
pub async fn of_customer(
    store: &DynStore,
    customer_id: Option<i64>,
    open_only: bool,
    limit: i64,
) -> Result<Vec<Ticket>, StoreError> {
    let f = TicketFilter {
        customer_id,
        team: None,
        open_only,
        limit,
    };
    list(store, &f).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DecimalText;

    fn step(n: i64, due: &str, cost: Option<&str>, done: bool) -> StepRow {
        StepRow {
            n,
            step: format!("Schritt {n}"),
            due: due.parse().unwrap(),
            expected_cost: DecimalText(cost.map(|c| c.parse().unwrap())),
            done_at: done.then(Utc::now),
        }
    }

    fn row(status: &str, steps: Vec<StepRow>) -> TicketRow {
        TicketRow {
            id: 1,
            customer_id: 1,
            category: "reparatur".into(),
            title: "t".into(),
            text: String::new(),
            invoice_ref: None,
            order_ref: None,
            sku: None,
            status: status.into(),
            deadline: Some("2026-03-09T12:00:00Z".parse().unwrap()),
            resolution: None,
            team: Some("service".into()),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            resolved_at: None,
            cost: DecimalText(None),
            forwarded_to: None,
            steps,
            forwards: Vec::new(),
        }
    }

    #[test]
    fn a_step_is_overdue_the_day_after_its_due_date_while_the_complaint_is_open() {
        let today: NaiveDate = "2026-03-10".parse().unwrap();
        let now: DateTime<Utc> = "2026-03-10T08:00:00Z".parse().unwrap();
        let steps = vec![
            step(1, "2026-03-08", None, true),
            step(2, "2026-03-09", Some("180"), false),
            step(3, "2026-03-10", Some("25.50"), false),
        ];
        let t = Ticket::of(row("in_progress", steps.clone()), now, today);
        let status: Vec<&str> = t.steps.iter().map(|s| s.status.as_str()).collect();
        assert_eq!(status, ["done", "overdue", "open"]);
        assert!(t.overdue, "past its deadline and open");
        assert_eq!(t.next_statuses, ["waiting", "resolved"]);
        assert_eq!(
            t.expected_cost.map(|d| d.to_string()),
            Some("205.50".into())
        );
        let t = Ticket::of(row("resolved", steps), now, today);
        assert_eq!(
            t.steps[1].status, "open",
            "a resolved complaint has no overdue steps"
        );
        assert!(!t.overdue, "a resolved complaint is not overdue");
        assert_eq!(
            Ticket::of(row("new", Vec::new()), now, today).expected_cost,
            None
        );
    }
}
