//! `kontor connectors` (the connector kinds and built-in profiles, with what each reads) and
//! `kontor init --profile NAME` (a commented `[[connector]]` stanza for a profile).

use kontor::registry;
use std::io::Write;
use std::path::Path;

pub fn list(json: bool) -> anyhow::Result<i32> {
    let kinds = registry::kind_descriptions();
    let profiles = registry::profiles();
    if json {
        let v = serde_json::json!({
            "kinds": kinds.iter().map(|(k, d)| serde_json::json!({"kind": k, "reads": d})).collect::<Vec<_>>(),
            "profiles": profiles,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    println!("Connector kinds (kind = \"…\" in kontor.toml):");
    for (k, d) in &kinds {
        println!("  {k:<8} {d}");
    }
    println!("\nBuilt-in REST profiles (kind = \"rest\", profile = \"…\"):");
    for p in &profiles {
        println!(
            "\n  {} — {}\n    rate limit: {}\n    auth: {}",
            p.name,
            p.title,
            p.rate_limit
                .as_deref()
                .map(|r| format!("{r} (vendor's documented limit, the default)"))
                .unwrap_or_else(|| "none documented (set rate_limit)".into()),
            p.auth
        );
        for s in &p.streams {
            println!(
                "    {:<22} → {:<28} increment: {}",
                s.stream,
                if s.entities.is_empty() {
                    "(for own mappings)".to_owned()
                } else {
                    s.entities.join(", ")
                },
                s.increment
            );
        }
        if let Some(n) = &p.not_read {
            println!("    not read: {n}");
        }
    }
    println!("\nA stanza for kontor.toml: kontor init --profile NAME");
    Ok(0)
}

pub fn init(profile: &str, name: Option<&str>, out: Option<&Path>) -> anyhow::Result<i32> {
    let Some(info) = registry::profiles().into_iter().find(|p| p.name == profile) else {
        let names: Vec<String> = registry::profiles().into_iter().map(|p| p.name).collect();
        anyhow::bail!(
            "unknown profile `{profile}`; built-in profiles: {}",
            names.join(", ")
        );
    };
    let name = name.unwrap_or(profile);
    let stanza = info.stanza(name);
    let Some(out) = out else {
        print!("{stanza}");
        return Ok(0);
    };
    let existing = match std::fs::read_to_string(out) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => anyhow::bail!("{}: {e}", out.display()),
    };
    if let Ok(t) = toml::from_str::<toml::Table>(&existing) {
        let taken = t
            .get("connector")
            .and_then(|c| c.as_array())
            .is_some_and(|a| {
                a.iter()
                    .any(|c| c.get("name").and_then(|n| n.as_str()) == Some(name))
            });
        if taken {
            anyhow::bail!(
                "{}: a connector named `{name}` exists already; choose another with --name",
                out.display()
            );
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    let sep = if existing.is_empty() || existing.ends_with("\n\n") {
        ""
    } else if existing.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    write!(f, "{sep}{stanza}")?;
    eprintln!(
        "{}: connector `{name}` added (profile {profile}); set base_url and the secret, then `kontor check`",
        out.display()
    );
    Ok(0)
}
