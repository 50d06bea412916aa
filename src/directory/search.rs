//! One search box: customer number, name (typo- and umlaut-tolerant), city, postcode, VAT ID,
//! e-mail, phone, invoice or order number. Every hit says what matched.

use super::{Directory, Field};
use crate::identity::attrs::normalise_vat;
use crate::identity::normalize::{edit_distance_within, fold, koelner_phonetik, trigrams};
use crate::store::{DynStore, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What made a customer a hit.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Match {
    /// `customer_no`, `name`, `city`, `postcode`, `vat_id`, `email`, `phone`,
    /// `invoice_number`, `order_number`, `credit_note_number`, `delivery_number`.
    pub field: String,
    /// The value that matched, as stored.
    pub value: String,
    /// `exact`, `prefix`, `phonetic` (Kölner Phonetik) or `typo`.
    pub how: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub id: i64,
    pub name: Option<String>,
    /// The customer's first customer number (all are in `customer_numbers`).
    pub customer_no: Option<String>,
    /// `system:number` of every source customer.
    pub customer_numbers: Vec<String>,
    pub city: Option<String>,
    pub postcode: Option<String>,
    pub score: f64,
    pub matched_on: Vec<Match>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    pub total: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("cursor `{0}` does not belong to this search")]
    Cursor(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Scores = HashMap<u32, (f64, Vec<Match>)>;

fn add(scores: &mut Scores, entry: u32, score: f64, m: Match) {
    let e = scores.entry(entry).or_insert((0.0, Vec::new()));
    e.0 = e.0.max(score);
    if !e.1.contains(&m) {
        e.1.push(m);
    }
}

fn m(field: &str, value: &str, how: &str) -> Match {
    Match {
        field: field.to_owned(),
        value: value.to_owned(),
        how: how.to_owned(),
    }
}

fn looks_like_phone(q: &str) -> bool {
    q.chars().filter(char::is_ascii_digit).count() >= 6
        && q.chars()
            .all(|c| c.is_ascii_digit() || " +/-().".contains(c))
}

fn cursor_tag(q: &str) -> String {
    blake3::hash(q.trim().to_lowercase().as_bytes()).to_hex()[..8].to_string()
}

impl Directory {
    /// Searches; `cursor` continues an earlier page of the same query.
    pub async fn search(
        &self,
        store: &DynStore,
        q: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<SearchPage, SearchError> {
        let offset = match cursor {
            None => 0,
            Some(c) => {
                let (off, tag) = c
                    .split_once('.')
                    .ok_or_else(|| SearchError::Cursor(c.into()))?;
                if tag != cursor_tag(q) {
                    return Err(SearchError::Cursor(c.into()));
                }
                off.parse::<usize>()
                    .map_err(|_| SearchError::Cursor(c.into()))?
            }
        };
        let mut scores = self.score_local(q);
        let q = q.trim();
        if !q.is_empty() && q.len() <= 64 {
            let mut numbers = vec![q.to_owned()];
            if q.to_uppercase() != q {
                numbers.push(q.to_uppercase());
            }
            for hit in store.documents_by_number(&numbers, 50).await? {
                if let Some(idx) = self.entry_of(&hit.connector, Some(&hit.customer_no)) {
                    let field = format!("{}_number", hit.entity);
                    add(&mut scores, idx, 0.95, m(&field, &hit.number, "exact"));
                }
            }
        }
        let mut ranked: Vec<(u32, f64, Vec<Match>)> =
            scores.into_iter().map(|(e, (s, ms))| (e, s, ms)).collect();
        ranked.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| {
                    self.entries[a.0 as usize]
                        .name
                        .cmp(&self.entries[b.0 as usize].name)
                })
                .then_with(|| {
                    self.entries[a.0 as usize]
                        .id
                        .cmp(&self.entries[b.0 as usize].id)
                })
        });
        let total = ranked.len();
        let limit = limit.clamp(1, 100);
        let hits: Vec<SearchHit> = ranked
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(idx, score, matched_on)| {
                let e = &self.entries[idx as usize];
                SearchHit {
                    id: e.id,
                    name: e.name.clone(),
                    customer_no: e.keys.first().map(|k| k.customer_no.clone()),
                    customer_numbers: e.keys.iter().map(ToString::to_string).collect(),
                    city: e.city.clone(),
                    postcode: e.postcode.clone(),
                    score: (score * 1000.0).round() / 1000.0,
                    matched_on,
                }
            })
            .collect();
        let next = offset + hits.len();
        Ok(SearchPage {
            next_cursor: (next < total).then(|| format!("{next}.{}", cursor_tag(q))),
            hits,
            total,
        })
    }

    /// Scores of everything the directory itself can match.
    pub(super) fn score_local(&self, q: &str) -> Scores {
        let mut scores = Scores::new();
        let q = q.trim();
        if q.is_empty() {
            return scores;
        }
        let lower = q.to_lowercase();
        for key in [lower.clone(), normalise_vat(q).to_lowercase()] {
            for &(idx, field, value) in self.exact.get(&key).into_iter().flatten() {
                let score = if field == Field::Postcode { 0.6 } else { 1.0 };
                add(
                    &mut scores,
                    idx,
                    score,
                    m(field.as_str(), &self.values[value as usize].2, "exact"),
                );
            }
        }
        if looks_like_phone(q)
            && let Ok(found) = self.lookup_phone(q)
        {
            for c in found.candidates {
                if let Some(&idx) = self.by_id.get(&c.customer_id) {
                    add(
                        &mut scores,
                        idx,
                        c.confidence,
                        m("phone", &c.matched_number, &c.matched),
                    );
                }
            }
        }
        let tokens: Vec<String> = fold(q)
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if tokens.is_empty() || tokens.len() > 8 {
            return scores;
        }
        // Per token: entry → (score, value, how).
        let per_token: Vec<HashMap<u32, (f64, u32, &'static str)>> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| self.token_matches(t, i + 1 == tokens.len()))
            .collect();
        let all: Vec<u32> = per_token[0]
            .keys()
            .filter(|e| per_token.iter().all(|p| p.contains_key(e)))
            .copied()
            .collect();
        for e in all {
            let mut total = 0.0;
            let mut matches: BTreeMap<u32, &str> = BTreeMap::new();
            for p in &per_token {
                let (s, value, how) = p[&e];
                total += s;
                matches.entry(value).or_insert(how);
            }
            let score = total / per_token.len() as f64;
            for (value, how) in matches {
                let (_, field, text) = &self.values[value as usize];
                add(&mut scores, e, score, m(field.as_str(), text, how));
            }
        }
        scores
    }

    /// Entries a query word matches: exact word, prefix (the last word, as typed), Kölner
    /// Phonetik, or up to one typo (two for long words).
    fn token_matches(&self, token: &str, last: bool) -> HashMap<u32, (f64, u32, &'static str)> {
        let mut out: HashMap<u32, (f64, u32, &'static str)> = HashMap::new();
        let mut take = |term: u32, score: f64, how: &'static str| {
            for &(e, field, value) in &self.terms[term as usize].postings {
                let s = if field == Field::Name {
                    score
                } else {
                    score * 0.9
                };
                let cur = out.entry(e).or_insert((0.0, value, how));
                if s > cur.0 {
                    *cur = (s, value, how);
                }
            }
        };
        if let Some(&id) = self.term_ids.get(token) {
            take(id, 1.0, "exact");
        }
        if last && token.chars().count() >= 2 {
            for (text, &id) in self.term_ids.range(token.to_owned()..).take(2000) {
                if !text.starts_with(token) {
                    break;
                }
                if text != token {
                    take(id, 0.9, "prefix");
                }
            }
        }
        let len = token.chars().count();
        if len >= 3 {
            let code = koelner_phonetik(token);
            for &id in self.phonetic_index.get(&code).into_iter().flatten() {
                take(id, 0.85, "phonetic");
            }
        }
        if len >= 4 {
            let max = if len >= 8 { 2 } else { 1 };
            let grams = trigrams(token);
            let mut shared: HashMap<u32, usize> = HashMap::new();
            for g in &grams {
                for &id in self.trigram_index.get(g).into_iter().flatten() {
                    *shared.entry(id).or_default() += 1;
                }
            }
            // A word within `max` edits shares all but 3·max of its trigrams.
            let need = grams.len().saturating_sub(3 * max).max(1);
            for (id, n) in shared {
                if n < need {
                    continue;
                }
                if let Some(dist) = edit_distance_within(token, &self.terms[id as usize].text, max)
                    && dist > 0
                {
                    take(id, 0.8 - 0.05 * dist as f64, "typo");
                }
            }
        }
        out
    }
}
