//! Building a [`Directory`] from the store: a full load, or only the customers changed since
//! (issue 17, target 3).

use super::{Directory, Index, build};
use crate::store::{DynStore, KeyRow, StoreError};
use crate::view::Policy;
use std::collections::BTreeMap;

/// What a directory's entries depend on besides the store: with other settings (a
/// configuration reloaded), only a full load is right.
pub(super) fn settings(policy: &Policy, region: &str) -> String {
    format!("{policy:?}\n{region}")
}

/// A reload reads only the changed customers while they are at most this many, or a tenth
/// of the base if that is more; beyond, it loads everything again (and the changes start
/// from nothing).
const MAX_CHANGED: usize = 2_000;

/// The index of the customers of `keys` with their records: all records, or those of the
/// customers `only`. Records stream into it one by one (its size, not theirs, stays):
/// customers and suppliers (both found by search and caller-ID, marked by role), then
/// contact persons.
async fn read_index(
    store: &DynStore,
    keys: Vec<KeyRow>,
    systems: &BTreeMap<String, String>,
    policy: &Policy,
    only: Option<&[i64]>,
) -> Result<Index, StoreError> {
    let mut b = build::Builder::new(&keys, systems, policy);
    drop(keys);
    for entity in crate::model::Entity::DIRECTORY {
        let add = &mut |r| b.add(&r);
        match only {
            None => store.each_customer_row(entity.as_str(), add).await?,
            Some(ids) => {
                store
                    .each_customer_row_of(entity.as_str(), ids, add)
                    .await?
            }
        }
    }
    b.finish().map_err(|e| StoreError::Data(e.to_string()))
}

impl Directory {
    /// Builds the directory from the store.
    pub async fn load(store: &DynStore, policy: &Policy, region: &str) -> Result<Self, StoreError> {
        let generation = store.identity_generation().await?;
        let keys = store.customer_keys().await?;
        let systems = store.connector_systems().await?;
        let base = read_index(store, keys, &systems, policy, None).await?;
        let d = Directory::loaded(generation, base, systems, policy, region);
        d.set_successes(store.last_successes().await?);
        crate::sys::trim_heap();
        Ok(d)
    }

    /// The directory as of the store's generation now, reading only the customers changed
    /// since this one's generation ([`crate::store::IdentityStore::directory_changes`]).
    /// `None` when that cannot be: the store no longer lists every change since (a connector
    /// renamed, an erasure, very many changes), or the changes since the last full load grew
    /// past [`MAX_CHANGED`], or the settings are not the ones this directory was loaded with
    /// — then the caller loads everything ([`Self::load`]).
    pub async fn refreshed(
        &self,
        store: &DynStore,
        policy: &Policy,
        region: &str,
    ) -> Result<Option<Self>, StoreError> {
        if settings(policy, region) != self.settings {
            return Ok(None);
        }
        let Some(changes) = store.directory_changes(self.generation).await? else {
            return Ok(None);
        };
        let mut changed = self.changed.clone();
        changed.extend(changes.customers);
        changed.sort_unstable();
        changed.dedup();
        if changed.len() > MAX_CHANGED.max(self.base.entries.len() / 10) {
            return Ok(None);
        }
        let systems = store.connector_systems().await?;
        if systems != self.systems {
            return Ok(None);
        }
        let keys = store.customer_keys_of(&changed).await?;
        let delta = read_index(store, keys, &systems, policy, Some(&changed)).await?;
        let d = self.with_changes(changes.generation, changed, delta);
        d.set_successes(store.last_successes().await?);
        Ok(Some(d))
    }

    /// A directory of a full load: `base` alone.
    pub(super) fn loaded(
        generation: i64,
        base: Index,
        systems: BTreeMap<String, String>,
        policy: &Policy,
        region: &str,
    ) -> Self {
        Directory {
            generation,
            live: base.entries.len(),
            base: base.into(),
            systems,
            region: region.to_owned(),
            settings: settings(policy, region),
            ..Directory::default()
        }
    }

    /// This directory's base with `delta`, the customers `changed` as they are now (the
    /// base's entries of them hidden).
    pub(super) fn with_changes(&self, generation: i64, changed: Vec<i64>, delta: Index) -> Self {
        let hidden = changed
            .iter()
            .filter(|id| self.base.index_of(**id).is_some())
            .count();
        Directory {
            generation,
            live: self.base.entries.len() - hidden + delta.entries.len(),
            base: std::sync::Arc::clone(&self.base),
            delta,
            changed,
            systems: self.systems.clone(),
            region: self.region.clone(),
            settings: self.settings.clone(),
            ..Directory::default()
        }
    }
}
