//! Store side of identity resolution, the merged view and API tokens: the same SQL on both
//! backends (`$N` placeholders work on SQLite too), written once by [`identity_store!`].

use super::{StoreError, StoredRecord};
use crate::identity::attrs::CustomerRow;
use crate::identity::{Decision, DecisionKind, KeyId, MatchedOn, NewSuggestion};
use crate::model::typed::{Customer, Record};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Makes the next resolution run whatever its inputs say: for a change of the records that
/// carries no run id (an erasure, a connector renamed or retired) and for ops decisions.
pub(crate) const INPUTS_STALE: &str =
    "UPDATE identity_state SET inputs = NULL, inputs_epoch = inputs_epoch + 1 WHERE id = 1";

/// With an erasure: no fingerprint of what a person's records said stays behind (the next
/// resolution, which the erasure makes run ([`INPUTS_STALE`]), writes them again).
pub(crate) const ATTRS_FORGOTTEN: &str =
    "UPDATE customer_keys SET attrs = NULL WHERE attrs IS NOT NULL";

/// A source customer's place as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRow {
    pub key: KeyId,
    pub customer_id: i64,
    pub home_id: i64,
    pub rule: String,
    pub matched_on: Option<MatchedOn>,
    /// The fingerprint of what its party records said at the resolution
    /// ([`crate::identity::SourceCustomer::fingerprint`]); `None`: not known.
    pub attrs: Option<i64>,
}

/// Everything a resolution reads, as of one generation.
#[derive(Debug, Clone, Default)]
pub struct IdentitySnapshot {
    pub generation: i64,
    pub keys: Vec<KeyRow>,

    /// Runs after this id and up to `scan_to` are what this pass scans (all with `rescan`).
    pub scan_from: i64,
    /// Runs up to this id are scanned once the changes are applied.
    pub scan_to: i64,
    /// Whether the scanned runs wrote records with a customer number: the source customers
    /// they name are read by [`IdentityStore::doc_keys_of`] (those a resolution compares) or
    /// written by [`NewSingletons`] (all others), never all held in memory.
    pub docs: bool,
    /// connector → system as of the last resolution.
    pub systems: BTreeMap<String, String>,
    pub decisions: Vec<Decision>,
    pub aliases: BTreeMap<i64, i64>,
    /// The largest customer id ever given.
    pub max_id: i64,
    /// How many changes outside runs (erasures, decisions, renamed or retired connectors) the
    /// store had seen when this was read ([`INPUTS_STALE`]).
    pub inputs_epoch: i64,
    /// Open and obsolete suggestions (decided ones stay as they are).
    pub suggestions: Vec<(i64, NewSuggestion, String)>,
}

/// What a resolution writes; applied only if the generation did not move meanwhile.
#[derive(Debug, Clone, Default)]
pub struct IdentityChanges {
    pub generation: i64,
    pub scan_to: i64,
    /// Replaces connector → system when set.
    pub systems: Option<BTreeMap<String, String>>,
    pub upsert: Vec<KeyRow>,
    pub delete: Vec<KeyId>,
    pub alias_upsert: Vec<(i64, i64)>,
    pub alias_delete: Vec<i64>,
    /// New suggestions (a pair decided already is left as it is).
    pub suggestion_insert: Vec<NewSuggestion>,
    /// Suggestions found again, changed or obsolete before: open with these values.
    pub suggestion_update: Vec<(i64, NewSuggestion)>,
    /// Open suggestions not found any more.
    pub suggestion_obsolete: Vec<i64>,
    /// Nothing changes but the scan position ([`IdentityChanges::is_noop`]): the generation
    /// stays.
    pub noop: bool,
    /// The fingerprint of what the resolution was given besides the records
    /// ([`IdentityStore::identity_unchanged`]); recorded only if no change outside runs came
    /// after the snapshot's `inputs_epoch`.
    pub inputs: Option<String>,
    pub inputs_epoch: i64,
    /// The customer numbers of the scanned runs' records that no key and no party record
    /// names yet (a document's customer number): each becomes a customer of its own, written
    /// set-based after `upsert`.
    pub singletons: Option<NewSingletons>,
}

/// The source customers known only from documents of the scanned runs, neither stored as
/// keys nor named by a party record, a cross-reference row or a decision: nothing can join
/// them to another customer, so each is one of its own (rule `anchor`, its own first id). The
/// store writes them in one statement after the resolution's keys, so a first sync of
/// 100 000 customer numbers holds none of them in memory. Their ids follow the largest id
/// given so far (keys and aliases, the resolution's included, and `floor`), in the byte
/// order of system and number.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSingletons {
    /// The scanned runs: after `from`, up to the changes' `scan_to`.
    pub from: i64,
    /// connector → system of the configured connectors (others' records are not read).
    pub systems: BTreeMap<String, String>,
    /// No id below this one: the first id the resolution read as never given (the keys it
    /// deletes and the ids it turns into aliases included), so none of theirs is given again.
    pub floor: i64,
}

impl IdentityChanges {
    /// Whether applying these changes changes nothing a reader sees: no keys, aliases,
    /// suggestions or systems, and no customer numbers in the documents synced since the
    /// last scan (records whose customers the directory may show differently). Then the
    /// generation stays (the directories do not reload); only the scan position moves.
    pub fn is_noop(&self, snap: &IdentitySnapshot) -> bool {
        self.systems.is_none()
            && self.upsert.is_empty()
            && self.delete.is_empty()
            && self.alias_upsert.is_empty()
            && self.alias_delete.is_empty()
            && self.suggestion_insert.is_empty()
            && self.suggestion_update.is_empty()
            && self.suggestion_obsolete.is_empty()
            && !snap.docs
    }
}

/// A stored suggestion, with the customers its two sides belong to now; a listing shows
/// [`crate::identity::triage::Suggestion`].
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestionRow {
    pub id: i64,
    pub a: KeyId,
    pub b: KeyId,
    pub a_customer_id: Option<i64>,
    pub b_customer_id: Option<i64>,
    pub score: f64,
    pub rule: String,
    pub reason: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// A system a connector's source named itself (`datev:<Berater>:<Mandant>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSystem {
    pub connector: String,
    pub system: String,
    /// The unit (file) that named it first.
    pub label: String,
}

/// Two connectors whose records carry the same customer numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedNumbers {
    pub a: String,
    pub b: String,
    pub count: u64,
    pub example: String,
}

/// A document found by its number.
#[derive(Debug, Clone)]
pub struct DocumentHit {
    pub connector: String,
    pub entity: String,
    pub number: String,
    pub customer_no: String,
}

/// An API token as stored (the token itself is never stored, only its hash).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: String,
    /// The team the token works for (recorded with the contacts it logs).
    pub team: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn identity_snapshot(&self, rescan: bool) -> Result<IdentitySnapshot, StoreError>;
    /// Writes a resolution; `None` when another resolution was applied since the snapshot,
    /// else the number of [`NewSingletons`] written.
    async fn apply_identity(&self, changes: &IdentityChanges) -> Result<Option<u64>, StoreError>;
    /// Ops' decisions (links and unlinks), in the order they were taken.
    async fn decisions(&self) -> Result<Vec<Decision>, StoreError>;
    /// (connector, customer number) of the records of runs after `from` up to `to` with one of
    /// these customer numbers (the numbers a cross-reference row or a decision names).
    async fn doc_keys_of(
        &self,
        from: i64,
        to: i64,
        numbers: &[String],
    ) -> Result<Vec<(String, String)>, StoreError>;
    async fn identity_generation(&self) -> Result<i64, StoreError>;
    /// The store's generation and the customers whose directory entries changed in the
    /// generations after `since`; `None` when the store cannot name them all (a node then
    /// loads everything; see `store/identity/directory.rs`).
    async fn directory_changes(&self, since: i64) -> Result<Option<DirectoryChanges>, StoreError>;
    /// The keys of these customers, in the order of [`IdentityStore::customer_keys`].
    async fn customer_keys_of(&self, customers: &[i64]) -> Result<Vec<KeyRow>, StoreError>;
    /// [`IdentityStore::each_customer_row`] of these customers' keys only (per customer in
    /// the same order).
    async fn each_customer_row_of(
        &self,
        entity: &str,
        customers: &[i64],
        f: &mut (dyn FnMut(CustomerRow) + Send),
    ) -> Result<(), StoreError>;
    /// What a resolution given `inputs` would find new ([`IdentityDelta`]): a few index
    /// lookups, whatever the number of records.
    async fn identity_delta(&self, inputs: &str) -> Result<IdentityDelta, StoreError>;
    /// The stored fingerprints ([`KeyRow::attrs`]) of these keys; a key not stored is left out.
    async fn key_attrs(&self, keys: &[KeyId]) -> Result<Vec<(KeyId, Option<i64>)>, StoreError>;
    /// The open records of `entity` of these (connector, customer number) pairs, read as
    /// [`IdentityStore::each_customer_row`] reads them and, per customer number, in its order.
    async fn customer_rows_of(
        &self,
        entity: &str,
        pairs: &[(String, String)],
    ) -> Result<Vec<CustomerRow>, StoreError>;
    /// Whether a resolution given `inputs` would find nothing new: the last one was given the
    /// same, no run it did not scan wrote or closed a record, and nothing else changed records
    /// or decisions since.
    async fn identity_unchanged(&self, inputs: &str) -> Result<bool, StoreError> {
        Ok(self.identity_delta(inputs).await? == IdentityDelta::Unchanged)
    }
    async fn record_decisions(
        &self,
        add: &[Decision],
        remove: &[Decision],
    ) -> Result<(), StoreError>;
    async fn suggestions(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SuggestionRow>, StoreError>;
    async fn suggestion(&self, id: i64) -> Result<Option<SuggestionRow>, StoreError>;
    async fn set_suggestion_status(&self, id: i64, status: &str) -> Result<(), StoreError>;
    async fn customer_keys(&self) -> Result<Vec<KeyRow>, StoreError>;
    /// Open records of `entity` (`customer`, `contact_person`), read compactly row by row.
    async fn customer_rows(&self, entity: &str) -> Result<Vec<CustomerRow>, StoreError> {
        let mut out = Vec::new();
        self.each_customer_row(entity, &mut |r| out.push(r)).await?;
        Ok(out)
    }
    /// The same, one at a time (constant memory).
    async fn each_customer_row(
        &self,
        entity: &str,
        f: &mut (dyn FnMut(CustomerRow) + Send),
    ) -> Result<(), StoreError>;
    async fn keys_of(&self, customer_id: i64) -> Result<Vec<KeyRow>, StoreError>;
    /// The id an alias was merged into.
    async fn alias_target(&self, id: i64) -> Result<Option<i64>, StoreError>;
    /// Every record of a customer's keys (through the connectors of their systems).
    async fn records_of(&self, pairs: &[(String, String)])
    -> Result<Vec<StoredRecord>, StoreError>;
    /// (entity, external id, hash, closed) of every record of a connector.
    async fn record_hashes(
        &self,
        connector: &str,
    ) -> Result<Vec<(String, String, String, bool)>, StoreError>;
    /// Records of these entities whose reference number is one of `refs`.
    async fn records_by_ref(
        &self,
        entities: &[&str],
        refs: &[String],
    ) -> Result<Vec<StoredRecord>, StoreError>;
    /// Documents (invoice, credit note, order, delivery) with exactly this number.
    async fn documents_by_number(
        &self,
        numbers: &[String],
        limit: i64,
    ) -> Result<Vec<DocumentHit>, StoreError>;
    /// connector → system as of the last resolution.
    async fn connector_systems(&self) -> Result<BTreeMap<String, String>, StoreError>;
    /// Per connector, when its last successful (ok or partial) run finished.
    async fn last_successes(&self) -> Result<BTreeMap<String, DateTime<Utc>>, StoreError>;

    // --- systems the sources name themselves
    /// Notes that a unit of `connector` names its system (a DATEV header); the first stays.
    async fn note_source_system(
        &self,
        connector: &str,
        system: &str,
        label: &str,
    ) -> Result<(), StoreError>;
    /// Every system noted, per connector oldest first.
    async fn source_systems(&self) -> Result<Vec<SourceSystem>, StoreError>;
    /// Pairs of connectors whose open records share customer numbers.
    async fn shared_customer_numbers(&self) -> Result<Vec<SharedNumbers>, StoreError>;

    // --- API tokens
    async fn create_token(
        &self,
        name: &str,
        role: &str,
        team: Option<&str>,
        hash: &str,
    ) -> Result<(), StoreError>;
    async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;
    /// Active tokens by hash.
    async fn active_tokens(&self) -> Result<Vec<(String, TokenInfo)>, StoreError>;
    async fn revoke_token(&self, name: &str) -> Result<bool, StoreError>;
}

/// Rows per multi-row statement.
const CHUNK: usize = 400;

/// `(system = $a AND customer_no = $b) OR …` for `n` keys, from parameter `$start` on.
pub(crate) fn key_pairs(start: usize, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "(system = ${} AND customer_no = ${})",
                start + 2 * i,
                start + 2 * i + 1
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

pub(crate) fn in_list(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn matched_json(m: &Option<MatchedOn>) -> Option<String> {
    m.as_ref().and_then(|m| serde_json::to_string(m).ok())
}

fn decision_kind(s: &str) -> Result<DecisionKind, sqlx::Error> {
    DecisionKind::parse(s).ok_or_else(|| sqlx::Error::Decode(format!("decision `{s}`").into()))
}

macro_rules! key_row {
    ($r:expr) => {{
        use sqlx::Row;
        let r = $r;
        (|| -> Result<KeyRow, sqlx::Error> {
            let matched: Option<String> = r.try_get("matched_on")?;
            Ok(KeyRow {
                key: KeyId::new(
                    r.try_get::<String, _>("system")?,
                    r.try_get::<String, _>("customer_no")?,
                ),
                customer_id: r.try_get("customer_id")?,
                home_id: r.try_get("home_id")?,
                rule: r.try_get("rule")?,
                matched_on: matched.and_then(|m| serde_json::from_str(&m).ok()),
                attrs: r.try_get("attrs")?,
            })
        })()
    }};
}

macro_rules! suggestion {
    ($r:expr) => {{
        use sqlx::Row;
        let r = $r;
        (|| -> Result<SuggestionRow, sqlx::Error> {
            Ok(SuggestionRow {
                id: r.try_get("id")?,
                a: KeyId::new(
                    r.try_get::<String, _>("a_system")?,
                    r.try_get::<String, _>("a_no")?,
                ),
                b: KeyId::new(
                    r.try_get::<String, _>("b_system")?,
                    r.try_get::<String, _>("b_no")?,
                ),
                a_customer_id: r.try_get("a_customer_id")?,
                b_customer_id: r.try_get("b_customer_id")?,
                score: r.try_get("score")?,
                rule: r.try_get("rule")?,
                reason: r.try_get("reason")?,
                status: r.try_get("status")?,
                created_at: r.try_get("created_at")?,
            })
        })()
    }};
}

/// A [`CustomerRow`] of a row `connector, entity, customer_no, synced_at, data`.
macro_rules! customer_row {
    ($r:expr) => {{
        use sqlx::Row;
        let r = $r;
        (|| -> Result<CustomerRow, sqlx::Error> {
            let data: &str = r.try_get("data")?;
            Ok(CustomerRow {
                connector: r.try_get("connector")?,
                entity: r.try_get("entity")?,
                customer_no: r.try_get("customer_no")?,
                synced_at: r.try_get("synced_at")?,
                data: Customer::of_text(data).unwrap_or_default(),
            })
        })()
    }};
}

mod apply;
mod delta;
pub(crate) mod directory;
mod sql;

pub use delta::IdentityDelta;
pub use directory::DirectoryChanges;
