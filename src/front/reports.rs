//! Aggregate reports under the works-council rules: contacts per team, never per person, and
//! only for teams of at least `min_group_size` members (smaller or unknown teams are
//! reported together as "other teams", and that only when they reach the size together).

use crate::config::PrivacySection;
use crate::store::{DynStore, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamContacts {
    /// A team, or `other teams` for the small ones together.
    pub team: String,
    pub members: u32,
    /// Contacts per kind (call, email, visit, note).
    pub contacts: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub min_group_size: u32,
    pub teams: Vec<TeamContacts>,
    /// Contacts not shown because their group is too small (counted, not attributed).
    pub withheld: i64,
}

/// The works-council rule for team figures: a team is shown on its own with at least
/// `min_group_size` members (`[privacy] teams`); smaller and unknown teams together as
/// "other teams" when they reach the size together; otherwise withheld.
pub(crate) struct TeamGate<'a> {
    pub min: u32,
    teams: &'a BTreeMap<String, u32>,
}

/// The group of the small teams together.
pub const OTHER_TEAMS: &str = "other teams";

impl<'a> TeamGate<'a> {
    pub fn new(privacy: &'a PrivacySection) -> Self {
        Self {
            min: if privacy.works_council {
                privacy.min_group_size
            } else {
                1
            },
            teams: &privacy.teams,
        }
    }

    fn members(&self, team: Option<&str>) -> u32 {
        team.and_then(|t| self.teams.get(t)).copied().unwrap_or(0)
    }

    /// Where each of `teams` is reported: its own name, [`OTHER_TEAMS`], or `None`
    /// (withheld).
    pub fn buckets<'t>(
        &self,
        teams: impl Iterator<Item = Option<&'t str>>,
    ) -> BTreeMap<Option<String>, Option<String>> {
        let seen: std::collections::BTreeSet<Option<&str>> = teams.collect();
        let small: Vec<Option<&str>> = seen
            .iter()
            .filter(|t| t.is_none() || self.members(**t) < self.min)
            .copied()
            .collect();
        let small_members: u32 = small.iter().map(|t| self.members(*t)).sum();
        seen.iter()
            .map(|t| {
                let bucket = if !small.contains(t) {
                    t.map(str::to_owned)
                } else if small_members >= self.min {
                    Some(OTHER_TEAMS.to_owned())
                } else {
                    None
                };
                (t.map(str::to_owned), bucket)
            })
            .collect()
    }
}

pub async fn contacts(
    store: &DynStore,
    privacy: &PrivacySection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ContactReport, StoreError> {
    let gate = TeamGate::new(privacy);
    let rows = store.contacts_by_team(from, to).await?;
    let buckets = gate.buckets(rows.iter().map(|(t, _, _)| t.as_deref()));
    let mut teams: BTreeMap<String, TeamContacts> = BTreeMap::new();
    let mut withheld = 0;
    for (team, kind, n) in rows {
        let Some(Some(bucket)) = buckets.get(&team) else {
            withheld += n;
            continue;
        };
        *teams
            .entry(bucket.clone())
            .or_insert_with(|| TeamContacts {
                team: bucket.clone(),
                members: 0,
                contacts: BTreeMap::new(),
            })
            .contacts
            .entry(kind)
            .or_default() += n;
    }
    for (team, bucket) in &buckets {
        if let Some(b) = bucket
            && let Some(t) = teams.get_mut(b)
        {
            t.members += gate.members(team.as_deref());
        }
    }
    // Teams by name, the small ones together last.
    let (mut out, other): (Vec<TeamContacts>, Vec<TeamContacts>) =
        teams.into_values().partition(|t| t.team != OTHER_TEAMS);
    out.extend(other);
    Ok(ContactReport {
        from,
        to,
        min_group_size: gate.min,
        teams: out,
        withheld,
    })
}
