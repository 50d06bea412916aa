//! Generic addresses and phone numbers: values that do not say who a customer is, so that
//! the `email` and `phone` rules neither merge nor suggest on them.
//!
//! A value is generic when
//! - it is on the ignore list (`[identity] ignore`), or
//! - more than `generic_after` customer numbers of **one system** carry it: the system itself
//!   keeps them apart as different customers, so the value cannot tell them apart or join
//!   them (a group's `info@` mailbox, a call centre's number), or
//! - it is a role address (`info@`, `office@`, `kontakt@`, `buchhaltung@`, `rechnung@`, … —
//!   [`ROLE_LOCAL_PARTS`]) at a domain that the addresses of more than `generic_after`
//!   customer numbers of one system use: a mailbox of the whole domain, not of one customer.
//!
//! Counting per system keeps a true duplicate across systems: one company in WaWi, ERPNext,
//! DATEV and the shop is four source customers sharing its address, one per system.

use super::attrs::SourceCustomer;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// Local parts of role addresses: the mailbox of a function, not of a person.
pub const ROLE_LOCAL_PARTS: &[&str] = &[
    "info",
    "office",
    "kontakt",
    "contact",
    "mail",
    "post",
    "buero",
    "büro",
    "zentrale",
    "empfang",
    "service",
    "support",
    "hallo",
    "hello",
    "team",
    "buchhaltung",
    "fibu",
    "finanzbuchhaltung",
    "rechnung",
    "rechnungen",
    "rechnungseingang",
    "invoice",
    "invoices",
    "billing",
    "accounting",
    "accounts",
    "debitoren",
    "kreditoren",
    "zahlungen",
    "mahnung",
    "einkauf",
    "purchasing",
    "verkauf",
    "vertrieb",
    "sales",
    "bestellung",
    "bestellungen",
    "order",
    "orders",
    "auftrag",
    "versand",
    "lager",
    "logistik",
    "admin",
    "webmaster",
    "noreply",
    "no-reply",
];

/// The rules whose values can be generic.
pub const GENERIC_RULES: &[&str] = &["email", "phone"];

/// Why a value is generic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenericWhy {
    /// On the ignore list.
    Ignored,
    /// Carried by `count` customer numbers of `system`.
    Shared { system: String, count: usize },
    /// A role address at a domain `count` customer numbers of `system` use.
    Role {
        system: String,
        domain: String,
        count: usize,
    },
}

impl fmt::Display for GenericWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenericWhy::Ignored => write!(f, "on the ignore list"),
            GenericWhy::Shared { system, count } => {
                write!(f, "shared by {count} customer numbers of {system}")
            }
            GenericWhy::Role {
                system,
                domain,
                count,
            } => write!(
                f,
                "a role address at {domain}, which {count} customer numbers of {system} use"
            ),
        }
    }
}

/// The generic values found, by rule and value.
#[derive(Debug, Clone, Default)]
pub struct Generic {
    /// rule → value → why.
    values: BTreeMap<String, BTreeMap<String, GenericWhy>>,
}

impl Generic {
    pub fn why(&self, rule: &str, value: &str) -> Option<&GenericWhy> {
        self.values.get(rule)?.get(value)
    }

    pub fn contains(&self, rule: &str, value: &str) -> bool {
        self.why(rule, value).is_some()
    }

    /// Generic values shared by at least two source customers (the others were no evidence
    /// anyway).
    pub fn len(&self) -> usize {
        self.values.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (rule, value, why), ordered.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &GenericWhy)> {
        self.values
            .iter()
            .flat_map(|(r, vs)| vs.iter().map(move |(v, w)| (r.as_str(), v.as_str(), w)))
    }
}

/// An `[identity] ignore` entry as identity compares it: an address lower-cased, a phone
/// number in E.164 (read with `region`); `None` when it is neither.
pub fn ignore_entry(v: &str, region: &str) -> Option<String> {
    let v = v.trim();
    if let Some((local, domain)) = v.rsplit_once('@') {
        return (!local.is_empty() && !domain.is_empty()).then(|| v.to_lowercase());
    }
    crate::model::phone::normalise_phone(v, region).ok()
}

/// Whether an e-mail address is a role address; its domain if so.
pub fn role_domain(email: &str) -> Option<&str> {
    let (local, domain) = email.rsplit_once('@')?;
    let local = local.trim().to_lowercase();
    (!domain.is_empty() && ROLE_LOCAL_PARTS.contains(&local.as_str())).then_some(domain)
}

fn domain_of(email: &str) -> Option<&str> {
    email
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
}

/// Finds the generic e-mail addresses and phone numbers among `customers` (see the module
/// comment). `generic_after = 0` turns the counting off (the ignore list still applies);
/// `ignore` holds normalised values (lower-cased addresses, E.164 numbers).
pub fn detect(
    customers: &[SourceCustomer],
    generic_after: usize,
    ignore: &BTreeSet<String>,
) -> Generic {
    let mut holders: HashMap<(&str, &str), BTreeMap<&str, usize>> = HashMap::new();
    let mut domains: HashMap<&str, BTreeMap<&str, usize>> = HashMap::new();
    for c in customers {
        let system = c.key.system.as_str();
        for rule in GENERIC_RULES {
            for v in c.values(rule) {
                *holders
                    .entry((rule, v.as_str()))
                    .or_default()
                    .entry(system)
                    .or_default() += 1;
            }
        }
        let own: BTreeSet<&str> = c.emails.iter().filter_map(|e| domain_of(e)).collect();
        for d in own {
            *domains.entry(d).or_default().entry(system).or_default() += 1;
        }
    }
    // The system with the most holders (the first by name on a tie), if more than k.
    let most = |per_system: &BTreeMap<&str, usize>| -> Option<(String, usize)> {
        let (s, n) = per_system
            .iter()
            .fold(None::<(&str, usize)>, |best, (s, n)| match best {
                Some((_, b)) if b >= *n => best,
                _ => Some((s, *n)),
            })?;
        (generic_after > 0 && n > generic_after).then(|| (s.to_owned(), n))
    };
    let mut values: BTreeMap<String, BTreeMap<String, GenericWhy>> = BTreeMap::new();
    for ((rule, value), per_system) in &holders {
        if per_system.values().sum::<usize>() < 2 {
            continue;
        }
        let why = if ignore.contains(*value) {
            Some(GenericWhy::Ignored)
        } else if let Some((system, count)) = most(per_system) {
            Some(GenericWhy::Shared { system, count })
        } else if *rule == "email" {
            role_domain(value).and_then(|d| {
                domains
                    .get(d)
                    .and_then(&most)
                    .map(|(system, count)| GenericWhy::Role {
                        system,
                        domain: d.to_owned(),
                        count,
                    })
            })
        } else {
            None
        };
        if let Some(why) = why {
            values
                .entry((*rule).to_owned())
                .or_default()
                .insert((*value).to_owned(), why);
        }
    }
    Generic { values }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::KeyId;

    fn customer(
        system: &str,
        no: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> SourceCustomer {
        let mut c = SourceCustomer::new(KeyId::new(system, no));
        c.add_record(&serde_json::json!({
            "name": format!("Firma {no}"),
            "email": email,
            "phones": phone.into_iter().collect::<Vec<_>>(),
        }));
        c
    }

    fn many(system: &str, n: usize, email: &str) -> Vec<SourceCustomer> {
        (0..n)
            .map(|i| customer(system, &format!("{system}{i}"), Some(email), None))
            .collect()
    }

    #[test]
    fn an_address_shared_by_more_than_k_numbers_of_one_system_is_generic() {
        let none = BTreeSet::new();
        let mut cs = many("wawi", 4, "m.schulz@schulz-bau.de");
        let g = detect(&cs, 3, &none);
        assert_eq!(
            g.why("email", "m.schulz@schulz-bau.de"),
            Some(&GenericWhy::Shared {
                system: "wawi".into(),
                count: 4
            })
        );
        assert_eq!(
            g.why("email", "m.schulz@schulz-bau.de")
                .unwrap()
                .to_string(),
            "shared by 4 customer numbers of wawi"
        );
        // k numbers of one system are still evidence (a duplicate account or two).
        cs.pop();
        assert!(detect(&cs, 3, &none).is_empty());
        // generic_after = 0 turns the counting off.
        assert!(detect(&many("wawi", 40, "x@y.de"), 0, &none).is_empty());
    }

    #[test]
    fn sharing_across_systems_is_evidence_not_generic() {
        // One company in five systems: five source customers, one per system.
        let cs: Vec<SourceCustomer> = ["wawi", "erpnext", "datev", "shop", "crm"]
            .iter()
            .map(|s| {
                customer(
                    s,
                    "1",
                    Some("k.wagner@wagner-metall.de"),
                    Some("+49301234567"),
                )
            })
            .collect();
        assert!(detect(&cs, 3, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn phones_count_like_addresses() {
        let cs: Vec<SourceCustomer> = (0..5)
            .map(|i| customer("wawi", &i.to_string(), None, Some("+49301234567")))
            .collect();
        let g = detect(&cs, 3, &BTreeSet::new());
        assert!(g.contains("phone", "+49301234567"));
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn role_addresses_at_a_domain_of_many_customers_are_generic() {
        let mut cs = vec![
            customer("wawi", "1", Some("rechnung@firma.de"), None),
            customer("wawi", "2", Some("Rechnung@Firma.de"), None),
            customer("wawi", "3", Some("a.meier@firma.de"), None),
            customer("shop", "1", Some("a.meier@firma.de"), None),
        ];
        let none = BTreeSet::new();
        // Three numbers of the WaWi use firma.de: not many.
        let g = detect(&cs, 3, &none);
        assert!(g.is_empty(), "{g:?}");
        cs.push(customer("wawi", "4", Some("a.meier@firma.de"), None));
        let g = detect(&cs, 3, &none);
        assert_eq!(
            g.why("email", "rechnung@firma.de"),
            Some(&GenericWhy::Role {
                system: "wawi".into(),
                domain: "firma.de".into(),
                count: 4
            })
        );
        // A person's address stays evidence.
        assert!(!g.contains("email", "a.meier@firma.de"));
        assert_eq!(g.len(), 1);
        assert_eq!(role_domain("office@x.de"), Some("x.de"));
        assert_eq!(role_domain("kontakt@x.de"), Some("x.de"));
        assert_eq!(role_domain("buchhaltung@x.de"), Some("x.de"));
        assert_eq!(role_domain("anna.info@x.de"), None);
        assert_eq!(role_domain("info@"), None);
    }

    #[test]
    fn ignore_entries_are_compared_as_the_data_is() {
        assert_eq!(
            ignore_entry(" Info@Example.de", "DE").as_deref(),
            Some("info@example.de")
        );
        assert_eq!(
            ignore_entry("+49 30 1234567", "DE").as_deref(),
            Some("+49301234567")
        );
        assert_eq!(
            ignore_entry("030/1234567", "DE").as_deref(),
            Some("+49301234567")
        );
        assert_eq!(ignore_entry("nobody", "DE"), None);
        assert_eq!(ignore_entry("@example.de", "DE"), None);
    }

    #[test]
    fn the_ignore_list_makes_any_shared_value_generic() {
        let cs = vec![
            customer(
                "wawi",
                "1",
                Some("m.schulz@schulz-bau.de"),
                Some("+49897654321"),
            ),
            customer(
                "shop",
                "1",
                Some("m.schulz@schulz-bau.de"),
                Some("+49897654321"),
            ),
        ];
        let ignore: BTreeSet<String> = ["+49897654321".to_owned()].into();
        let g = detect(&cs, 3, &ignore);
        assert_eq!(g.why("phone", "+49897654321"), Some(&GenericWhy::Ignored));
        assert!(!g.contains("email", "m.schulz@schulz-bau.de"));
        // An ignored value nobody shares is not counted.
        assert!(detect(&cs[..1], 3, &ignore).is_empty());
    }
}
