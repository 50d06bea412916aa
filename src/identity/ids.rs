//! Stable customer ids across resolutions.
//!
//! A customer keeps the id its keys had; when two merge, the smaller (older) id stays and
//! the other becomes an alias of it; when one splits, the part holding the keys that got the
//! id first keeps it and the other part takes back its keys' first id (un-aliasing it) or,
//! failing that, a new one.

use super::{KeyId, PrevKey};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub struct Ids {
    /// Id per cluster.
    pub cluster_ids: Vec<i64>,
    /// Cluster per key.
    pub cluster_of: Vec<usize>,
    /// First id per key (kept from before, or the id it gets now).
    pub home_ids: Vec<i64>,
    pub aliases: BTreeMap<i64, i64>,
}

/// Counts of values, most frequent first, ties by smaller value.
fn ranked(values: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut v: Vec<(i64, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter().map(|(id, _)| id).collect()
}

pub fn assign_ids(
    clusters: &[Vec<usize>],
    keys: &[KeyId],
    prev: &HashMap<KeyId, PrevKey>,
    old_aliases: &BTreeMap<i64, i64>,
    mut next_id: i64,
) -> Ids {
    let mut cluster_of = vec![0; keys.len()];
    for (c, members) in clusters.iter().enumerate() {
        for &m in members {
            cluster_of[m] = c;
        }
    }
    let current = |m: usize| prev.get(&keys[m]).map(|p| p.customer_id);
    let home = |m: usize| prev.get(&keys[m]).map(|p| p.home_id);
    // Each cluster wants the smallest id its keys hold now (a merge keeps the older id).
    let mut wanted: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (c, members) in clusters.iter().enumerate() {
        if let Some(id) = members.iter().filter_map(|&m| current(m)).min() {
            wanted.entry(id).or_default().push(c);
        }
    }
    let mut ids: Vec<Option<i64>> = vec![None; clusters.len()];
    let mut taken: BTreeSet<i64> = BTreeSet::new();
    let mut losers: Vec<usize> = Vec::new();
    for (&id, claimants) in &wanted {
        // Several parts of a split customer: the one with the keys that had the id first.
        let winner = *claimants
            .iter()
            .max_by_key(|&&c| {
                let m = &clusters[c];
                (
                    m.iter().filter(|&&k| home(k) == Some(id)).count(),
                    m.iter().filter(|&&k| current(k) == Some(id)).count(),
                    std::cmp::Reverse(&keys[m[0]]),
                )
            })
            .unwrap_or(&claimants[0]);
        ids[winner] = Some(id);
        taken.insert(id);
        losers.extend(claimants.iter().filter(|&&c| c != winner));
    }
    losers.sort_by(|a, b| keys[clusters[*a][0]].cmp(&keys[clusters[*b][0]]));
    for c in losers {
        let members = &clusters[c];
        let options = ranked(members.iter().filter_map(|&m| home(m)))
            .into_iter()
            .chain(ranked(members.iter().filter_map(|&m| current(m))));
        let mut chosen = None;
        for id in options {
            if !taken.contains(&id) && !wanted.contains_key(&id) {
                chosen = Some(id);
                break;
            }
        }
        let id = chosen.unwrap_or_else(|| {
            next_id += 1;
            next_id - 1
        });
        ids[c] = Some(id);
        taken.insert(id);
    }
    let cluster_ids: Vec<i64> = ids
        .into_iter()
        .map(|id| {
            id.unwrap_or_else(|| {
                next_id += 1;
                next_id - 1
            })
        })
        .collect();
    let home_ids: Vec<i64> = (0..keys.len())
        .map(|m| home(m).unwrap_or(cluster_ids[cluster_of[m]]))
        .collect();

    // Aliases: ids in use now are no aliases; ids no longer used point to where most of
    // their keys went.
    let live: BTreeSet<i64> = cluster_ids.iter().copied().collect();
    let mut aliases: BTreeMap<i64, i64> = old_aliases
        .iter()
        .filter(|(id, _)| !live.contains(id))
        .map(|(a, b)| (*a, *b))
        .collect();
    let mut gone: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for m in 0..keys.len() {
        if let Some(id) = current(m)
            && !live.contains(&id)
        {
            gone.entry(id).or_default().push(cluster_ids[cluster_of[m]]);
        }
    }
    for (id, targets) in gone {
        if let Some(&target) = ranked(targets.into_iter()).first() {
            aliases.insert(id, target);
        }
    }
    // Point every alias at a live id (chains from earlier merges).
    let snapshot = aliases.clone();
    for target in aliases.values_mut() {
        let mut t = *target;
        let mut hops = 0;
        while !live.contains(&t) && hops < 64 {
            match snapshot.get(&t) {
                Some(&next) => t = next,
                None => break,
            }
            hops += 1;
        }
        *target = t;
    }
    Ids {
        cluster_ids,
        cluster_of,
        home_ids,
        aliases,
    }
}
