//! The resolution itself: a pure function from source customers, cross-references and ops
//! decisions (plus the previous assignment, for stable ids) to customers, explanations and
//! suggestions. Deterministic: the same input gives the same output.

use super::attrs::SourceCustomer;
use super::ids::assign_ids;
use super::normalize::{company_key, key_similarity, koelner_phonetik};
use super::{Assignment, Decision, DecisionKind, KeyId, MatchedOn, NewSuggestion, PrevKey};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

#[derive(Debug, Clone)]
pub struct ResolveOptions {
    /// Deterministic rules in order (`xref`, `vat_id`, `gln`, `email`, `phone`).
    pub rules: Vec<String>,
    /// Name similarity from which customers at one postcode are suggested as one.
    pub suggest_threshold: f64,
    /// An identifier shared by more source customers than this is not identifying (a tax
    /// adviser's mailbox, a call centre's number): it is ignored.
    pub max_shared: usize,
    /// An address or phone carried by more numbers of one system than this is generic
    /// ([`super::generic`]); 0: no counting.
    pub generic_after: usize,
    /// Generic by ops' word (lower-cased addresses, E.164 numbers).
    pub ignore: BTreeSet<String>,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        Self {
            rules: crate::config::IDENTITY_RULES
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            suggest_threshold: 0.85,
            max_shared: 25,
            generic_after: 3,
            ignore: BTreeSet::new(),
        }
    }
}

/// What a resolution works on.
#[derive(Debug, Clone, Copy)]
pub struct ResolveInput<'a> {
    /// Every source customer, with or without attributes.
    pub customers: &'a [SourceCustomer],
    /// Rows of the cross-reference files: keys that are one customer.
    pub xref: &'a [Vec<KeyId>],
    pub decisions: &'a [Decision],
    pub prev: &'a HashMap<KeyId, PrevKey>,
    /// Alias ids (merged into another) before this resolution.
    pub aliases: &'a BTreeMap<i64, i64>,
    /// The first id never used.
    pub next_id: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Resolution {
    /// One per source customer.
    pub assignments: Vec<Assignment>,
    /// The complete alias table (old id → the id it was merged into).
    pub aliases: BTreeMap<i64, i64>,
    pub suggestions: Vec<NewSuggestion>,
    /// Number of customers.
    pub customers: usize,
    /// Identifier values ignored because too many source customers share them.
    pub ambiguous: usize,
    /// Generic addresses and phones ([`super::generic`]): no evidence.
    pub generic: usize,
}

/// Why two clusters may not be merged.
enum Blocked {
    /// Ops said they are different.
    Decided,
    /// A rule would merge them, but something says they differ.
    Guard(String),
}

/// A cluster's members and what its guards compare (interned: most clusters have one member).
#[derive(Default)]
struct Cluster {
    members: Vec<usize>,
    systems: Vec<u32>,
    vats: Vec<u32>,
    glns: Vec<u32>,
}

/// Values as small numbers.
#[derive(Default)]
struct Interner<'a> {
    ids: HashMap<&'a str, u32>,
    names: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    fn id(&mut self, s: &'a str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.ids.insert(s, i);
        self.names.push(s);
        i
    }
}

fn merge_sorted(into: &mut Vec<u32>, from: Vec<u32>) {
    into.extend(from);
    into.sort_unstable();
    into.dedup();
}

fn disjoint(a: &[u32], b: &[u32]) -> bool {
    !a.iter().any(|x| b.contains(x))
}

struct Edge {
    a: usize,
    b: usize,
    rule: String,
    value: String,
}

struct Uf<'a> {
    parent: Vec<usize>,
    clusters: Vec<Cluster>,
    interned: Interner<'a>,
    unlinked: HashMap<usize, Vec<usize>>,
    edges: Vec<Edge>,
    customers: &'a [SourceCustomer],
}

impl<'a> Uf<'a> {
    fn new(customers: &'a [SourceCustomer]) -> Self {
        let mut interned = Interner::default();
        let list = |values: &'a [String], interned: &mut Interner<'a>| {
            let mut v: Vec<u32> = values.iter().map(|s| interned.id(s)).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let clusters = customers
            .iter()
            .enumerate()
            .map(|(i, c)| Cluster {
                members: vec![i],
                systems: vec![interned.id(&c.key.system)],
                vats: list(&c.vat_ids, &mut interned),
                glns: list(&c.glns, &mut interned),
            })
            .collect();
        Self {
            parent: (0..customers.len()).collect(),
            clusters,
            interned,
            unlinked: HashMap::new(),
            edges: Vec::new(),
            customers,
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn blocked(&mut self, ra: usize, rb: usize, trusted: bool) -> Option<Blocked> {
        let (small, other) = if self.clusters[ra].members.len() <= self.clusters[rb].members.len() {
            (ra, rb)
        } else {
            (rb, ra)
        };
        let partners: Vec<usize> = self.clusters[small]
            .members
            .iter()
            .filter_map(|m| self.unlinked.get(m))
            .flatten()
            .copied()
            .collect();
        if partners.into_iter().any(|p| self.find(p) == other) {
            return Some(Blocked::Decided);
        }
        if trusted {
            return None;
        }
        let (a, b) = (&self.clusters[ra], &self.clusters[rb]);
        if let Some(s) = a.systems.iter().find(|s| b.systems.contains(s)) {
            return Some(Blocked::Guard(format!(
                "both are customers of {} under different numbers",
                self.interned.names[*s as usize]
            )));
        }
        for (what, x, y) in [("VAT IDs", &a.vats, &b.vats), ("GLNs", &a.glns, &b.glns)] {
            if !x.is_empty() && !y.is_empty() && disjoint(x, y) {
                return Some(Blocked::Guard(format!("different {what}")));
            }
        }
        None
    }

    /// Joins the clusters of `a` and `b` unless blocked; `trusted` edges (ops decisions,
    /// cross-references) skip the attribute guards.
    fn union(
        &mut self,
        a: usize,
        b: usize,
        rule: &str,
        value: &str,
        trusted: bool,
    ) -> Result<bool, Blocked> {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return Ok(false);
        }
        if let Some(why) = self.blocked(ra, rb, trusted) {
            return Err(why);
        }
        let (big, small) = if self.clusters[ra].members.len() >= self.clusters[rb].members.len() {
            (ra, rb)
        } else {
            (rb, ra)
        };
        let moved = std::mem::take(&mut self.clusters[small]);
        let target = &mut self.clusters[big];
        target.members.extend(moved.members);
        merge_sorted(&mut target.systems, moved.systems);
        merge_sorted(&mut target.vats, moved.vats);
        merge_sorted(&mut target.glns, moved.glns);
        self.parent[small] = big;
        self.edges.push(Edge {
            a,
            b,
            rule: rule.to_owned(),
            value: value.to_owned(),
        });
        Ok(true)
    }
}

/// Suggestion candidates by cluster pair (roots ordered), best score kept.
type Candidates = BTreeMap<(usize, usize), (f64, String, String)>;

fn candidate(c: &mut Candidates, ra: usize, rb: usize, score: f64, rule: String, reason: String) {
    let pair = (ra.min(rb), ra.max(rb));
    match c.get(&pair) {
        Some((s, _, _)) if *s >= score => {}
        _ => {
            c.insert(pair, (score, rule, reason));
        }
    }
}

/// Resolves source customers into customers.
pub fn resolve(input: ResolveInput<'_>, opts: &ResolveOptions) -> Resolution {
    let customers = input.customers;
    let index: HashMap<&KeyId, usize> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.key, i))
        .collect();
    let mut uf = Uf::new(customers);
    for d in input
        .decisions
        .iter()
        .filter(|d| d.kind == DecisionKind::Unlink)
    {
        if let (Some(&a), Some(&b)) = (index.get(&d.a), index.get(&d.b)) {
            uf.unlinked.entry(a).or_default().push(b);
            uf.unlinked.entry(b).or_default().push(a);
        }
    }
    let mut held_back = Candidates::new();
    let mut ambiguous = 0;
    let generic = super::generic::detect(customers, opts.generic_after, &opts.ignore);
    for rule in &opts.rules {
        let groups: Vec<(String, Vec<usize>)> = if rule == "xref" {
            input
                .xref
                .iter()
                .map(|row| {
                    let value = row
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" = ");
                    (
                        value,
                        row.iter().filter_map(|k| index.get(k).copied()).collect(),
                    )
                })
                .collect()
        } else {
            let mut by_value: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (i, c) in customers.iter().enumerate() {
                for v in c.values(rule).iter().filter(|v| !generic.contains(rule, v)) {
                    by_value.entry(v.as_str()).or_default().push(i);
                }
            }
            by_value
                .into_iter()
                .map(|(v, g)| (v.to_owned(), g))
                .collect()
        };
        let trusted = rule == "xref";
        for (value, group) in groups {
            if group.len() < 2 {
                continue;
            }
            if !trusted && group.len() > opts.max_shared {
                ambiguous += 1;
                continue;
            }
            for i in 1..group.len() {
                if (0..i).any(|j| uf.find(group[j]) == uf.find(group[i])) {
                    continue;
                }
                for j in 0..i {
                    match uf.union(group[j], group[i], rule, &value, trusted) {
                        Ok(_) => break,
                        Err(Blocked::Decided) => {}
                        Err(Blocked::Guard(why)) => {
                            let (ra, rb) = (uf.find(group[j]), uf.find(group[i]));
                            candidate(
                                &mut held_back,
                                ra,
                                rb,
                                0.7,
                                format!("{rule}_blocked"),
                                format!("same {rule} {value}, but {why}"),
                            );
                        }
                    }
                }
            }
        }
    }
    // Ops links last: they join customers as the rules formed them, overriding the guards
    // (not an unlink, though).
    for d in input
        .decisions
        .iter()
        .filter(|d| d.kind == DecisionKind::Link)
    {
        if let (Some(&a), Some(&b)) = (index.get(&d.a), index.get(&d.b)) {
            let _ = uf.union(a, b, "manual", "confirmed by ops", true);
        }
    }
    tracing::debug!("identity: rules applied");
    let mut cands = Candidates::new();
    // Held-back candidates by their final clusters (they may have been merged since).
    for ((a, b), (score, rule, reason)) in held_back {
        let (ra, rb) = (uf.find(a), uf.find(b));
        if ra != rb && uf.blocked(ra, rb, true).is_none() {
            candidate(&mut cands, ra, rb, score, rule, reason);
        }
    }
    fuzzy(&mut uf, opts.suggest_threshold, &mut cands);
    tracing::debug!(candidates = cands.len(), "identity: fuzzy rules applied");

    let roots: Vec<usize> = (0..customers.len()).filter(|&i| uf.find(i) == i).collect();
    let clusters: Vec<Vec<usize>> = roots
        .iter()
        .map(|&r| {
            let mut m = uf.clusters[r].members.clone();
            m.sort_by(|a, b| customers[*a].key.cmp(&customers[*b].key));
            m
        })
        .collect();
    let keys: Vec<KeyId> = customers.iter().map(|c| c.key.clone()).collect();
    let ids = assign_ids(&clusters, &keys, input.prev, input.aliases, input.next_id);
    let matched = explain(&uf, &clusters, input.prev);
    let assignments = customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let m = matched[i].clone();
            Assignment {
                key: c.key.clone(),
                customer_id: ids.cluster_ids[ids.cluster_of[i]],
                home_id: ids.home_ids[i],
                rule: m
                    .as_ref()
                    .map_or_else(|| "anchor".into(), |m| m.rule.clone()),
                matched_on: m,
            }
        })
        .collect();
    let first_key = |root: usize| -> KeyId {
        let members = &clusters[roots.binary_search(&root).unwrap_or(0)];
        customers[members[0]].key.clone()
    };
    let suggestions = cands
        .into_iter()
        .map(|((ra, rb), (score, rule, reason))| {
            let (a, b) = (first_key(ra), first_key(rb));
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            NewSuggestion {
                a,
                b,
                score: (score * 1000.0).round() / 1000.0,
                rule,
                reason,
            }
        })
        .collect();
    Resolution {
        assignments,
        aliases: ids.aliases,
        suggestions,
        customers: clusters.len(),
        ambiguous,
        generic: generic.len(),
    }
}

/// A name prepared for comparison: its company key, and its blocking keys.
struct Prepared {
    name: String,
    key: String,
    sound: String,
}

/// Blocking keys of a name: its sound (Kölner Phonetik of the words, in any order) and its
/// letters without spaces ("Alpen Technik" = "Alpentechnik"). Two names are compared only
/// when they share one: near-duplicates do, different companies rarely.
fn blocking_keys(p: &Prepared) -> Vec<u64> {
    let hash = |s: &str| {
        let h = blake3::hash(s.as_bytes());
        u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap_or_default())
    };
    let compact: String = p.key.chars().filter(|c| *c != ' ').collect();
    let mut out = Vec::new();
    if !p.sound.is_empty() {
        out.push(hash(&format!("s:{}", p.sound)));
    }
    if compact.chars().count() >= 4 {
        out.push(hash(&format!("c:{compact}")));
    }
    out
}

/// A blocking key shared by more clusters than this (in one postcode) is not compared.
const MAX_BLOCK: usize = 50;

/// Similar names at the same postcode: suggestions (never automatic merges).
fn fuzzy(uf: &mut Uf<'_>, threshold: f64, out: &mut Candidates) {
    let customers = uf.customers;
    // (postcode, blocking key) → clusters, with the cluster's prepared names.
    let mut blocks: HashMap<(String, u64), Vec<usize>> = HashMap::new();
    let mut names: HashMap<usize, Vec<Prepared>> = HashMap::new();
    for (i, c) in customers.iter().enumerate() {
        if c.names.is_empty() || c.postcodes.is_empty() {
            continue;
        }
        let root = uf.find(i);
        let prepared = names.entry(root).or_default();
        for n in &c.names {
            if prepared.iter().any(|p| &p.name == n) {
                continue;
            }
            let key = company_key(n);
            let mut sound: Vec<String> = key
                .split(' ')
                .map(koelner_phonetik)
                .filter(|s| !s.is_empty())
                .collect();
            sound.sort();
            prepared.push(Prepared {
                name: n.clone(),
                key,
                sound: sound.join(" "),
            });
        }
        for p in &c.postcodes {
            let postcode: String = p.chars().filter(|c| !c.is_whitespace()).collect();
            for prep in names.get(&root).into_iter().flatten() {
                for b in blocking_keys(prep) {
                    let block = blocks.entry((postcode.clone(), b)).or_default();
                    if !block.contains(&root) {
                        block.push(root);
                    }
                }
            }
        }
    }
    let mut compared: std::collections::HashSet<(usize, usize)> = Default::default();
    // Deterministic order (the candidates keep the best score per pair either way).
    let mut blocks: Vec<((String, u64), Vec<usize>)> = blocks.into_iter().collect();
    blocks.sort_unstable();
    for ((postcode, _), mut roots) in blocks {
        if roots.len() < 2 || roots.len() > MAX_BLOCK {
            continue;
        }
        roots.sort_unstable();
        for (x, &ra) in roots.iter().enumerate() {
            for &rb in &roots[x + 1..] {
                if !compared.insert((ra, rb)) {
                    continue;
                }
                let mut best = (0.0f64, "", "", false);
                for pa in &names[&ra] {
                    for pb in &names[&rb] {
                        let same_sound = !pa.sound.is_empty() && pa.sound == pb.sound;
                        let mut score = key_similarity(&pa.key, &pb.key);
                        if same_sound {
                            score = score.max(0.9);
                        }
                        if score > best.0 {
                            best = (score, pa.name.as_str(), pb.name.as_str(), same_sound);
                        }
                    }
                }
                if best.0 < threshold {
                    continue;
                }
                match uf.blocked(ra, rb, false) {
                    Some(Blocked::Decided) => continue,
                    Some(Blocked::Guard(why)) if why.starts_with("different") => continue,
                    _ => {}
                }
                let sound = if best.3 {
                    ", same Kölner Phonetik"
                } else {
                    ""
                };
                let reason = format!(
                    "similar names `{}` / `{}` ({:.2}{sound}) at postcode {postcode}",
                    best.1, best.2, best.0
                );
                candidate(out, ra, rb, best.0, "name_postcode".into(), reason);
            }
        }
    }
}

/// `matched_on` per key: a walk over the merge edges from each customer's anchor.
fn explain(
    uf: &Uf<'_>,
    clusters: &[Vec<usize>],
    prev: &HashMap<KeyId, PrevKey>,
) -> Vec<Option<MatchedOn>> {
    let customers = uf.customers;
    let mut adj: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
    for (e, edge) in uf.edges.iter().enumerate() {
        adj.entry(edge.a).or_default().push((edge.b, e));
        adj.entry(edge.b).or_default().push((edge.a, e));
    }
    let mut out = vec![None; customers.len()];
    for members in clusters {
        let anchor = *members
            .iter()
            .min_by_key(|&&m| {
                let c = &customers[m];
                // The oldest key, else the one that says most about the customer.
                let richness = c.names.len()
                    + c.vat_ids.len()
                    + c.glns.len()
                    + c.emails.len()
                    + c.phones.len()
                    + c.postcodes.len();
                (
                    prev.get(&c.key).map_or(i64::MAX, |p| p.home_id),
                    std::cmp::Reverse(richness),
                    &c.key,
                )
            })
            .unwrap_or(&members[0]);
        let mut seen = BTreeSet::from([anchor]);
        let mut queue = VecDeque::from([anchor]);
        while let Some(x) = queue.pop_front() {
            for &(y, e) in adj.get(&x).map(Vec::as_slice).unwrap_or(&[]) {
                if seen.insert(y) {
                    let edge = &uf.edges[e];
                    out[y] = Some(MatchedOn {
                        rule: edge.rule.clone(),
                        value: edge.value.clone(),
                        via: customers[x].key.clone(),
                    });
                    queue.push_back(y);
                }
            }
        }
    }
    out
}
