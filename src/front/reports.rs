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

pub async fn contacts(
    store: &DynStore,
    privacy: &PrivacySection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ContactReport, StoreError> {
    let min = if privacy.works_council {
        privacy.min_group_size
    } else {
        1
    };
    let mut teams: BTreeMap<String, TeamContacts> = BTreeMap::new();
    let mut small = TeamContacts {
        team: "other teams".into(),
        members: 0,
        contacts: BTreeMap::new(),
    };
    let mut small_teams = std::collections::BTreeSet::new();
    for (team, kind, n) in store.contacts_by_team(from, to).await? {
        let members = team
            .as_ref()
            .and_then(|t| privacy.teams.get(t))
            .copied()
            .unwrap_or(0);
        if members >= min
            && let Some(t) = team
        {
            *teams
                .entry(t.clone())
                .or_insert_with(|| TeamContacts {
                    team: t,
                    members,
                    contacts: BTreeMap::new(),
                })
                .contacts
                .entry(kind)
                .or_default() += n;
        } else {
            if small_teams.insert(team.clone()) {
                small.members += members;
            }
            *small.contacts.entry(kind).or_default() += n;
        }
    }
    let mut withheld = 0;
    let mut out: Vec<TeamContacts> = teams.into_values().collect();
    if !small.contacts.is_empty() {
        if small.members >= min {
            out.push(small);
        } else {
            withheld = small.contacts.values().sum();
        }
    }
    Ok(ContactReport {
        from,
        to,
        min_group_size: min,
        teams: out,
        withheld,
    })
}
