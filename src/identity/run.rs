//! Resolution against the store: read a snapshot, resolve, write what changed. Runs after
//! every sync and after every ops decision; two resolutions at once (two nodes) are kept
//! apart by the store's generation counter: the later one reads again.

use super::attrs::SourceCustomer;
use super::resolve::{ResolveInput, ResolveOptions, resolve};
use super::{KeyId, NewSuggestion, PrevKey, xref};
use crate::config::Config;
use crate::diag::Diagnostic;
use crate::store::{DynStore, IdentityChanges, IdentityDelta, KeyRow, NewSingletons, StoreError};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Xref(Diagnostic),
    #[error("identity resolution kept meeting concurrent resolutions; try again")]
    Busy,
    #[error("{0}")]
    Invalid(String),
}

/// What a resolution did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ResolveSummary {
    pub customers: usize,
    pub source_customers: usize,
    /// Keys whose customer or explanation changed.
    pub changed: usize,
    pub suggestions: usize,
    pub ambiguous: usize,
    /// Addresses and phones not taken as evidence: generic (shared by more than
    /// `[identity] generic_after` numbers of one system, role addresses) or ignored.
    pub generic: usize,
    pub generation: i64,
}

/// connector → system of the configured connectors: the configured `system`; without one,
/// the system the connector's files named first (a DATEV EXTF header:
/// `datev:<Berater>:<Mandant>`, see [`crate::store::IdentityStore::source_systems`]), else the
/// connector's name.
pub fn systems_of(cfg: &Config, named: &[crate::store::SourceSystem]) -> BTreeMap<String, String> {
    cfg.connectors
        .iter()
        .map(|c| {
            let system = match named.iter().find(|n| n.connector == c.name) {
                Some(n) if !c.system_set => n.system.clone(),
                _ => c.system.clone(),
            };
            (c.name.clone(), system)
        })
        .collect()
}

/// The same, with the named systems read from the store.
pub async fn systems(
    store: &DynStore,
    cfg: &Config,
) -> Result<BTreeMap<String, String>, StoreError> {
    Ok(systems_of(cfg, &store.source_systems().await?))
}

/// The rows of every configured cross-reference file.
pub fn load_xref(cfg: &Config) -> Result<Vec<Vec<KeyId>>, IdentityError> {
    let mut rows = Vec::new();
    for x in &cfg.identity.xref {
        rows.extend(xref::load(&cfg.path(x), x).map_err(IdentityError::Xref)?);
    }
    Ok(rows)
}

pub fn options(cfg: &Config) -> ResolveOptions {
    ResolveOptions {
        rules: cfg.identity.rules.clone(),
        suggest_threshold: cfg.identity.suggest_threshold,
        generic_after: cfg.identity.generic_after,
        ignore: cfg.identity.ignored_values(),
        ..ResolveOptions::default()
    }
}

/// What a resolution is given besides the records: the connectors' systems, the
/// cross-reference rows, the settings and the retired connectors — and their fingerprint.
struct Inputs {
    systems: BTreeMap<String, String>,
    xref: Vec<Vec<KeyId>>,
    opts: ResolveOptions,
    retired: BTreeSet<String>,
    fingerprint: String,
}

impl Inputs {
    async fn read(store: &DynStore, cfg: &Config) -> Result<Inputs, IdentityError> {
        let systems = systems(store, cfg).await?;
        let xref = load_xref(cfg)?;
        let opts = options(cfg);
        let retired: BTreeSet<String> = store.retired_connectors().await?.into_iter().collect();
        // The release too: a newer kontor may resolve differently.
        let text = format!(
            "{}\n{opts:?}\n{systems:?}\n{xref:?}\n{retired:?}",
            env!("CARGO_PKG_VERSION")
        );
        let fingerprint = blake3::hash(text.as_bytes()).to_hex().to_string();
        Ok(Inputs {
            systems,
            xref,
            opts,
            retired,
            fingerprint,
        })
    }
}

/// Resolves the store's source customers and writes the result.
pub async fn resolve_store(
    store: &DynStore,
    cfg: &Config,
) -> Result<ResolveSummary, IdentityError> {
    let inputs = Inputs::read(store, cfg).await?;
    resolve_with(store, &inputs).await
}

/// What [`resolve_changed`] did.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// Nothing a resolution reads changed since the last one; nothing was read but the
    /// store's identity state.
    Unchanged,
    /// The runs since wrote or closed records, but nothing a resolution compares: documents
    /// of customer numbers resolved already or that nothing names, party records whose names,
    /// identifiers and postcodes are what they were. No resolution ran (it would come out the same); the scan
    /// position moved on, and the generation too (the directories reload) when party or
    /// contact-person records were written or closed — not for documents alone, which the
    /// directory does not show.
    Kept {
        /// Records the runs wrote or closed.
        records: i64,
        /// Customer numbers the runs brought that nothing joins to another customer (no
        /// party record, cross-reference row or decision names them): each is a customer
        /// of its own now, written without a resolution ([`NewSingletons`]).
        new_customers: u64,
    },
    /// A resolution ran.
    Resolved(ResolveSummary),
}

/// After a sync: resolves only when something a resolution reads changed since the last one
/// — what a party record says about who a customer is (a name, VAT ID, GLN, e-mail, phone or
/// postcode), a customer number not resolved yet, an erasure, a decision, a
/// connector renamed or retired, the identity settings, systems or cross-reference files.
/// Otherwise it costs what the runs wrote, not what is stored: a sync that changed nothing,
/// or brought 100 invoices, or 100 customers' new payment terms, costs the same at 100 and
/// at 1 000 000 customers.
pub async fn resolve_changed(store: &DynStore, cfg: &Config) -> Result<Resolved, IdentityError> {
    let inputs = Inputs::read(store, cfg).await?;
    match store.identity_delta(&inputs.fingerprint).await? {
        IdentityDelta::Unchanged => {
            tracing::debug!("identity: nothing changed since the last resolution");
            return Ok(Resolved::Unchanged);
        }
        IdentityDelta::Changed {
            generation,
            scan_from,
            scan_to,
            inputs_epoch,
            records,
            parties,
            directory,
            unknown,
        } if parties_as_resolved(store, &inputs.systems, &parties).await?
            && !(unknown && new_numbers_named(store, &inputs, scan_from, scan_to).await?) =>
        {
            let changes = IdentityChanges {
                generation,
                scan_to,
                inputs: Some(inputs.fingerprint.clone()),
                inputs_epoch,
                // Documents of known customers alone: the generation stays, no directory
                // reloads.
                noop: !directory && !unknown,
                // New customer numbers nothing names: customers of their own.
                singletons: unknown.then(|| NewSingletons {
                    from: scan_from,
                    systems: inputs.systems.clone(),
                    // (This pass deletes no key and makes no alias.)
                    floor: 0,
                }),
                ..IdentityChanges::default()
            };
            if let Some(new_customers) = store.apply_identity(&changes).await? {
                tracing::debug!(
                    records,
                    new_customers,
                    "identity: nothing it compares changed"
                );
                return Ok(Resolved::Kept {
                    records,
                    new_customers,
                });
            }
            // Another resolution came first, or an erasure or decision came after the delta
            // was read: resolve as of now.
        }
        IdentityDelta::Changed { .. } | IdentityDelta::Resolve => {}
    }
    resolve_with(store, &inputs).await.map(Resolved::Resolved)
}

/// The customer numbers cross-reference rows and decisions name (any system).
fn named_numbers(xref: &[Vec<KeyId>], decisions: &[super::Decision]) -> Vec<String> {
    let named: BTreeSet<&str> = xref
        .iter()
        .flatten()
        .chain(decisions.iter().flat_map(|d| [&d.a, &d.b]))
        .map(|k| k.customer_no.as_str())
        .collect();
    named.into_iter().map(str::to_owned).collect()
}

/// Whether a cross-reference row or decision names a customer number that the runs after
/// `from` up to `to` brought and that is not resolved yet: such a number may join another
/// customer, and only a resolution can say.
async fn new_numbers_named(
    store: &DynStore,
    inputs: &Inputs,
    from: i64,
    to: i64,
) -> Result<bool, StoreError> {
    let decisions = store.decisions().await?;
    let named = named_numbers(&inputs.xref, &decisions);
    if named.is_empty() {
        return Ok(false);
    }
    let keys: Vec<KeyId> = store
        .doc_keys_of(from, to, &named)
        .await?
        .into_iter()
        .filter_map(|(c, no)| inputs.systems.get(&c).map(|s| KeyId::new(s.clone(), no)))
        .collect();
    let stored: BTreeSet<KeyId> = store
        .key_attrs(&keys)
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    Ok(keys.iter().any(|k| !stored.contains(k)))
}

/// Whether the party records of these (connector, customer number) pairs say what they said
/// at the last resolution: each of their source customers, read again from all its party
/// records as a resolution reads it, has the fingerprint stored with its key. Records of
/// connectors this configuration does not have are not read by a resolution either.
async fn parties_as_resolved(
    store: &DynStore,
    systems: &BTreeMap<String, String>,
    parties: &[(String, String)],
) -> Result<bool, StoreError> {
    let mut now: BTreeMap<KeyId, SourceCustomer> = parties
        .iter()
        .filter_map(|(c, no)| systems.get(c).map(|s| KeyId::new(s.clone(), no.clone())))
        .map(|k| (k.clone(), SourceCustomer::new(k)))
        .collect();
    if now.is_empty() {
        return Ok(true);
    }
    // Every configured connector of each key's system.
    let pairs: Vec<(String, String)> = now
        .keys()
        .flat_map(|k| {
            systems
                .iter()
                .filter(|(_, s)| **s == k.system)
                .map(|(c, _)| (c.clone(), k.customer_no.clone()))
        })
        .collect();
    for entity in crate::model::Entity::PARTIES {
        for r in store.customer_rows_of(entity.as_str(), &pairs).await? {
            if let Some(system) = systems.get(&r.connector)
                && let Some(c) = now.get_mut(&KeyId::new(system.clone(), r.customer_no.clone()))
            {
                c.add(&r.data);
            }
        }
    }
    let keys: Vec<KeyId> = now.keys().cloned().collect();
    let stored: HashMap<KeyId, Option<i64>> = store.key_attrs(&keys).await?.into_iter().collect();
    Ok(now
        .iter()
        .all(|(k, c)| stored.get(k).copied().flatten() == Some(c.fingerprint())))
}

async fn resolve_with(store: &DynStore, inputs: &Inputs) -> Result<ResolveSummary, IdentityError> {
    let Inputs {
        systems,
        xref,
        opts,
        retired,
        fingerprint,
    } = inputs;
    let known: BTreeSet<&str> = systems.values().map(String::as_str).collect();
    for _ in 0..8 {
        let started = std::time::Instant::now();
        let mut snap = store.identity_snapshot(false).await?;
        // Connectors this configuration does not have keep their system: a node with a
        // partial configuration must not make their customers vanish, and the records of a
        // retired connector stay readable as history.
        let mut all_systems = snap.systems.clone();
        all_systems.extend(systems.iter().map(|(c, s)| (c.clone(), s.clone())));
        let rescan = snap.systems != all_systems;
        if rescan {
            snap = store.identity_snapshot(true).await?;
        }
        // Systems only unconfigured (not retired) connectors deliver: their keys stay as
        // they are, since nothing here can say whether they still exist.
        let frozen: BTreeSet<&str> = all_systems
            .iter()
            .filter(|(c, s)| {
                !systems.contains_key(*c) && !retired.contains(*c) && !known.contains(s.as_str())
            })
            .map(|(_, s)| s.as_str())
            .collect();
        let mut customers: BTreeMap<KeyId, SourceCustomer> = BTreeMap::new();
        for k in &snap.keys {
            if known.contains(k.key.system.as_str()) {
                customers
                    .entry(k.key.clone())
                    .or_insert_with(|| SourceCustomer::new(k.key.clone()));
            }
        }
        // Party records (customers and suppliers, the same rules) one by one: only what
        // identity compares is kept.
        add_party_rows(store, systems, &mut customers).await?;
        // Of the customer numbers the scanned runs' documents name, only those a
        // cross-reference row or a decision names too are read here: any other one not
        // stored yet and without a party record can join no other customer, and the store
        // writes it as one of its own (`singletons` below).
        if snap.docs {
            let named = named_numbers(xref, &snap.decisions);
            for (connector, no) in store
                .doc_keys_of(snap.scan_from, snap.scan_to, &named)
                .await?
            {
                if let Some(system) = systems.get(&connector) {
                    let key = KeyId::new(system.clone(), no);
                    customers
                        .entry(key.clone())
                        .or_insert_with(|| SourceCustomer::new(key));
                }
            }
        }
        let customers: Vec<SourceCustomer> = customers.into_values().collect();
        let prev: HashMap<KeyId, PrevKey> = snap
            .keys
            .iter()
            .map(|k| {
                (
                    k.key.clone(),
                    PrevKey {
                        customer_id: k.customer_id,
                        home_id: k.home_id,
                    },
                )
            })
            .collect();
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            keys = customers.len(),
            "identity: snapshot read"
        );
        let res = resolve(
            ResolveInput {
                customers: &customers,
                xref,
                decisions: &snap.decisions,
                prev: &prev,
                aliases: &snap.aliases,
                next_id: snap.max_id + 1,
            },
            opts,
        );
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            "identity: resolved"
        );
        let old: HashMap<&KeyId, &KeyRow> = snap.keys.iter().map(|k| (&k.key, k)).collect();
        let attrs: HashMap<&KeyId, i64> = customers
            .iter()
            .map(|c| (&c.key, c.fingerprint()))
            .collect();
        let upsert: Vec<KeyRow> = res
            .assignments
            .iter()
            .map(|a| KeyRow {
                key: a.key.clone(),
                customer_id: a.customer_id,
                home_id: a.home_id,
                rule: a.rule.clone(),
                matched_on: a.matched_on.clone(),
                attrs: attrs.get(&a.key).copied(),
            })
            .filter(|row| old.get(&row.key).is_none_or(|o| *o != row))
            .collect();
        let present: BTreeSet<&KeyId> = customers.iter().map(|c| &c.key).collect();
        let delete: Vec<KeyId> = snap
            .keys
            .iter()
            .filter(|k| !present.contains(&k.key) && !frozen.contains(k.key.system.as_str()))
            .map(|k| k.key.clone())
            .collect();
        let changes = IdentityChanges {
            generation: snap.generation,
            scan_to: snap.scan_to,
            systems: rescan.then(|| all_systems.clone()),
            alias_upsert: res
                .aliases
                .iter()
                .filter(|(id, into)| snap.aliases.get(id) != Some(into))
                .map(|(a, b)| (*a, *b))
                .collect(),
            alias_delete: snap
                .aliases
                .keys()
                .filter(|id| !res.aliases.contains_key(id))
                .copied()
                .collect(),
            upsert,
            delete,
            inputs: Some(fingerprint.clone()),
            inputs_epoch: snap.inputs_epoch,
            singletons: snap.docs.then(|| NewSingletons {
                from: snap.scan_from,
                systems: systems.clone(),
                // Not an id of a key this pass deletes, nor one it makes an alias.
                floor: res
                    .assignments
                    .iter()
                    .map(|a| a.customer_id.max(a.home_id))
                    .fold(snap.max_id, i64::max)
                    + 1,
            }),
            ..IdentityChanges::default()
        };
        let mut changes = changes;
        let existing: HashMap<(&KeyId, &KeyId), &(i64, NewSuggestion, String)> = snap
            .suggestions
            .iter()
            .map(|e| ((&e.1.a, &e.1.b), e))
            .collect();
        let mut found = std::collections::HashSet::new();
        for s in &res.suggestions {
            match existing.get(&(&s.a, &s.b)) {
                None => changes.suggestion_insert.push(s.clone()),
                Some((id, old, status)) => {
                    found.insert(*id);
                    if old != s || status != "open" {
                        changes.suggestion_update.push((*id, s.clone()));
                    }
                }
            }
        }
        changes.suggestion_obsolete = snap
            .suggestions
            .iter()
            .filter(|(id, _, status)| status == "open" && !found.contains(id))
            .map(|(id, _, _)| *id)
            .collect();
        changes.noop = changes.is_noop(&snap);
        let applied = store.apply_identity(&changes).await?;
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            applied = applied.is_some(),
            singletons = applied.unwrap_or(0),
            "identity: written"
        );
        if let Some(singletons) = applied {
            let singletons = singletons as usize;
            let summary = ResolveSummary {
                customers: res.customers + singletons,
                source_customers: customers.len() + singletons,
                changed: changes.upsert.len() + changes.delete.len() + singletons,
                suggestions: res.suggestions.len(),
                ambiguous: res.ambiguous,
                generic: res.generic,
                generation: snap.generation + i64::from(!changes.noop),
            };
            drop((snap, customers, res, changes));
            crate::sys::trim_heap();
            return Ok(summary);
        }
        tracing::debug!("identity: another resolution was applied meanwhile; reading again");
    }
    Err(IdentityError::Busy)
}

/// The generic addresses and phone numbers of the stored source customers, with why
/// ([`super::generic`]): what `kontor identity generic` lists.
pub async fn generic_values(
    store: &DynStore,
    cfg: &Config,
) -> Result<super::generic::Generic, IdentityError> {
    let systems = systems(store, cfg).await?;
    let mut customers: BTreeMap<KeyId, SourceCustomer> = BTreeMap::new();
    add_party_rows(store, &systems, &mut customers).await?;
    let customers: Vec<SourceCustomer> = customers.into_values().collect();
    let opts = options(cfg);
    Ok(super::generic::detect(
        &customers,
        opts.generic_after,
        &opts.ignore,
    ))
}

/// Adds the party records (customers and suppliers, the same rules) one by one to
/// `customers`, keyed by system and number: only what identity compares is kept.
async fn add_party_rows(
    store: &DynStore,
    systems: &BTreeMap<String, String>,
    customers: &mut BTreeMap<KeyId, SourceCustomer>,
) -> Result<(), StoreError> {
    for entity in crate::model::Entity::PARTIES {
        store
            .each_customer_row(entity.as_str(), &mut |r| {
                if let Some(system) = systems.get(&r.connector) {
                    let key = KeyId::new(system.clone(), r.customer_no);
                    customers
                        .entry(key.clone())
                        .or_insert_with(|| SourceCustomer::new(key))
                        .add(&r.data);
                }
            })
            .await?;
    }
    Ok(())
}
