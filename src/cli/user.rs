//! `kontor user add|list|remove|passwd|unlock|signout`: people who sign in to the web page.
//! Passwords come from `--password-file`, from stdin, or from a prompt without echo — never
//! from the command line (it shows in `ps` and the shell history).

use super::{Cli, load_config, open_store_as};
use clap::Subcommand;
use kontor::api::accounts::{PERSON_ROLES, hash_password, password_problem, valid_user_name};
use kontor::api::auth::Role;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Add a local account (argon2id); the password from --password-file, stdin or a prompt.
    Add {
        name: String,
        /// sales, service or ops
        #[arg(long)]
        role: String,
        /// The team whose contacts the person logs (works-council mode records teams).
        #[arg(long)]
        team: Option<String>,
        /// Read the password from this file (its first line).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// People with role, team, source and state (never password hashes).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a person and end their sessions.
    Remove { name: String },
    /// Set a new password (ends the person's sessions, lifts a lock).
    Passwd {
        name: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Lift a lock after too many failed sign-ins.
    Unlock { name: String },
    /// End all sessions of a person (sign-out everywhere).
    Signout { name: String },
}

/// The password: the file's first line, stdin's first line, or typed twice at a prompt.
fn read_password(file: Option<&Path>) -> anyhow::Result<String> {
    let first_line = |s: &str| s.lines().next().unwrap_or_default().to_owned();
    let password = if let Some(f) = file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?;
        first_line(&text)
    } else if std::io::stdin().is_terminal() {
        let a = prompt("Passwort: ")?;
        let b = prompt("Passwort wiederholen: ")?;
        if a != b {
            anyhow::bail!("the passwords differ");
        }
        a
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        first_line(&line)
    };
    if let Some(p) = password_problem(&password) {
        anyhow::bail!("{p}");
    }
    Ok(password)
}

/// Reads a line from the terminal with echo off.
fn prompt(text: &str) -> anyhow::Result<String> {
    eprint!("{text}");
    std::io::stderr().flush()?;
    // SAFETY: termios of stdin (a terminal, checked by the caller), restored below.
    let saved = unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut t) != 0 {
            anyhow::bail!("cannot read the terminal's settings");
        }
        let saved = t;
        t.c_lflag &= !libc::ECHO;
        libc::tcsetattr(0, libc::TCSANOW, &t);
        saved
    };
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    // SAFETY: restores what tcgetattr returned.
    unsafe {
        libc::tcsetattr(0, libc::TCSANOW, &saved);
    }
    eprintln!();
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub async fn run(cli: &Cli, cmd: &UserCmd) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    let store = open_store_as(&cfg, kontor::store::Open::Create).await?;
    match cmd {
        UserCmd::Add {
            name,
            role,
            team,
            password_file,
        } => {
            let Some(role) = Role::parse(role).filter(|r| PERSON_ROLES.contains(r)) else {
                anyhow::bail!("role `{role}`: use sales, service or ops");
            };
            if !valid_user_name(name) {
                anyhow::bail!("user name `{name}`: 1–64 letters, digits, - _ . @");
            }
            if store.user(name).await?.is_some() {
                anyhow::bail!("a user named `{name}` exists already");
            }
            let password = read_password(password_file.as_deref())?;
            let hash = tokio::task::spawn_blocking(move || hash_password(&password))
                .await?
                .map_err(|e| anyhow::anyhow!(e))?;
            store
                .create_user(name, role.as_str(), team.as_deref(), "local", Some(&hash))
                .await?;
            eprintln!("user `{name}` (role {role}) added");
        }
        UserCmd::List { json } => {
            let users = store.users().await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&users)?);
                return Ok(0);
            }
            let now = chrono::Utc::now();
            for u in users {
                let state = match u.locked_until {
                    Some(t) if t > now => format!("locked until {}", t.format("%Y-%m-%d %H:%M")),
                    _ => "active".into(),
                };
                println!(
                    "{:<30} {:<8} {:<16} {:<6} {}{}",
                    u.name,
                    u.role,
                    u.team.as_deref().unwrap_or("-"),
                    u.source,
                    state,
                    u.last_sign_in
                        .map(|t| format!(", last sign-in {}", t.format("%Y-%m-%d %H:%M")))
                        .unwrap_or_default()
                );
            }
        }
        UserCmd::Remove { name } => {
            if !store.remove_user(name).await? {
                eprintln!("no user named `{name}`");
                return Ok(1);
            }
            eprintln!("user `{name}` removed, their sessions ended");
        }
        UserCmd::Passwd {
            name,
            password_file,
        } => {
            match store.user(name).await? {
                Some(u) if u.source == "local" => {}
                Some(_) => anyhow::bail!("`{name}` signs in through OIDC: no password here"),
                None => {
                    eprintln!("no user named `{name}`");
                    return Ok(1);
                }
            }
            let password = read_password(password_file.as_deref())?;
            let hash = tokio::task::spawn_blocking(move || hash_password(&password))
                .await?
                .map_err(|e| anyhow::anyhow!(e))?;
            store.set_password(name, &hash).await?;
            eprintln!("password of `{name}` changed, their sessions ended");
        }
        UserCmd::Unlock { name } => {
            if !store.unlock_user(name).await? {
                eprintln!("no user named `{name}`");
                return Ok(1);
            }
            eprintln!("user `{name}` unlocked");
        }
        UserCmd::Signout { name } => {
            let Some(u) = store.user(name).await? else {
                eprintln!("no user named `{name}`");
                return Ok(1);
            };
            let n = store.end_sessions(u.id).await?;
            eprintln!("{n} session(s) of `{name}` ended");
        }
    }
    Ok(0)
}
