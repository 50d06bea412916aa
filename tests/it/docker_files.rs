//! The docker/ files as ops use them (no Docker engine here): the compose file's structure,
//! the Dockerfile's stages and runtime settings, and the container's kontor.toml.

use kontor::config::Config;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn compose_runs_kontor_serve_with_postgres_and_the_volumes() {
    let text = std::fs::read_to_string(repo().join("docker/compose.yaml")).unwrap();
    let doc: yaml_serde::Value = yaml_serde::from_str(&text).unwrap();
    let services = &doc["services"];
    let pg = &services["postgres"];
    assert!(pg["image"].as_str().unwrap().starts_with("postgres:"));
    assert!(pg["healthcheck"]["test"].is_sequence());
    let k = &services["kontor"];
    assert_eq!(k["build"]["dockerfile"].as_str(), Some("docker/Dockerfile"));
    assert_eq!(k["command"][0].as_str(), Some("serve"));
    assert_eq!(
        k["depends_on"]["postgres"]["condition"].as_str(),
        Some("service_healthy")
    );
    let url = k["environment"]["KONTOR_STORE__URL"].as_str().unwrap();
    assert!(
        url.starts_with("postgres://kontor:${KONTOR_PG_PASSWORD")
            && url.ends_with("@postgres:5432/kontor"),
        "{url}"
    );
    let volumes: Vec<&str> = k["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        volumes.contains(&"inbox:/var/lib/kontor/inbox"),
        "{volumes:?}"
    );
    assert!(
        volumes.contains(&"mappings:/etc/kontor/mappings"),
        "{volumes:?}"
    );
    for v in ["pgdata", "inbox", "mappings"] {
        assert!(doc["volumes"].get(v).is_some(), "volume {v}");
    }
    // A password never sits in the file.
    assert!(!text.contains("POSTGRES_PASSWORD: ") || text.contains("POSTGRES_PASSWORD: ${"));
}

#[test]
fn dockerfile_is_multi_stage_non_root_with_a_health_check() {
    let text = std::fs::read_to_string(repo().join("docker/Dockerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    let froms: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "build stage and a slim runtime stage");
    assert!(froms[0].contains(" AS build") && froms[1].contains("-slim"));
    let user = lines.iter().find(|l| l.starts_with("USER ")).expect("USER");
    assert_ne!(user.trim(), "USER root");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("HEALTHCHECK") && l.contains("\"health\""))
    );
    assert!(lines.iter().any(|l| l.starts_with("CMD [\"serve\"]")));
    assert!(lines.iter().any(|l| l.starts_with("COPY --from=build")));
}

#[test]
fn the_container_config_is_valid_and_its_mappings_exist() {
    let text = std::fs::read_to_string(repo().join("docker/kontor.toml")).unwrap();
    let cfg = Config::parse(
        "docker/kontor.toml",
        &text,
        PathBuf::from("/etc/kontor"),
        Vec::new(),
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    assert!(!cfg.connectors.is_empty());
    for c in &cfg.connectors {
        assert!(
            c.schedule.is_some(),
            "{}: scheduled by kontor serve",
            c.name
        );
        if let Some(m) = &c.mapping {
            // The image copies mappings/ to /etc/kontor/mappings.
            assert!(repo().join(m).exists(), "{}: {m}", c.name);
        }
    }
}
