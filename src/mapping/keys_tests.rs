//! The keys the engine accepts are the keys docs/mapping-format.md documents ("Every key"):
//! an unknown-key error lists exactly the documented keys.

use super::spec::MappingDoc;
use std::collections::BTreeSet;

const DOC: &str = include_str!("../../docs/mapping-format.md");

/// The backticked names in `text`.
fn ticked(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// `where` → keys of the "Every key" table.
fn documented() -> Vec<(String, BTreeSet<String>)> {
    let section = DOC
        .split("\n## Every key\n")
        .nth(1)
        .expect("docs/mapping-format.md has a section `## Every key`");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| where"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").collect();
            (cells[0].trim().to_owned(), ticked(cells[1]))
        })
        .collect()
}

/// The keys named by the error for an unknown key `zz_unknown` in `text`.
fn accepted(text: &str) -> BTreeSet<String> {
    let e = toml::from_str::<MappingDoc>(text).expect_err(text);
    let msg = e.message();
    assert!(msg.contains("unknown field `zz_unknown`"), "{msg}");
    let list = msg.split("expected").nth(1).unwrap_or_default();
    ticked(list)
}

fn csv_source_keys() -> BTreeSet<String> {
    let mut settings = toml::Table::new();
    settings.insert("path".into(), "inbox".into());
    let mut source = toml::Table::new();
    source.insert("zz_unknown".into(), toml::Value::Integer(1));
    let e = kontor_csv::build(kontor_connector::ConnectorSpec {
        name: "x".into(),
        settings,
        source,
        base_dir: ".".into(),
        batch_size: 1,
        own: Default::default(),
    })
    .err()
    .expect("unknown source key refused");
    let msg = e.message;
    assert!(msg.contains("zz_unknown"), "{msg}");
    ticked(msg.split("expected").nth(1).unwrap_or_default())
}

#[test]
fn every_key_the_engine_accepts_is_documented_and_no_other() {
    const T: &str = "[[target]]\nentity = \"customer\"\n";
    let doc = documented();
    let want = [
        "top level",
        "`[source]` (csv)",
        "`[[target]]`",
        "a field",
        "`pad_left`",
        "a condition",
        "`[[test]]`",
    ];
    let places: Vec<&str> = doc.iter().map(|(w, _)| w.as_str()).collect();
    assert_eq!(places, want, "the rows of `## Every key`");
    for (place, keys) in &doc {
        let engine = match place.as_str() {
            "top level" => accepted("zz_unknown = 1"),
            "`[source]` (csv)" => csv_source_keys(),
            "`[[target]]`" => accepted(&format!("{T}zz_unknown = 1")),
            "a field" => accepted(&format!("{T}[target.fields]\nname = {{ zz_unknown = 1 }}")),
            "`pad_left`" => accepted(&format!(
                "{T}[target.fields]\nname = {{ column = \"a\", pad_left = {{ width = 1, zz_unknown = 1 }} }}"
            )),
            "a condition" => accepted("skip_if = [ { zz_unknown = 1 } ]"),
            "`[[test]]`" => accepted("[[test]]\nname = \"x\"\ninput = {}\nzz_unknown = 1"),
            other => panic!("no probe for `{other}`"),
        };
        assert_eq!(
            keys, &engine,
            "{place}: documented (left) and accepted (right) keys differ"
        );
        // Each key is also explained somewhere else in the document.
        let rest = ticked(DOC.split("\n## Every key\n").next().unwrap_or_default());
        for k in keys {
            assert!(
                rest.iter().any(|t| t.contains(k.as_str())),
                "{place}: `{k}` is listed but never explained"
            );
        }
    }
}

#[test]
fn an_unknown_key_error_points_to_the_list() {
    let d = super::Mapping::from_text(
        "m",
        "m.toml",
        "[[target]]\nentity = \"customer\"\n[target.fields]\nname = { colum = \"Name\" }\n",
        super::no_builtins,
    )
    .unwrap_err();
    assert!(d[0].message.contains("unknown field `colum`"), "{d:?}");
    assert!(d[0].message.contains("`column`, `path`"), "{d:?}");
    assert!(d[0].message.contains("docs/mapping-format.md"), "{d:?}");
}
