//! The docker/ files as ops use them (no Docker engine here): the compose file's structure,
//! the Dockerfile's stages and runtime settings, and the container's kontor.toml.

use kontor::config::Config;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn compose_runs_kontor_serve_with_postgres_secrets_and_bind_mounts() {
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
    // The password is a secret file that both services read; it is in no variable.
    assert_eq!(
        doc["secrets"]["pg_password"]["file"].as_str(),
        Some("./secrets/pg_password")
    );
    for svc in [pg, k] {
        let names: Vec<&str> = svc["secrets"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(names, ["pg_password"]);
    }
    assert_eq!(
        pg["environment"]["POSTGRES_PASSWORD_FILE"].as_str(),
        Some("/run/secrets/pg_password")
    );
    assert!(pg["environment"].get("POSTGRES_PASSWORD").is_none());
    assert!(!text.contains("${"), "no password from the environment");
    let env = &k["environment"];
    let url = env["KONTOR_STORE__URL"].as_str().unwrap();
    assert_eq!(
        url, "postgres://kontor@postgres:5432/kontor",
        "no password in the URL"
    );
    assert_eq!(
        env["KONTOR_STORE__PASSWORD_FILE"].as_str(),
        Some("/run/secrets/pg_password")
    );
    // kontor reads the container config with these variables as it does at start.
    let cfg_text = std::fs::read_to_string(repo().join("docker/kontor.toml")).unwrap();
    let vars: Vec<(String, String)> = ["KONTOR_STORE__URL", "KONTOR_STORE__PASSWORD_FILE"]
        .iter()
        .map(|k| (k.to_string(), env[*k].as_str().unwrap().to_owned()))
        .collect();
    let cfg = Config::parse(
        "docker/kontor.toml",
        &cfg_text,
        PathBuf::from("/etc/kontor"),
        vars,
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(cfg.store.url, url);
    assert_eq!(
        cfg.store.password_file.as_deref(),
        Some("/run/secrets/pg_password")
    );
    // Config and mappings are bind mounts of the repository's files (an edit shows at the
    // next start; no named volume keeps old mappings); the store's folder is a volume.
    let volumes: Vec<&str> = k["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for v in [
        "./kontor.toml:/etc/kontor/kontor.toml:ro",
        "../mappings:/etc/kontor/mappings:ro",
        "./inbox:/var/lib/kontor/inbox",
        "data:/var/lib/kontor",
    ] {
        assert!(volumes.contains(&v), "{v} in {volumes:?}");
    }
    assert!(repo().join("docker/kontor.toml").is_file());
    assert!(repo().join("mappings").is_dir());
    for v in ["pgdata", "data"] {
        assert!(doc["volumes"].get(v).is_some(), "volume {v}");
    }
    assert!(
        doc["volumes"].get("mappings").is_none(),
        "mappings are a bind mount"
    );
    // Without the variables the store is SQLite in the data volume.
    let plain = Config::parse(
        "docker/kontor.toml",
        &cfg_text,
        PathBuf::from("/etc/kontor"),
        Vec::new(),
    )
    .unwrap();
    assert!(plain.store.url.starts_with("sqlite:///var/lib/kontor/"));
    // Secrets and inbox files never go into the build context.
    let ignore = std::fs::read_to_string(repo().join("docker/Dockerfile.dockerignore")).unwrap();
    assert!(
        ignore.lines().any(|l| l.trim() == "docker/secrets/"),
        "{ignore}"
    );
}

#[test]
fn dockerfile_caches_dependencies_runs_non_root_with_a_health_check() {
    let text = std::fs::read_to_string(repo().join("docker/Dockerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    let froms: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.iter().any(|l| l.contains(" AS build")), "{froms:?}");
    assert!(
        froms.last().unwrap().contains("-slim"),
        "a slim runtime stage"
    );
    // The dependency layer: the recipe is cooked before the sources are copied in.
    let at = |needle: &str| lines.iter().position(|l| l.contains(needle));
    let build_from = at(" AS build").unwrap();
    let cook = at("cargo chef cook").expect("cargo chef cook");
    let copy_src = lines[build_from..]
        .iter()
        .position(|l| l.starts_with("COPY . ."))
        .map(|i| i + build_from)
        .expect("COPY . . in the build stage");
    assert!(
        build_from < cook && cook < copy_src,
        "dependencies before sources"
    );
    assert!(at("cargo chef prepare").unwrap() < build_from);
    let user = lines.iter().find(|l| l.starts_with("USER ")).expect("USER");
    assert_ne!(user.trim(), "USER root");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("HEALTHCHECK") && l.contains("\"health\""))
    );
    assert!(lines.iter().any(|l| l.starts_with("CMD [\"serve\"]")));
    assert!(lines.iter().any(|l| l.starts_with("COPY --from=build")));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("VOLUME [\"/var/lib/kontor\"]"))
    );
    // No configuration baked into the image (it is bind-mounted).
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("COPY docker/kontor.toml") || l.starts_with("COPY mappings"))
    );
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
            // Compose bind-mounts mappings/ at /etc/kontor/mappings.
            assert!(repo().join(m).exists(), "{}: {m}", c.name);
        }
    }
}
