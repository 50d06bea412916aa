//! Store side of complaints (tickets): the workflow, the full-text search of similar cases,
//! and the service process of a complaint: its steps, recorded cost and forwarding.

use super::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

/// A stored ticket (`tickets`) with its process steps and forwarding; the front office makes
/// the [`crate::front::ticket::Ticket`] the desk and the API see from it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TicketRow {
    pub id: i64,
    pub customer_id: i64,
    pub category: String,
    pub title: String,
    pub text: String,
    pub invoice_ref: Option<String>,
    pub order_ref: Option<String>,
    pub sku: Option<String>,
    pub status: String,
    pub deadline: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    pub team: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub cost: DecimalText,
    pub forwarded_to: Option<String>,
    /// Its steps (`ticket_steps`), by `n`.
    #[sqlx(skip)]
    pub steps: Vec<StepRow>,
    /// Its forwarding (`ticket_forwards`), oldest first.
    #[sqlx(skip)]
    pub forwards: Vec<ForwardRow>,
}

/// A stored process step (`ticket_steps`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StepRow {
    pub n: i64,
    pub step: String,
    pub due: NaiveDate,
    pub expected_cost: DecimalText,
    pub done_at: Option<DateTime<Utc>>,
}

/// A stored forwarding (`ticket_forwards`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ForwardRow {
    pub at: DateTime<Utc>,
    pub from_team: Option<String>,
    pub to_team: String,
    pub note: String,
}

/// An optional amount kept as text (exact on both backends); a column that does not read as a
/// decimal is a decode error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecimalText(pub Option<Decimal>);

impl sqlx::Type<sqlx::Sqlite> for DecimalText {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as sqlx::Type<sqlx::Sqlite>>::type_info()
    }
}

impl sqlx::Type<sqlx::Postgres> for DecimalText {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <String as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for DecimalText
where
    Option<String>: sqlx::Decode<'r, DB>,
{
    fn decode(v: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <Option<String> as sqlx::Decode<DB>>::decode(v)?;
        Ok(DecimalText(text.map(|s| s.parse::<Decimal>()).transpose()?))
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
    async fn ticket(&self, id: i64) -> Result<Option<TicketRow>, StoreError>;
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
    async fn tickets_where(&self, f: &TicketFilter) -> Result<Vec<TicketRow>, StoreError>;
    /// Marks step `n` done (now) or open again; false when the ticket has no such step.
    async fn set_ticket_step(&self, id: i64, n: i64, done: bool) -> Result<bool, StoreError>;
    /// Records a forwarding and makes its team the ticket's `forwarded_to` (one transaction).
    async fn forward_ticket(&self, id: i64, f: &NewForward) -> Result<(), StoreError>;
    /// Records the ticket's cost (`None` clears it).
    async fn set_ticket_cost(&self, id: i64, cost: Option<Decimal>) -> Result<(), StoreError>;
}

mod sql;
