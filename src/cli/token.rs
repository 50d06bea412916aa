//! `kontor token create|list|revoke`: API tokens (shown once, stored hashed).

use super::{Cli, load_config, open_store_as};
use clap::Subcommand;
use kontor::api::auth::{Role, hash_token, new_token, valid_token_name};

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Create a token and print it once (it is stored hashed).
    Create {
        /// sales, service, ops or cti
        #[arg(long)]
        role: String,
        /// Who uses it (a team, an application): shown by `list`, used to revoke it.
        #[arg(long)]
        name: String,
        /// The team whose contacts it logs (works-council mode records teams, not people).
        #[arg(long)]
        team: Option<String>,
    },
    /// Tokens with role and state (never the tokens themselves).
    List,
    /// Revoke a token by name.
    Revoke { name: String },
}

pub async fn run(cli: &Cli, cmd: &TokenCmd) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    let store = open_store_as(&cfg, kontor::store::Open::Create).await?;
    match cmd {
        TokenCmd::Create { role, name, team } => {
            let Some(role) = Role::parse(role) else {
                anyhow::bail!("role `{role}`: use sales, service, ops or cti");
            };
            if !valid_token_name(name) {
                anyhow::bail!("token name `{name}`: 1–64 letters, digits, space, - _ . @");
            }
            let token = new_token();
            store
                .create_token(name, role.as_str(), team.as_deref(), &hash_token(&token))
                .await?;
            eprintln!("token `{name}` (role {role}) created; it is shown only now:");
            println!("{token}");
        }
        TokenCmd::List => {
            for t in store.tokens().await? {
                println!(
                    "{:<30} {:<8} created {}{}",
                    t.name,
                    t.role,
                    t.created_at.format("%Y-%m-%d %H:%M"),
                    t.revoked_at
                        .map(|r| format!(", revoked {}", r.format("%Y-%m-%d %H:%M")))
                        .unwrap_or_default()
                );
            }
        }
        TokenCmd::Revoke { name } => {
            if !store.revoke_token(name).await? {
                eprintln!("no active token named `{name}`");
                return Ok(1);
            }
            eprintln!("token `{name}` revoked (servers drop it within 10 s)");
        }
    }
    Ok(0)
}
