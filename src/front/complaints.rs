//! Complaints and tickets: a workflow with a deadline per category, and similar known cases
//! (same item, order or invoice; and German full-text similarity) with how they were
//! resolved.

use super::complaint_process::{parse_cost_field, steps_for};
use super::ticket::Ticket;
use crate::config::{ComplaintsSection, parse_span};
use crate::store::{DynStore, NewTicket, StoreError};
use chrono::{NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

pub use super::ticket::{STATUSES, allowed};

/// German stop words that say nothing about a case.
const STOP: &[&str] = &[
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "und",
    "oder", "aber", "ist", "sind", "war", "wurde", "wurden", "wird", "werden", "hat", "haben",
    "nicht", "kein", "keine", "mit", "von", "vom", "zu", "zum", "zur", "im", "in", "an", "am",
    "auf", "für", "bei", "aus", "nach", "auch", "noch", "schon", "sehr", "wir", "sie", "er", "es",
    "ich", "uns", "ihr", "ihre", "unser", "unsere", "bitte", "dass", "wie", "was", "so", "als",
    "um", "bis", "über", "unter", "gegen", "durch", "sich", "mehr", "nur", "kunde",
];

/// Words of a text, German-stemmed (Snowball), without stop words; for the full-text index.
pub fn terms(text: &str) -> Vec<String> {
    let mut out: Vec<String> = stemmed_words(text).into_iter().map(|(s, _)| s).collect();
    out.sort();
    out.dedup();
    out
}

/// Each word of a text (lower case, without stop words) with its German stem as the index
/// keeps it: (stem, word).
pub fn stemmed_words(text: &str) -> Vec<(String, String)> {
    let stemmer = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::German);
    let lower = text.to_lowercase();
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3 && !STOP.contains(w))
        .map(|w| {
            // The index matches ASCII words: umlauts as the stemmer leaves them, then folded.
            (
                crate::identity::normalize::fold(&stemmer.stem(w)),
                w.to_owned(),
            )
        })
        .filter(|(s, _)| !s.is_empty() && !s.contains(' '))
        .collect()
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SimilarCase {
    pub complaint: Ticket,
    /// 0..1, best first.
    pub score: f64,
    /// What they share: `same item 0815-A`, `same order AB-50001`, `similar text`.
    pub why: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ComplaintError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// Not possible in the complaint's current state.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct NewComplaint {
    pub customer_id: i64,
    pub category: String,
    pub title: String,
    pub text: String,
    pub invoice_ref: Option<String>,
    pub order_ref: Option<String>,
    pub sku: Option<String>,
    pub team: Option<String>,
    /// What it cost, when known already (a decimal string).
    pub cost: Option<String>,
}

/// Records a complaint (deadline from its category, and its category's service process with
/// due dates counted from `today`) and returns it with similar cases.
pub async fn create(
    store: &DynStore,
    cfg: &ComplaintsSection,
    c: NewComplaint,
    today: NaiveDate,
) -> Result<(Ticket, Vec<SimilarCase>), ComplaintError> {
    let Some(span) = cfg.categories.get(&c.category) else {
        let known: Vec<&str> = cfg.categories.keys().map(String::as_str).collect();
        return Err(ComplaintError::Invalid(format!(
            "category `{}`: one of {}",
            c.category,
            known.join(", ")
        )));
    };
    if c.title.trim().is_empty() {
        return Err(ComplaintError::Invalid("title must not be empty".into()));
    }
    let cost = parse_cost_field(c.cost.as_deref())?;
    let steps = steps_for(cfg, &c.category, today)?;
    let deadline = parse_span(span).ok().map(|d| Utc::now() + d);
    let words = terms(&format!("{} {}", c.title, c.text));
    let id = store
        .add_ticket(&NewTicket {
            customer_id: c.customer_id,
            category: c.category,
            title: c.title,
            text: c.text,
            invoice_ref: c.invoice_ref.filter(|s| !s.trim().is_empty()),
            order_ref: c.order_ref.filter(|s| !s.trim().is_empty()),
            sku: c.sku.filter(|s| !s.trim().is_empty()),
            deadline,
            team: c.team,
            terms: words.join(" "),
            cost,
            steps,
        })
        .await?;
    let ticket = super::ticket::get(store, id)
        .await?
        .ok_or_else(|| ComplaintError::Invalid("the complaint vanished".into()))?;
    let similar = similar(store, &ticket, 5).await?;
    Ok((ticket, similar))
}

/// Known cases like `t`: same item, order or invoice (score 0.6 each, up to 1), plus the
/// text's full-text rank (scaled to 0..0.6); resolved cases first among equals.
pub async fn similar(
    store: &DynStore,
    t: &Ticket,
    limit: usize,
) -> Result<Vec<SimilarCase>, StoreError> {
    let mut score: BTreeMap<i64, (f64, Vec<String>)> = BTreeMap::new();
    for id in store
        .tickets_about(
            t.sku.as_deref(),
            t.order_ref.as_deref(),
            t.invoice_ref.as_deref(),
            50,
        )
        .await?
    {
        score.entry(id).or_default();
    }
    let words = terms(&format!("{} {}", t.title, t.text));
    let ranked = store.tickets_matching(&words, 50).await?;
    let best = ranked.iter().map(|(_, s)| *s).fold(0.0f64, f64::max);
    for (id, s) in ranked {
        let e = score.entry(id).or_default();
        if best > 0.0 {
            e.0 += 0.6 * (s / best);
        }
        e.1.push("similar text".into());
    }
    let mut out = Vec::new();
    for (id, (mut s, mut why)) in score {
        if id == t.id {
            continue;
        }
        let Some(other) = super::ticket::get(store, id).await? else {
            continue;
        };
        for (label, a, b) in [
            ("item", &t.sku, &other.sku),
            ("order", &t.order_ref, &other.order_ref),
            ("invoice", &t.invoice_ref, &other.invoice_ref),
        ] {
            if let (Some(a), Some(b)) = (a, b)
                && a == b
            {
                s += 0.6;
                why.insert(0, format!("same {label} {a}"));
            }
        }
        out.push(SimilarCase {
            complaint: other,
            score: (s.min(1.0) * 1000.0).round() / 1000.0,
            why,
        });
    }
    out.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| {
            let solved = |c: &SimilarCase| c.complaint.resolution.is_some();
            solved(b).cmp(&solved(a))
        })
    });
    out.truncate(limit);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_german_words_and_drops_stop_words() {
        let t = terms("Die Lieferung der Spannzangen kam beschädigt an, Verpackung eingedrückt");
        assert!(t.contains(&"spannzang".to_owned()), "{t:?}");
        assert!(
            t.contains(&"lieferung".to_owned()) || t.contains(&"liefer".to_owned()),
            "{t:?}"
        );
        assert!(!t.iter().any(|w| w == "die" || w == "der"), "{t:?}");
        // Inflected forms meet.
        assert_eq!(
            terms("beschädigte Spannzange"),
            terms("Spannzangen beschädigt")
        );
    }

    #[test]
    fn workflow() {
        assert!(
            allowed("new", "in_progress")
                && allowed("waiting", "resolved")
                && allowed("resolved", "closed")
        );
        assert!(
            !allowed("closed", "new") && !allowed("new", "closed") && !allowed("resolved", "new")
        );
    }
}
