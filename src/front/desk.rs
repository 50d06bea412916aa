//! The front office's own entries as the desk, the API and the data export see them: contacts,
//! reminders and the audit log. The store keeps rows ([`ActivityRow`], [`ReminderRow`],
//! [`AuditRow`]); what is shown is decided here — a contact's author stays in the store.

use crate::store::{ActivityRow, AuditRow, ReminderFilter, ReminderRow};
use crate::store::{DynStore, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// How long whoever recorded a contact may correct or delete it.
pub const ACTIVITY_EDIT_HOURS: i64 = 24;

/// A call, e-mail, visit or note.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Activity {
    pub id: i64,
    pub customer_id: Option<i64>,
    /// call | email | visit | note
    pub kind: String,
    /// in | out
    pub direction: Option<String>,
    pub at: DateTime<Utc>,
    pub subject: Option<String>,
    pub text: Option<String>,
    /// The team that handled it (never a person).
    pub team: Option<String>,
    /// Calls: the other side's number (E.164).
    pub phone: Option<String>,
    /// api | cti | import
    pub source: String,
    /// When it was last corrected by whoever recorded it.
    pub edited_at: Option<DateTime<Utc>>,
}

impl From<ActivityRow> for Activity {
    fn from(a: ActivityRow) -> Self {
        Activity {
            id: a.id,
            customer_id: a.customer_id,
            kind: a.kind,
            direction: a.direction,
            at: a.at,
            subject: a.subject,
            text: a.text,
            team: a.team,
            phone: a.phone,
            source: a.source,
            edited_at: a.edited_at,
        }
    }
}

/// Until when `author` may correct or delete the contact `a` (`None`: not theirs, or not
/// recorded at the desk).
pub fn editable_until(a: &ActivityRow, author: Option<&str>) -> Option<DateTime<Utc>> {
    let mine = author.is_some()
        && a.author.as_deref() == author
        && (a.source == "api" || a.source == "dial");
    mine.then(|| a.created_at + chrono::Duration::hours(ACTIVITY_EDIT_HOURS))
}

/// A reminder: manual, or suggested by a rule.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reminder {
    pub id: i64,
    pub customer_id: Option<i64>,
    pub title: String,
    pub due_date: NaiveDate,
    pub assignee: Option<String>,
    /// open | done | snoozed
    pub status: String,
    pub snoozed_until: Option<NaiveDate>,
    /// manual, or the rule that suggested it.
    pub source: String,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

impl From<ReminderRow> for Reminder {
    fn from(r: ReminderRow) -> Self {
        Reminder {
            id: r.id,
            customer_id: r.customer_id,
            title: r.title,
            due_date: r.due_date,
            assignee: r.assignee,
            status: r.status,
            snoozed_until: r.snoozed_until,
            source: r.source,
            reason: r.reason,
            created_at: r.created_at,
            done_at: r.done_at,
        }
    }
}

/// Reminders as `f` says, soonest first.
pub async fn reminders(store: &DynStore, f: &ReminderFilter) -> Result<Vec<Reminder>, StoreError> {
    Ok(store
        .reminders(f)
        .await?
        .into_iter()
        .map(Reminder::from)
        .collect())
}

/// Who accessed what, and when (never free text).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub token_name: String,
    pub role: String,
    pub action: String,
    pub customer_id: Option<i64>,
    /// What else it was about: a looked-up number, an erasure's count (never free text).
    pub detail: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(a: AuditRow) -> Self {
        AuditEntry {
            id: a.id,
            at: a.at,
            token_name: a.token_name,
            role: a.role,
            action: a.action,
            customer_id: a.customer_id,
            detail: a.detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(source: &str, author: Option<&str>) -> ActivityRow {
        ActivityRow {
            id: 7,
            customer_id: Some(1),
            kind: "call".into(),
            direction: Some("in".into()),
            at: Utc::now(),
            subject: None,
            text: Some("Rückruf".into()),
            team: Some("innendienst".into()),
            phone: None,
            source: source.into(),
            edited_at: None,
            created_at: "2026-12-01T10:00:00Z".parse().unwrap(),
            author: author.map(str::to_owned),
        }
    }

    #[test]
    fn a_contact_shows_no_author_and_only_its_author_may_edit_it_for_a_day() {
        let shown = serde_json::to_value(Activity::from(row("api", Some("h1")))).unwrap();
        let keys: Vec<&String> = shown.as_object().unwrap().keys().collect();
        assert!(
            !keys.iter().any(|k| *k == "author" || *k == "created_at"),
            "{shown}"
        );
        let until: DateTime<Utc> = "2026-12-02T10:00:00Z".parse().unwrap();
        assert_eq!(
            editable_until(&row("api", Some("h1")), Some("h1")),
            Some(until)
        );
        assert_eq!(editable_until(&row("api", Some("h1")), Some("h2")), None);
        assert_eq!(editable_until(&row("import", Some("h1")), Some("h1")), None);
        assert_eq!(editable_until(&row("api", None), None), None);
    }
}
