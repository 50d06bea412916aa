//! What the sales card calls each source: the connector's `label`, or a German name by its
//! kind (and REST profile) — never the technical connector name unless nothing else tells
//! two sources apart.

use std::collections::BTreeMap;

/// Connector name → the name shown to people.
pub fn source_labels(cfg: &crate::config::Config) -> BTreeMap<String, String> {
    let default = |c: &crate::config::ConnectorConfig| -> String {
        match c.kind.as_str() {
            "rest" => c
                .settings
                .get("profile")
                .and_then(|p| p.as_str())
                .and_then(kontor_rest::profile_info)
                .map(|i| i.title)
                .unwrap_or_else(|| "Schnittstelle".into()),
            "xml" => "E-Rechnungen und Belege".into(),
            "csv" => "Datei-Export".into(),
            "sql" => "Datenbank".into(),
            _ => "Zusatzquelle".into(),
        }
    };
    let mut out: BTreeMap<String, String> = cfg
        .connectors
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.label.clone().unwrap_or_else(|| default(c)),
            )
        })
        .collect();
    // Two sources with the same default name: tell them apart by the connector's name.
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for l in out.values() {
        *count.entry(l.clone()).or_default() += 1;
    }
    for c in &cfg.connectors {
        if c.label.is_none()
            && let Some(l) = out.get_mut(&c.name)
            && count[l.as_str()] > 1
        {
            *l = format!("{l} ({})", c.name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_the_config_or_the_kind_and_stay_apart() {
        let text = r#"
[[connector]]
name = "wawi-kunden"
kind = "csv"
label = "Warenwirtschaft"
path = "in"

[[connector]]
name = "einvoices"
kind = "xml"
path = "x"

[[connector]]
name = "export-a"
kind = "csv"
path = "a"

[[connector]]
name = "export-b"
kind = "csv"
path = "b"

[[connector]]
name = "bc"
kind = "rest"
profile = "business-central"
base_url = "https://api.businesscentral.dynamics.com/v2.0/t/Production"
"#;
        let cfg =
            crate::config::Config::parse("kontor.toml", text, ".".into(), Vec::new()).unwrap();
        let l = source_labels(&cfg);
        assert_eq!(l["wawi-kunden"], "Warenwirtschaft");
        assert_eq!(l["einvoices"], "E-Rechnungen und Belege");
        assert_eq!(l["export-a"], "Datei-Export (export-a)");
        assert_eq!(l["export-b"], "Datei-Export (export-b)");
        assert!(l["bc"].contains("Business Central"), "{}", l["bc"]);
    }
}
