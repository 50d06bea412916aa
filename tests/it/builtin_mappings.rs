//! Every built-in mapping (XML document profiles, REST ERP profiles) compiles and its
//! fixtures pass.

use kontor::mapping::{Mapping, fixtures};
use kontor::registry;

#[test]
fn every_builtin_mapping_compiles_and_passes_its_fixtures() {
    let names: Vec<&str> = kontor_xml::BUILTIN_MAPPINGS
        .iter()
        .chain(kontor_rest::BUILTIN_MAPPINGS)
        .map(|(n, _)| *n)
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    let mut problems = Vec::new();
    for name in names {
        match Mapping::builtin(name, registry::builtin_mapping) {
            Ok(m) => {
                for r in fixtures::run_inline(&m) {
                    if let Some(f) = r.failure {
                        problems.push(format!("{} {}:\n{f}", r.location, r.name));
                    }
                }
            }
            Err(d) => problems.extend(d.iter().map(ToString::to_string)),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
