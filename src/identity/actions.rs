//! What ops do about identities (CLI and API alike): merge two customers, split keys off a
//! customer, confirm or reject a suggestion. Each records its decision and resolves again, so
//! the decision holds on every later resolution.

use super::run::IdentityError;
use super::{
    Decision, DecisionKind, KeyId, ResolveSummary, merge_decisions, resolve_store, split_decisions,
};
use crate::config::Config;
use crate::store::DynStore;

async fn keys(store: &DynStore, id: i64) -> Result<Vec<KeyId>, IdentityError> {
    let keys: Vec<KeyId> = store
        .keys_of(id)
        .await?
        .into_iter()
        .map(|k| k.key)
        .collect();
    if keys.is_empty() {
        return Err(IdentityError::Invalid(format!("no customer {id}")));
    }
    Ok(keys)
}

/// Merges customer `b` into `a` (the older id stays).
pub async fn merge(
    store: &DynStore,
    cfg: &Config,
    a: i64,
    b: i64,
) -> Result<ResolveSummary, IdentityError> {
    if a == b {
        return Err(IdentityError::Invalid(
            "a customer cannot be merged with itself".into(),
        ));
    }
    let (x, y) = (keys(store, a).await?, keys(store, b).await?);
    let (add, remove) = merge_decisions(&x, &y);
    store.record_decisions(&add, &remove).await?;
    resolve_store(store, cfg).await
}

/// Splits `moved` (keys of customer `id`) off into a customer of their own.
pub async fn split(
    store: &DynStore,
    cfg: &Config,
    id: i64,
    moved: &[KeyId],
) -> Result<ResolveSummary, IdentityError> {
    let all = keys(store, id).await?;
    if moved.is_empty() {
        return Err(IdentityError::Invalid(
            "name the customer numbers to split off".into(),
        ));
    }
    // `system:number` is read at the first `:`; a system with colons of its own
    // (`datev:1001:456`) is matched by the whole text against the customer's keys.
    let mut given = Vec::with_capacity(moved.len());
    for k in moved {
        match all
            .iter()
            .find(|a| *a == k || a.to_string() == k.to_string())
        {
            Some(a) => given.push(a.clone()),
            None => {
                return Err(IdentityError::Invalid(format!(
                    "{k} is not a customer number of customer {id}"
                )));
            }
        }
    }
    let moved = given.as_slice();
    if moved.len() == all.len() {
        return Err(IdentityError::Invalid(
            "keep at least one customer number (split off the others)".into(),
        ));
    }
    let (add, remove) = split_decisions(&all, moved);
    store.record_decisions(&add, &remove).await?;
    resolve_store(store, cfg).await
}

/// Confirms (`true`) or rejects an open suggestion.
pub async fn decide(
    store: &DynStore,
    cfg: &Config,
    suggestion: i64,
    confirm: bool,
) -> Result<ResolveSummary, IdentityError> {
    let s = store
        .suggestion(suggestion)
        .await?
        .ok_or_else(|| IdentityError::Invalid(format!("no suggestion {suggestion}")))?;
    if s.status != "open" {
        return Err(IdentityError::Invalid(format!(
            "suggestion {suggestion} is {} already",
            s.status
        )));
    }
    if confirm {
        // Link the two customers as they are now.
        let (a, b) = (
            s.a_customer_id.unwrap_or_default(),
            s.b_customer_id.unwrap_or_default(),
        );
        let (x, y) = (keys(store, a).await?, keys(store, b).await?);
        let (add, remove) = merge_decisions(&x, &y);
        store.record_decisions(&add, &remove).await?;
    } else {
        let d = Decision::new(DecisionKind::Unlink, s.a.clone(), s.b.clone());
        store.record_decisions(&[d], &[]).await?;
    }
    store
        .set_suggestion_status(suggestion, if confirm { "confirmed" } else { "rejected" })
        .await?;
    resolve_store(store, cfg).await
}

/// Confirms (`true`) or rejects every open suggestion `selection` takes (see
/// [`super::triage`]), with one resolution at the end. `dry_run` decides nothing. Returns
/// the suggestions taken (clusters assigned) and, unless a dry run or none matched, the
/// resolution.
pub async fn decide_selected(
    store: &DynStore,
    cfg: &Config,
    selection: &super::triage::Selection,
    confirm: bool,
    dry_run: bool,
) -> Result<(Vec<super::triage::Suggestion>, Option<ResolveSummary>), IdentityError> {
    if let Some(p) = selection.problem() {
        return Err(IdentityError::Invalid(p));
    }
    if selection.is_empty() {
        return Err(IdentityError::Invalid(
            "name a suggestion, --rule, --system or --cluster".into(),
        ));
    }
    let mut open = super::triage::listing(store, Some("open")).await?;
    open.retain(|s| selection.matches(s));
    if open.is_empty() || dry_run {
        return Ok((open, None));
    }
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    let mut keys_by_id: std::collections::HashMap<i64, Vec<KeyId>> = Default::default();
    for s in &open {
        if confirm {
            let (Some(a), Some(b)) = (s.a_customer_id, s.b_customer_id) else {
                continue;
            };
            for id in [a, b] {
                if let std::collections::hash_map::Entry::Vacant(e) = keys_by_id.entry(id) {
                    e.insert(keys(store, id).await?);
                }
            }
            let (x, y) = merge_decisions(&keys_by_id[&a], &keys_by_id[&b]);
            add.extend(x);
            remove.extend(y);
        } else {
            add.push(Decision::new(
                DecisionKind::Unlink,
                s.a.clone(),
                s.b.clone(),
            ));
        }
    }
    add.dedup();
    store.record_decisions(&add, &remove).await?;
    let status = if confirm { "confirmed" } else { "rejected" };
    for s in &mut open {
        store.set_suggestion_status(s.id, status).await?;
        s.status = status.to_owned();
    }
    let summary = resolve_store(store, cfg).await?;
    Ok((open, Some(summary)))
}
