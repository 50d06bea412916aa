//! The built-in mappings agree with their profiles: every target's stream is an endpoint, and
//! every source path resolves in the records the connector delivers from the mock ERP (so a
//! typo in a field name fails here, not in production).

mod common;

use common::*;
use kontor_rest::mock::{self, MockErp};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Fields the profiles map that the demo data leaves out (optional in the real APIs too).
const OPTIONAL: &[&str] = &[
    "items",
    "idx",
    "item_code",
    "item_name",
    "qty",
    "delivered_qty",
    "uom",
    "delivery_date",
    "VatIDNum",
    "Phone2",
    "Cellular",
    "Fax",
    "UoMCode",
    "fax",
    "mobilePhone1",
    "lastName",
    "BaseEntry",
    "companyName",
    "mobile",
    "BillingAddress/LastName",
    "BillingAddress/MobilePhoneNumber",
];

fn resolve<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for step in path.trim_start_matches('/').split('/') {
        if let Value::Array(a) = cur {
            cur = a.first()?;
        }
        // `Lines[Key='v']`: an element with that value.
        match step.split_once('[') {
            Some((name, filter)) => {
                let (key, want) = filter
                    .trim_end_matches(']')
                    .split_once('=')
                    .expect("a filter key='value'");
                let want = want.trim_matches('\'');
                let hit = |e: &Value| {
                    e.get(key).is_some_and(|v| match v {
                        Value::String(s) => s == want,
                        Value::Number(n) => n.as_i64().is_some_and(|n| want.parse() == Ok(n)),
                        _ => false,
                    })
                };
                cur = match cur.get(name)? {
                    Value::Array(a) => a.iter().find(|e| hit(e))?,
                    other => Some(other).filter(|e| hit(e))?,
                };
            }
            None => cur = cur.get(step)?,
        }
    }
    Some(cur)
}

/// Source paths of a field spec: (path, from the record root?).
fn paths(spec: &toml::Value, out: &mut Vec<String>) {
    match spec {
        toml::Value::String(s) => out.push(s.clone()),
        toml::Value::Table(t) => {
            if let Some(toml::Value::String(p)) = t.get("path") {
                out.push(p.clone());
            }
            for key in ["first_of", "list", "concat"] {
                if let Some(toml::Value::Array(a)) = t.get(key) {
                    out.extend(a.iter().filter_map(|x| x.as_str().map(str::to_owned)));
                }
            }
        }
        _ => {}
    }
}

fn check_fields(
    profile: &str,
    stream: &str,
    fields: &toml::Table,
    records: &[&Value],
    problems: &mut Vec<String>,
) {
    for (name, spec) in fields {
        if let toml::Value::Table(t) = spec
            && let (Some(toml::Value::String(each)), Some(toml::Value::Table(sub))) =
                (t.get("each"), t.get("fields"))
        {
            let elems: Vec<&Value> = records
                .iter()
                .filter_map(|r| resolve(r, each))
                .filter_map(Value::as_array)
                .flatten()
                .collect();
            if elems.is_empty() && !OPTIONAL.contains(&each.as_str()) {
                problems.push(format!(
                    "{profile}/{stream}: `{each}` ({name}) never present"
                ));
            }
            if !elems.is_empty() {
                check_fields(profile, stream, sub, &elems, problems);
            }
            continue;
        }
        let mut ps = Vec::new();
        paths(spec, &mut ps);
        for p in ps {
            let found = records
                .iter()
                .any(|r| resolve(r, &p).is_some_and(|v| !v.is_null()));
            if !found && !OPTIONAL.contains(&p.trim_start_matches('/')) {
                problems.push(format!(
                    "{profile}/{stream}: path `{p}` ({name}) resolves in no record"
                ));
            }
        }
    }
}

#[tokio::test]
async fn builtin_mappings_match_profiles_and_delivered_records() {
    let files: Vec<(&str, &str)> = kontor_rest::PROFILES
        .iter()
        .map(|p| (*p, mock::secret_of(p)))
        .collect();
    let s = Secrets::new(&files);
    assert_eq!(
        kontor_rest::BUILTIN_MAPPINGS
            .iter()
            .map(|m| m.0)
            .collect::<Vec<_>>(),
        kontor_rest::PROFILES
    );
    let mut problems = Vec::new();
    for (profile, text) in kontor_rest::BUILTIN_MAPPINGS {
        let mapping: toml::Table =
            toml::from_str(text).unwrap_or_else(|e| panic!("{profile}: {e}"));
        let erp = MockErp::start(profile).await;
        let conn = build(
            &format!(
                "base_url = \"{}\"\nprofile = \"{profile}\"\n{}",
                erp.uri(),
                erp.connector_auth(profile, profile)
            ),
            "",
            s.path(),
        );
        let streams: HashSet<String> = conn.describe().streams.into_iter().collect();
        let runs = run_all(&conn, &mut HashMap::new()).await;
        let targets = mapping["target"].as_array().expect("targets");
        let mut mapped = HashSet::new();
        for t in targets {
            let stream = t["stream"]
                .as_str()
                .expect("every built-in target names its stream");
            assert!(
                streams.contains(stream),
                "{profile}: unknown stream {stream}"
            );
            mapped.insert(stream.to_owned());
            let trees = runs[stream].trees();
            let records: Vec<&Value> = match t.get("each").and_then(|e| e.as_str()) {
                Some(each) => trees
                    .iter()
                    .filter_map(|r| resolve(r, each))
                    .filter_map(Value::as_array)
                    .flatten()
                    .map(|e| e as &Value)
                    .collect(),
                None => trees.clone(),
            };
            // Paths with a leading `/` inside an `each` target start at the record root.
            let fields = t["fields"].as_table().expect("fields");
            let (rooted, relative): (toml::Table, toml::Table) =
                fields.clone().into_iter().partition(|(_, v)| {
                    v.as_str()
                        .or_else(|| v.get("path").and_then(|p| p.as_str()))
                        .is_some_and(|p| p.starts_with('/'))
                });
            check_fields(profile, stream, &relative, &records, &mut problems);
            check_fields(profile, stream, &rooted, &trees, &mut problems);
            for cond in t
                .get("when")
                .and_then(|w| w.as_array())
                .into_iter()
                .flatten()
            {
                let p = cond["path"].as_str().unwrap();
                assert!(
                    trees.iter().any(|r| resolve(r, p).is_some()),
                    "{profile}/{stream}: when path {p}"
                );
            }
        }
        // Every stream but weclapp's article master has a target.
        for s in &streams {
            assert!(
                mapped.contains(s) || s == "article",
                "{profile}: stream {s} unmapped"
            );
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
