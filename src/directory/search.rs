//! One search box: customer number, name (typo- and umlaut-tolerant), city, postcode, VAT ID,
//! e-mail, phone, invoice or order number. Every hit says what matched.

use super::{At, Directory, Field, Index, Posting};
use crate::identity::attrs::normalise_vat;
use crate::identity::normalize::{edit_distance_within, fold, koelner_phonetik, trigrams};
use crate::store::{DynStore, StoreError};
use serde::Serialize;
use std::collections::HashMap;

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
    /// `customer`, `supplier` or both (a party that is also our supplier).
    pub roles: Vec<String>,
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

/// What matched, cheap to keep for every candidate: a stored value by index, or a text of
/// its own (phone numbers, document numbers). Only the returned page becomes [`Match`]es.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum MatchRef {
    Value(u32, &'static str),
    Text(String, String, String),
}

pub(super) type Scores = HashMap<At, (f64, Vec<MatchRef>)>;

fn add(scores: &mut Scores, entry: At, score: f64, m: MatchRef) {
    let e = scores.entry(entry).or_insert((0.0, Vec::new()));
    e.0 = e.0.max(score);
    if !e.1.contains(&m) {
        e.1.push(m);
    }
}

fn text(field: &str, value: &str, how: &str) -> MatchRef {
    MatchRef::Text(field.to_owned(), value.to_owned(), how.to_owned())
}

/// Stored numbers a search for the start of a number lists at most.
const PHONE_PREFIX_HITS: usize = 50;

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
        // Document numbers have digits; other queries need no database.
        if !q.is_empty() && q.len() <= 64 && q.bytes().any(|b| b.is_ascii_digit()) {
            let mut numbers = vec![q.to_owned()];
            if q.to_uppercase() != q {
                numbers.push(q.to_uppercase());
            }
            for hit in store.documents_by_number(&numbers, 50).await? {
                if let Some(idx) = self.entry_of(&hit.connector, Some(&hit.customer_no)) {
                    let field = format!("{}_number", hit.entity);
                    add(&mut scores, idx, 0.95, text(&field, &hit.number, "exact"));
                }
            }
        }
        let mut ranked: Vec<(At, f64, Vec<MatchRef>)> =
            scores.into_iter().map(|(e, (s, ms))| (e, s, ms)).collect();
        let order = |a: &(At, f64, Vec<MatchRef>), b: &(At, f64, Vec<MatchRef>)| {
            let (ea, eb) = (self.slot(a.0), self.slot(b.0));
            b.1.total_cmp(&a.1)
                .then_with(|| self.name_of(a.0).cmp(&self.name_of(b.0)))
                .then_with(|| ea.id.cmp(&eb.id))
        };
        let total = ranked.len();
        let limit = limit.clamp(1, 100);
        // Only the hits up to this page need sorting.
        let want = offset.saturating_add(limit).min(total);
        if want < total {
            ranked.select_nth_unstable_by(want, order);
            ranked.truncate(want);
        }
        ranked.sort_by(order);
        let hits: Vec<SearchHit> = ranked
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(at, score, matched_on)| {
                let (ix, e) = (self.index(at.delta), self.slot(at));
                let keys = self.key_ids(at);
                SearchHit {
                    id: e.id,
                    name: ix.opt_text(e.name),
                    customer_no: keys.first().map(|k| k.customer_no.clone()),
                    customer_numbers: keys.iter().map(ToString::to_string).collect(),
                    city: ix.opt_text(e.city),
                    postcode: ix.opt_text(e.postcode),
                    score: (score * 1000.0).round() / 1000.0,
                    matched_on: matched_on.iter().map(|m| ix.materialize(m)).collect(),
                    roles: self.roles_of(at),
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

    /// Scores of everything the directory itself can match, in both indexes (of the base
    /// only what is shown).
    pub(super) fn score_local(&self, q: &str) -> Scores {
        let mut scores = Scores::new();
        let q = q.trim();
        if q.is_empty() {
            return scores;
        }
        for delta in [false, true] {
            self.index(delta).score_exact(q, &mut |idx, score, m| {
                let at = At { delta, idx };
                if self.live(at) {
                    add(&mut scores, at, score, m);
                }
            });
        }
        if looks_like_phone(q)
            && let Ok(found) = self.lookup_phone(q)
        {
            // The start of a number (`0221 4711`): every stored number beginning with it.
            if found.candidates.is_empty() {
                for (number, ats) in self.phones_starting(&found.number, PHONE_PREFIX_HITS) {
                    let number = super::phone::decode(number);
                    for at in ats {
                        add(&mut scores, at, 0.7, text("phone", &number, "prefix"));
                    }
                }
            }
            for c in found.candidates {
                if let Some(at) = self.find(c.customer_id) {
                    add(
                        &mut scores,
                        at,
                        c.confidence,
                        text("phone", &c.matched_number, &c.matched),
                    );
                }
            }
        }
        // Whether a word is one a shown entry has (then no typos of it are looked for): in
        // both indexes, as one index loaded anew would say.
        let known = |word: &str| {
            [false, true].into_iter().any(|delta| {
                let ix = self.index(delta);
                ix.term_of(word).is_some_and(|t| {
                    ix.term_postings_of(t).iter().any(|p| {
                        self.live(At {
                            delta,
                            idx: p.entry,
                        })
                    })
                })
            })
        };
        for delta in [false, true] {
            self.index(delta)
                .score_words(q, &known, &mut |idx, score, m| {
                    let at = At { delta, idx };
                    if self.live(at) {
                        add(&mut scores, at, score, m);
                    }
                });
        }
        scores
    }
}

/// Where an index's scoring reports a hit: entry, score, what matched.
type Hit<'a> = &'a mut dyn FnMut(u32, f64, MatchRef);

impl Index {
    pub(super) fn materialize(&self, m: &MatchRef) -> Match {
        match m {
            MatchRef::Value(v, how) => {
                let value = &self.values[*v as usize];
                Match {
                    field: value.field.as_str().to_owned(),
                    value: self.text(value.text).to_owned(),
                    how: (*how).to_owned(),
                }
            }
            MatchRef::Text(field, value, how) => Match {
                field: field.clone(),
                value: value.clone(),
                how: how.clone(),
            },
        }
    }

    /// Exact identifiers: customer numbers, postcodes, VAT IDs, e-mails (`q` trimmed).
    fn score_exact(&self, q: &str, hit: Hit<'_>) {
        let lower = q.to_lowercase();
        for key in [lower, normalise_vat(q).to_lowercase()] {
            let Some(key) = self.strings.get(&key) else {
                continue;
            };
            for (_, p) in &self.exact[Self::equal_range(&self.exact, &key, |e| e.0)] {
                let score = if p.field == Field::Postcode { 0.6 } else { 1.0 };
                hit(p.entry, score, MatchRef::Value(p.value, "exact"));
            }
        }
    }

    /// Words of names and cities: every word of `q` must match (`q` trimmed). `known`: whether
    /// a word is a word of the directory's shown entries.
    fn score_words(&self, q: &str, known: &dyn Fn(&str) -> bool, hit: Hit<'_>) {
        let tokens: Vec<String> = fold(q)
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if tokens.is_empty() || tokens.len() > 8 {
            return;
        }
        // Per token its matching terms; the token with the fewest postings drives, the
        // others only confirm its entries (all words must match).
        let per_token: Vec<Vec<(u32, f64, &'static str)>> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| self.token_terms(t, i + 1 == tokens.len(), known(t)))
            .collect();
        let postings = |terms: &[(u32, f64, &str)]| -> usize {
            terms
                .iter()
                .map(|(t, _, _)| self.term_postings_of(*t).len())
                .sum()
        };
        let Some(driver) = (0..per_token.len()).min_by_key(|&i| postings(&per_token[i])) else {
            return;
        };
        let mut found: HashMap<u32, Vec<(f64, u32, &'static str)>> = self
            .entries_of::<()>(&per_token[driver], None)
            .into_iter()
            .map(|(e, m)| (e, vec![m]))
            .collect();
        for (i, terms) in per_token.iter().enumerate() {
            if i == driver {
                continue;
            }
            let matched = self.entries_of(terms, Some(&found));
            found.retain(|e, _| matched.contains_key(e));
            for (e, m) in matched {
                if let Some(list) = found.get_mut(&e) {
                    list.push(m);
                }
            }
        }
        for (e, ms) in found {
            let score = ms.iter().map(|m| m.0).sum::<f64>() / ms.len() as f64;
            let mut seen = Vec::new();
            for (_, value, how) in ms {
                if seen.contains(&value) {
                    continue;
                }
                seen.push(value);
                hit(e, score, MatchRef::Value(value, how));
            }
        }
    }

    /// The term that is exactly `word`.
    fn term_of(&self, word: &str) -> Option<u32> {
        let first = self.terms.partition_point(|t| self.text(*t) < word);
        self.terms
            .get(first)
            .filter(|t| self.text(**t) == word)
            .map(|_| first as u32)
    }

    fn term_postings_of(&self, term: u32) -> &[Posting] {
        let t = term as usize;
        &self.postings[self.term_postings[t] as usize..self.term_postings[t + 1] as usize]
    }

    /// The terms with trigram `gram`.
    fn gram_terms_of(&self, gram: u64) -> &[u32] {
        match self.grams.binary_search(&gram) {
            Ok(g) => &self.gram_terms[self.gram_start[g] as usize..self.gram_start[g + 1] as usize],
            Err(_) => &[],
        }
    }

    /// Best match per entry of a word's terms (only among `within` when given).
    fn entries_of<T>(
        &self,
        terms: &[(u32, f64, &'static str)],
        within: Option<&HashMap<u32, T>>,
    ) -> HashMap<u32, (f64, u32, &'static str)> {
        let mut out: HashMap<u32, (f64, u32, &'static str)> = HashMap::new();
        for &(term, score, how) in terms {
            for &Posting {
                entry: e,
                field,
                value,
            } in self.term_postings_of(term)
            {
                if within.is_some_and(|w| !w.contains_key(&e)) {
                    continue;
                }
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
        }
        out
    }

    /// Terms a query word matches: the word itself, words it begins (the last word, as
    /// typed), words that sound the same (Kölner Phonetik), and, when the word is not known
    /// as such, words within one typo (two for long words).
    fn token_terms(&self, token: &str, last: bool, known: bool) -> Vec<(u32, f64, &'static str)> {
        let mut out: HashMap<u32, (f64, &'static str)> = HashMap::new();
        let mut take = |term: u32, score: f64, how: &'static str| {
            let cur = out.entry(term).or_insert((score, how));
            if score > cur.0 {
                *cur = (score, how);
            }
        };
        let first = self.terms.partition_point(|t| self.text(*t) < token);
        let exact = self
            .terms
            .get(first)
            .filter(|t| self.text(**t) == token)
            .map(|_| first as u32);
        if let Some(id) = exact {
            take(id, 1.0, "exact");
        }
        if last && token.chars().count() >= 2 {
            for (id, t) in self.terms.iter().enumerate().skip(first).take(2000) {
                let text = self.text(*t);
                if !text.starts_with(token) {
                    break;
                }
                if text != token {
                    take(id as u32, 0.9, "prefix");
                }
            }
        }
        let len = token.chars().count();
        if len >= 3 {
            let code = koelner_phonetik(token);
            // A code of vowels only ("aaaaaaaaaa" → 0) sounds like every vowel-led name.
            let sounds = code.chars().filter(|c| *c != '0').count() > 0;
            if let Some(code) = self.strings.get(&code).filter(|_| sounds) {
                for &(_, id) in &self.phonetic[Self::equal_range(&self.phonetic, &code, |p| p.0)] {
                    take(id, 0.85, "phonetic");
                }
            }
        }
        if len >= 4 && !known {
            let max = if len >= 8 { 2 } else { 1 };
            let grams = trigrams(token);
            let mut shared: HashMap<u32, usize> = HashMap::new();
            for g in &grams {
                for &id in self.gram_terms_of(super::build::gram(g)) {
                    *shared.entry(id).or_default() += 1;
                }
            }
            // A word within `max` edits shares all but 3·max of its trigrams.
            let need = grams.len().saturating_sub(3 * max).max(1);
            for (id, n) in shared {
                if n < need {
                    continue;
                }
                if let Some(dist) =
                    edit_distance_within(token, self.text(self.terms[id as usize]), max)
                    && dist > 0
                {
                    take(id, 0.8 - 0.05 * dist as f64, "typo");
                }
            }
        }
        out.into_iter().map(|(t, (s, h))| (t, s, h)).collect()
    }
}
