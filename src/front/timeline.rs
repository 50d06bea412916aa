//! One timeline per customer: contacts (recorded in kontor or imported), invoices, credit
//! notes, orders, deliveries and complaints — newest first, paged, filterable by kind.

use super::desk::editable_until;
use super::ticket::{Ticket, TicketForward};
use crate::model::Entity;
use crate::model::typed::{self, Amount};
use crate::store::{ActivityRow, DynStore, StoreError, StoredRecord};
use crate::view::{Known, Money, Provenance};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

/// Kinds of timeline items.
pub const KINDS: &[&str] = &[
    "call",
    "email",
    "visit",
    "note",
    "invoice",
    "credit_note",
    "order",
    "delivery",
    "complaint",
    "quote",
];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineItem {
    pub kind: String,
    pub at: DateTime<Utc>,
    pub title: String,
    pub detail: Option<String>,
    /// Document number, complaint or activity id.
    pub reference: String,
    /// Where it comes from (records of a connector); absent for what kontor recorded itself.
    pub source: Option<Provenance>,
    /// The team that handled a contact.
    pub team: Option<String>,
    /// A contact the caller recorded and may still correct or delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own: Option<OwnContact>,
}

/// What the desk needs to correct its own contact (`PATCH /api/v1/activities/{id}`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OwnContact {
    pub id: i64,
    pub direction: Option<String>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub editable_until: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelinePage {
    pub items: Vec<TimelineItem>,
    pub next_cursor: Option<String>,
}

fn day(d: Option<NaiveDate>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    d.map_or(fallback, |d| d.and_time(NaiveTime::MIN).and_utc())
}

/// A money field as the timeline writes it: "1234.56 EUR".
fn money(amount: &Option<Amount>, currency: &Option<String>) -> Option<String> {
    Money::of(amount, currency).map(|m| format!("{} {}", m.amount, m.currency))
}

/// "1234.56 EUR, gültig bis 2026-12-10, angenommen → Auftrag AB-50004".
fn quote_detail(d: &typed::Quote) -> Option<String> {
    let status = match d.status.as_deref() {
        Some("accepted") => Some(match &d.order_ref {
            Some(o) => format!("angenommen → Auftrag {o}"),
            None => "angenommen".to_owned(),
        }),
        Some("rejected") => Some("abgelehnt".to_owned()),
        _ => None,
    };
    let parts: Vec<String> = [
        money(&d.total, &d.currency),
        d.valid_until.map(|v| format!("gültig bis {v}")),
        status,
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn from_record(r: &StoredRecord) -> Option<TimelineItem> {
    let number = |n: &Option<String>| n.clone().unwrap_or_else(|| r.external_id.clone());
    let mut team = None;
    let (kind, at, title, detail, number) = match Entity::parse(&r.entity)? {
        Entity::Invoice => {
            let d: typed::Invoice = r.head();
            let due = d.due_date.map(|d| d.to_string()).unwrap_or_default();
            (
                "invoice".to_owned(),
                day(d.issue_date, r.synced_at),
                format!("Rechnung {}", number(&d.number)),
                money(&d.gross, &d.currency).map(|g| format!("{g}, fällig {due}")),
                number(&d.number),
            )
        }
        Entity::CreditNote => {
            let d: typed::CreditNote = r.head();
            (
                "credit_note".to_owned(),
                day(d.issue_date, r.synced_at),
                format!("Gutschrift {}", number(&d.number)),
                money(&d.gross, &d.currency),
                number(&d.number),
            )
        }
        Entity::Order => {
            let d: typed::Order = r.head();
            (
                "order".to_owned(),
                day(d.order_date, r.synced_at),
                format!("Auftrag {}", number(&d.number)),
                d.status.clone(),
                number(&d.number),
            )
        }
        Entity::Quote => {
            let d: typed::Quote = r.head();
            let what = if d.status.as_deref() == Some("requested") {
                "Anfrage"
            } else {
                "Angebot"
            };
            (
                "quote".to_owned(),
                day(d.quote_date, r.synced_at),
                format!("{what} {}", number(&d.number)),
                quote_detail(&d),
                number(&d.number),
            )
        }
        Entity::Delivery => {
            let d: typed::Delivery = r.head();
            (
                "delivery".to_owned(),
                day(d.dispatch_date, r.synced_at),
                format!("Lieferung {}", number(&d.number)),
                d.order_number.map(|o| format!("zu Auftrag {o}")),
                number(&d.number),
            )
        }
        Entity::Activity => {
            let d: typed::Activity = r.read();
            let time = d
                .time
                .and_then(|t| NaiveTime::parse_from_str(&t, "%H:%M").ok())
                .unwrap_or(NaiveTime::MIN);
            let at = d.date.map_or(r.synced_at, |dt| dt.and_time(time).and_utc());
            team = d.team;
            (
                d.kind
                    .filter(|k| KINDS[..4].contains(&k.as_str()))
                    .unwrap_or_else(|| "note".to_owned()),
                at,
                d.subject.unwrap_or_else(|| "Kontakt".into()),
                d.text,
                r.external_id.clone(),
            )
        }
        _ => return None,
    };
    Some(TimelineItem {
        kind,
        at,
        title,
        detail,
        reference: number,
        source: Some(Provenance::of(r)),
        team,
        own: None,
    })
}

fn from_activity(a: &ActivityRow, author: Option<&str>, now: DateTime<Utc>) -> TimelineItem {
    let label = match a.kind.as_str() {
        "call" => "Anruf",
        "email" => "E-Mail",
        "visit" => "Besuch",
        _ => "Notiz",
    };
    let dir = match a.direction.as_deref() {
        Some("in") => " (eingehend)",
        Some("out") => " (ausgehend)",
        _ => "",
    };
    TimelineItem {
        kind: a.kind.clone(),
        at: a.at,
        title: a
            .subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| format!("{label}{dir}")),
        detail: a
            .text
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or_else(|| a.phone.clone()),
        reference: format!("A{}", a.id),
        source: None,
        team: a.team.clone(),
        own: editable_until(a, author)
            .filter(|until| *until > now)
            .map(|editable_until| OwnContact {
                id: a.id,
                direction: a.direction.clone(),
                subject: a.subject.clone(),
                text: a.text.clone(),
                editable_until,
                edited_at: a.edited_at,
            }),
    }
}

fn from_ticket(t: &Ticket) -> TimelineItem {
    TimelineItem {
        kind: "complaint".into(),
        at: t.created_at,
        title: format!("Reklamation: {}", t.title),
        detail: Some(format!("{} ({})", t.status, t.category)),
        reference: format!("R{}", t.id),
        source: None,
        team: t.team.clone(),
        own: None,
    }
}

/// A complaint forwarded to another team (kind `complaint`, the note as its detail, the team
/// that forwarded it as its team).
fn from_forward(t: &Ticket, i: usize, f: &TicketForward) -> TimelineItem {
    TimelineItem {
        kind: "complaint".into(),
        at: f.at,
        title: format!(
            "Reklamation „{}“ weitergeleitet an Team {}",
            t.title, f.to_team
        ),
        detail: Some(f.note.clone()),
        reference: format!("R{}-W{}", t.id, i + 1),
        source: None,
        team: f.from_team.clone(),
        own: None,
    }
}

/// The customer's timeline page: `kinds` filters (empty: all), `cursor` continues; the
/// contacts `author` recorded (see [`editable_until`]) say so.
pub async fn timeline(
    store: &DynStore,
    id: i64,
    known: Known<'_>,
    author: Option<&str>,
    kinds: &[String],
    limit: usize,
    cursor: Option<&str>,
) -> Result<TimelinePage, StoreError> {
    let offset: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
    let wanted = |k: &str| kinds.is_empty() || kinds.iter().any(|x| x == k);
    let mut items: Vec<TimelineItem> = Vec::new();
    for r in store.records_of(&known.record_pairs()).await? {
        if let Some(item) = from_record(&r).filter(|i| wanted(&i.kind)) {
            items.push(item);
        }
    }
    // All of the customer's own activities (a customer has hundreds, not millions).
    let now = Utc::now();
    for a in store.activities(id, None, 10_000).await? {
        if wanted(&a.kind) {
            items.push(from_activity(&a, author, now));
        }
    }
    if wanted("complaint") {
        for t in super::ticket::of_customer(store, Some(id), false, 0).await? {
            items.push(from_ticket(&t));
            items.extend(
                t.forwards
                    .iter()
                    .enumerate()
                    .map(|(i, f)| from_forward(&t, i, f)),
            );
        }
    }
    items.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.reference.cmp(&a.reference)));
    let limit = limit.clamp(1, 200);
    let total = items.len();
    let page: Vec<TimelineItem> = items.into_iter().skip(offset).take(limit).collect();
    let next = offset + page.len();
    Ok(TimelinePage {
        next_cursor: (next < total).then(|| next.to_string()),
        items: page,
    })
}
