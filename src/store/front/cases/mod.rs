//! Store side of complaints (tickets): the workflow, the full-text search of similar cases,
//! and the service process of a complaint: its steps, recorded cost and forwarding.

use super::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

/// The ticket workflow: new → in_progress → waiting → resolved → closed (waiting and in
/// progress go back and forth; a resolved ticket may be reopened).
pub const TICKET_STATUSES: &[&str] = &["new", "in_progress", "waiting", "resolved", "closed"];

pub fn ticket_transition_allowed(from: &str, to: &str) -> bool {
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
pub fn ticket_next_statuses(from: &str) -> Vec<String> {
    TICKET_STATUSES
        .iter()
        .filter(|to| ticket_transition_allowed(from, to))
        .map(|s| (*s).to_owned())
        .collect()
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

/// Whether a ticket in `status` is still being worked on.
pub fn ticket_open(status: &str) -> bool {
    !["resolved", "closed"].contains(&status)
}

impl Ticket {
    /// Fills in its process: the steps (with their status as of `today`), their expected
    /// cost together, and its forwarding.
    pub fn with_process(
        mut self,
        steps: Vec<TicketStep>,
        forwards: Vec<TicketForward>,
        today: NaiveDate,
    ) -> Ticket {
        let open = ticket_open(&self.status);
        self.steps = steps
            .into_iter()
            .map(|mut s| {
                s.status = if s.done_at.is_some() {
                    "done"
                } else if open && s.due < today {
                    "overdue"
                } else {
                    "open"
                }
                .to_owned();
                s
            })
            .collect();
        self.expected_cost = self
            .steps
            .iter()
            .filter_map(|s| s.expected_cost)
            .reduce(|a, b| a + b);
        self.forwards = forwards;
        self
    }

    /// Who has it now: the team it was last forwarded to, else its own team.
    pub fn holder(&self) -> Option<&str> {
        self.forwarded_to.as_deref().or(self.team.as_deref())
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewTicket {
    pub customer_id: i64,
    pub category: String,
    pub title: String,
    pub text: String,
    pub invoice_ref: Option<String>,
    pub order_ref: Option<String>,
    pub sku: Option<String>,
    pub deadline: Option<DateTime<Utc>>,
    pub team: Option<String>,
    /// German-stemmed words of title and text.
    pub terms: String,
    /// The recorded cost, when known at filing.
    pub cost: Option<Decimal>,
    /// Its category's process, with due dates.
    pub steps: Vec<NewStep>,
}

/// A process step of a new ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStep {
    pub step: String,
    pub due: NaiveDate,
    pub expected_cost: Option<Decimal>,
}

/// Which tickets: of a customer, of a team (its own and those forwarded to it), open ones.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub customer_id: Option<i64>,
    /// Tickets of this team and those forwarded to it (ever).
    pub team: Option<String>,
    pub open_only: bool,
    /// 0: all.
    pub limit: i64,
}

/// A forwarding to record.
#[derive(Debug, Clone)]
pub struct NewForward {
    pub at: DateTime<Utc>,
    pub from_team: Option<String>,
    pub to_team: String,
    pub note: String,
}

#[async_trait]
pub trait CaseStore: Send + Sync {
    /// Adds a ticket with its process steps (one transaction).
    async fn add_ticket(&self, t: &NewTicket) -> Result<i64, StoreError>;
    async fn ticket(&self, id: i64) -> Result<Option<Ticket>, StoreError>;
    async fn tickets(
        &self,
        customer_id: Option<i64>,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<Ticket>, StoreError>;
    async fn set_ticket_status(
        &self,
        id: i64,
        status: &str,
        resolution: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Tickets whose stemmed words share any of `terms`, best first: (id, score).
    async fn tickets_matching(
        &self,
        terms: &[String],
        limit: i64,
    ) -> Result<Vec<(i64, f64)>, StoreError>;
    /// Tickets about the same item, order or invoice.
    async fn tickets_about(
        &self,
        sku: Option<&str>,
        order_ref: Option<&str>,
        invoice_ref: Option<&str>,
        limit: i64,
    ) -> Result<Vec<i64>, StoreError>;

    /// Tickets as `f` says, newest first.
    async fn tickets_where(&self, f: &TicketFilter) -> Result<Vec<Ticket>, StoreError>;
    /// Marks step `n` done (now) or open again; false when the ticket has no such step.
    async fn set_ticket_step(&self, id: i64, n: i64, done: bool) -> Result<bool, StoreError>;
    /// Records a forwarding and makes its team the ticket's `forwarded_to` (one transaction).
    async fn forward_ticket(&self, id: i64, f: &NewForward) -> Result<(), StoreError>;
    /// Records the ticket's cost (`None` clears it).
    async fn set_ticket_cost(&self, id: i64, cost: Option<Decimal>) -> Result<(), StoreError>;
}

/// A decimal column (kept as text: exact on both backends).
pub(super) fn decimal(s: Option<String>) -> Result<Option<Decimal>, sqlx::Error> {
    s.map(|s| {
        s.parse::<Decimal>()
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))
    })
    .transpose()
}

macro_rules! ticket {
    ($r:expr) => {{
        use sqlx::Row;
        let r = $r;
        (|| -> Result<Ticket, sqlx::Error> {
            let status: String = r.try_get("status")?;
            let deadline: Option<DateTime<Utc>> = r.try_get("deadline")?;
            Ok(Ticket {
                overdue: deadline.is_some_and(|d| d < Utc::now())
                    && !["resolved", "closed"].contains(&status.as_str()),
                next_statuses: ticket_next_statuses(&status),
                id: r.try_get("id")?,
                customer_id: r.try_get("customer_id")?,
                category: r.try_get("category")?,
                title: r.try_get("title")?,
                text: r.try_get("text")?,
                invoice_ref: r.try_get("invoice_ref")?,
                order_ref: r.try_get("order_ref")?,
                sku: r.try_get("sku")?,
                status,
                deadline,
                resolution: r.try_get("resolution")?,
                team: r.try_get("team")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
                resolved_at: r.try_get("resolved_at")?,
                cost: decimal(r.try_get("cost")?)?,
                steps: Vec::new(),
                expected_cost: None,
                forwarded_to: r.try_get("forwarded_to")?,
                forwards: Vec::new(),
            })
        })()
    }};
}

mod sql;

#[cfg(test)]
mod tests {
    use super::*;

    fn step(n: i64, due: &str, cost: Option<&str>, done: bool) -> TicketStep {
        TicketStep {
            n,
            step: format!("Schritt {n}"),
            due: due.parse().unwrap(),
            expected_cost: cost.map(|c| c.parse().unwrap()),
            done_at: done.then(Utc::now),
            status: String::new(),
        }
    }

    fn ticket(status: &str) -> Ticket {
        Ticket {
            id: 1,
            customer_id: 1,
            category: "reparatur".into(),
            title: "t".into(),
            text: String::new(),
            invoice_ref: None,
            order_ref: None,
            sku: None,
            status: status.into(),
            deadline: None,
            resolution: None,
            team: Some("service".into()),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            resolved_at: None,
            overdue: false,
            next_statuses: Vec::new(),
            cost: None,
            steps: Vec::new(),
            expected_cost: None,
            forwarded_to: None,
            forwards: Vec::new(),
        }
    }

    #[test]
    fn a_step_is_overdue_the_day_after_its_due_date_while_the_complaint_is_open() {
        let today: NaiveDate = "2026-03-10".parse().unwrap();
        let steps = vec![
            step(1, "2026-03-08", None, true),
            step(2, "2026-03-09", Some("180"), false),
            step(3, "2026-03-10", Some("25.50"), false),
        ];
        let t = ticket("in_progress").with_process(steps.clone(), Vec::new(), today);
        let status: Vec<&str> = t.steps.iter().map(|s| s.status.as_str()).collect();
        assert_eq!(status, ["done", "overdue", "open"]);
        assert_eq!(
            t.expected_cost.map(|d| d.to_string()),
            Some("205.50".into())
        );
        let t = ticket("resolved").with_process(steps, Vec::new(), today);
        assert_eq!(
            t.steps[1].status, "open",
            "a resolved complaint has no overdue steps"
        );
        assert_eq!(
            ticket("new")
                .with_process(Vec::new(), Vec::new(), today)
                .expected_cost,
            None
        );
    }
}
