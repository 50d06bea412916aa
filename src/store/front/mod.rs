//! Store side of the front-office features: contact history, complaints (with a full-text
//! index of German-stemmed words: FTS5 on SQLite, a GIN `tsvector` index on PostgreSQL),
//! reminders, the audit log and erasure tombstones.

mod cases;

pub use cases::*;

use super::{StoreError, StoredRecord};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

/// A stored call, e-mail, visit or note (`activities`); the desk sees
/// [`crate::front::desk::Activity`].
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ActivityRow {
    pub id: i64,
    pub customer_id: Option<i64>,
    pub kind: String,
    pub direction: Option<String>,
    pub at: DateTime<Utc>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub team: Option<String>,
    pub phone: Option<String>,
    pub source: String,
    pub edited_at: Option<DateTime<Utc>>,
    /// When it was recorded in kontor (the edit window counts from here).
    pub created_at: DateTime<Utc>,
    /// A salted hash of who recorded it ([`crate::model::personal_key`]); never shown.
    pub author: Option<String>,
}

/// A correction of a contact (`None` keeps the value).
#[derive(Debug, Clone, Default)]
pub struct ActivityEdit {
    pub kind: Option<String>,
    pub direction: Option<String>,
    pub at: Option<DateTime<Utc>>,
    pub subject: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewActivity {
    pub customer_id: Option<i64>,
    pub kind: String,
    pub direction: Option<String>,
    pub at: DateTime<Utc>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub team: Option<String>,
    pub phone: Option<String>,
    pub source: String,
    /// A salted hash of who recorded it (see [`ActivityRow::author`]).
    pub author: Option<String>,
}

/// A stored reminder (`reminders`); the desk sees [`crate::front::desk::Reminder`].
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReminderRow {
    pub id: i64,
    pub customer_id: Option<i64>,
    pub title: String,
    pub due_date: NaiveDate,
    pub assignee: Option<String>,
    pub status: String,
    pub snoozed_until: Option<NaiveDate>,
    pub source: String,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct NewReminder {
    pub customer_id: Option<i64>,
    pub title: String,
    pub due_date: NaiveDate,
    pub assignee: Option<String>,
    pub source: String,
    pub reason: Option<String>,
    /// Suggested reminders: their identity (never created twice).
    pub rule_key: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ReminderFilter {
    pub customer_id: Option<i64>,
    pub assignee: Option<String>,
    /// Open (or snoozed past their date) and due on or before this day.
    pub due_by: Option<NaiveDate>,
    pub include_done: bool,
    pub limit: i64,
}

/// A stored audit log entry (`audit_log`); the API shows [`crate::front::desk::AuditEntry`].
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub token_name: String,
    pub role: String,
    pub action: String,
    pub customer_id: Option<i64>,
    pub detail: Option<String>,
}

/// An audit log entry to write: `at` is when the access happened.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub at: DateTime<Utc>,
    pub token_name: String,
    pub role: String,
    pub action: String,
    pub customer_id: Option<i64>,
    pub detail: Option<String>,
}

#[async_trait]
pub trait FrontStore: Send + Sync {
    async fn add_activity(&self, a: &NewActivity) -> Result<i64, StoreError>;
    async fn activity(&self, id: i64) -> Result<Option<ActivityRow>, StoreError>;
    /// Sets an activity's subject (a call's outcome: answered, missed, voicemail).
    async fn set_activity_subject(&self, id: i64, subject: &str) -> Result<(), StoreError>;
    /// Corrects a contact (the values given) and sets its `edited_at`.
    async fn edit_activity(&self, id: i64, e: &ActivityEdit) -> Result<(), StoreError>;
    /// Deletes a contact; false when there was none.
    async fn delete_activity(&self, id: i64) -> Result<bool, StoreError>;
    /// A customer's activities, newest first, before (`at`, `id`) when paging.
    async fn activities(
        &self,
        customer_id: i64,
        before: Option<(DateTime<Utc>, i64)>,
        limit: i64,
    ) -> Result<Vec<ActivityRow>, StoreError>;
    /// When the customer was last contacted.
    async fn last_contacts(&self) -> Result<Vec<(i64, DateTime<Utc>)>, StoreError>;
    /// Contacts per team in a period.
    async fn contacts_by_team(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(Option<String>, String, i64)>, StoreError>;

    /// `None` when a reminder with the same `rule_key` exists (done ones too).
    async fn add_reminder(&self, r: &NewReminder) -> Result<Option<i64>, StoreError>;
    /// Adds many in one transaction (multi-row statements); returns how many were new.
    async fn add_reminders(&self, rs: &[NewReminder]) -> Result<u64, StoreError>;
    async fn reminder(&self, id: i64) -> Result<Option<ReminderRow>, StoreError>;
    async fn reminders(&self, f: &ReminderFilter) -> Result<Vec<ReminderRow>, StoreError>;
    async fn set_reminder(
        &self,
        id: i64,
        status: &str,
        snoozed_until: Option<NaiveDate>,
    ) -> Result<(), StoreError>;

    /// Appends entries to the audit log (one transaction).
    async fn add_audit(&self, entries: &[NewAudit]) -> Result<(), StoreError>;
    async fn audit_entries(
        &self,
        customer_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError>;
    /// Deletes what is older than its retention: (table, rows).
    async fn purge_before(&self, table: &str, before: DateTime<Utc>) -> Result<u64, StoreError>;

    async fn add_tombstone(&self, kind: &str, hash: &str) -> Result<(), StoreError>;
    async fn tombstones(&self) -> Result<Vec<(String, String)>, StoreError>;
    /// Replaces a stored record's data, hash and position (erasure).
    async fn replace_record(
        &self,
        connector: &str,
        entity: &str,
        external_id: &str,
        data: &str,
        hash: &str,
        position: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Deletes records by (connector, entity, external id) (erasure of contact persons).
    async fn delete_records(&self, keys: &[(String, String, String)]) -> Result<(), StoreError>;
    /// Calls `f` with the key (columns joined by U+001F) and the text columns of every row of
    /// an erasable table, streamed.
    async fn scan_erasable(
        &self,
        t: &'static Erasable,
        f: &mut (dyn FnMut(String, Vec<Option<String>>) + Send),
    ) -> Result<(), StoreError>;
    /// Writes new values of an erasable table's text columns (one transaction; complaints'
    /// full-text index follows).
    async fn rewrite_erasable(
        &self,
        t: &'static Erasable,
        rows: &[(String, Vec<Option<String>>)],
    ) -> Result<(), StoreError>;
    /// After an erasure: nothing of the old values stays in the store's files (SQLite: the
    /// full-text index merged, the WAL checkpointed and truncated, free pages zeroed by
    /// `secure_delete`; PostgreSQL: the affected tables vacuumed).
    async fn after_erasure(&self) -> Result<(), StoreError>;
    /// (connector, customer number) of the records of `entity` that left their source since
    /// `since` (a paid invoice: the open-items list no longer names it).
    async fn closed_since(
        &self,
        entity: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Calls `f` with (connector, customer number, data) of every open record of `entity`,
    /// streamed (constant memory).
    async fn for_each_record(
        &self,
        entity: &str,
        f: &mut (dyn for<'a> FnMut(&'a str, Option<&'a str>, &'a str) + Send),
    ) -> Result<u64, StoreError>;
    /// When a periodic job last ran.
    async fn job_last_run(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    async fn job_ran(&self, name: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// The store's random salt for personal key parts (created on first use, the same for
    /// every node of the store).
    async fn key_salt(&self) -> Result<[u8; 32], StoreError>;
    /// Records (customer, contact person) whose data contains one of `needles` (ignoring
    /// ASCII case): the candidates of a person's records.
    async fn records_of_person(&self, needles: &[String]) -> Result<Vec<StoredRecord>, StoreError>;
}

/// A table with text that can mention a person, and the columns an erasure rewrites.
#[derive(Debug)]
pub struct Erasable {
    pub table: &'static str,
    pub key: &'static [&'static str],
    pub columns: &'static [&'static str],
    /// Columns recomputed from the others (not searched).
    pub derived: &'static [&'static str],
    /// Rows considered (SQL condition).
    pub filter: &'static str,
}

const fn erasable(
    table: &'static str,
    key: &'static [&'static str],
    columns: &'static [&'static str],
) -> Erasable {
    Erasable {
        table,
        key,
        columns,
        derived: &[],
        filter: "TRUE",
    }
}

/// Every free text of the store an erasure looks at (customer and contact-person records are
/// handled by their fields).
pub const ERASABLE: &[Erasable] = &[
    erasable("activities", &["id"], &["subject", "text", "phone"]),
    Erasable {
        derived: &["terms"],
        ..erasable(
            "tickets",
            &["id"],
            &["title", "text", "resolution", "terms"],
        )
    },
    erasable(
        "quarantine",
        &["id"],
        &["raw", "record", "context", "reason", "position", "source"],
    ),
    // Why a complaint was forwarded.
    erasable("ticket_forwards", &["id"], &["note"]),
    erasable("identity_suggestions", &["id"], &["reason"]),
    erasable("customer_keys", &["system", "customer_no"], &["matched_on"]),
    erasable("audit_log", &["id"], &["detail"]),
    erasable("sync_runs", &["id"], &["error"]),
    erasable("checkpoints", &["connector", "unit_key"], &["label"]),
    // Imported contact history.
    Erasable {
        derived: &["hash"],
        filter: "entity = 'activity'",
        ..erasable(
            "records",
            &["connector", "entity", "external_id"],
            &["data", "position", "hash"],
        )
    },
];

/// `SELECT` and `UPDATE` of an erasable table (keys compared as text, so one statement fits
/// every key type on both backends).
fn erasable_sql(t: &Erasable) -> (String, String) {
    let keys: Vec<String> = t
        .key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("CAST({k} AS TEXT) AS k{i}"))
        .collect();
    let select = format!(
        "SELECT {}, {} FROM {} WHERE {}",
        keys.join(", "),
        t.columns.join(", "),
        t.table,
        t.filter
    );
    let sets: Vec<String> = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    let wheres: Vec<String> = t
        .key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("CAST({k} AS TEXT) = ${}", t.columns.len() + i + 1))
        .collect();
    let update = format!(
        "UPDATE {} SET {} WHERE {}",
        t.table,
        sets.join(", "),
        wheres.join(" AND ")
    );
    (select, update)
}

/// A `LIKE` pattern that matches `needle` literally anywhere.
fn contains_pattern(needle: &str) -> String {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

mod sql;
