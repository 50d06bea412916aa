//! `kontor identity …`: resolve, list suggestions, confirm/reject them, merge and split.

use super::{Cli, load_config, open_store_as};
use clap::Subcommand;
use kontor::identity::{KeyId, ResolveSummary, actions, resolve_store};

#[derive(Subcommand, Debug)]
pub enum IdentityCmd {
    /// Resolve identities again (also done after every sync).
    Resolve {
        #[arg(long)]
        json: bool,
    },
    /// Possible duplicates for ops to decide.
    Suggestions {
        /// open (default), confirmed, rejected, obsolete, all
        #[arg(long, default_value = "open")]
        status: String,
        #[arg(long)]
        json: bool,
    },
    /// Confirm a suggestion: the two customers become one.
    Confirm { id: i64 },
    /// Reject a suggestion: the two stay apart and it is not suggested again.
    Reject { id: i64 },
    /// Merge customer B into customer A (the older id stays).
    Merge { a: i64, b: i64 },
    /// Split customer numbers (`system:number`) off a customer.
    Split {
        id: i64,
        #[arg(required = true)]
        keys: Vec<String>,
    },
}

fn print_summary(r: &ResolveSummary) {
    println!(
        "customers={} source_customers={} changed={} suggestions={} ambiguous={}",
        r.customers, r.source_customers, r.changed, r.suggestions, r.ambiguous
    );
}

pub async fn run(cli: &Cli, cmd: &IdentityCmd) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    let store = open_store_as(&cfg, kontor::store::Open::Create).await?;
    if !matches!(cmd, IdentityCmd::Suggestions { .. }) {
        super::cluster_gate(cli, &cfg, &store).await?;
    }
    let summary = match cmd {
        IdentityCmd::Resolve { json } => {
            let r = resolve_store(&store, &cfg).await?;
            if *json {
                println!("{}", serde_json::to_string(&r)?);
                return Ok(0);
            }
            r
        }
        IdentityCmd::Suggestions { status, json } => {
            let filter = (status != "all").then_some(status.as_str());
            let list = store.suggestions(filter, 0).await?;
            for s in &list {
                if *json {
                    println!("{}", serde_json::to_string(s)?);
                } else {
                    println!(
                        "{:>5}  {:.2}  {} (customer {}) ~ {} (customer {})  {}  [{}]",
                        s.id,
                        s.score,
                        s.a,
                        s.a_customer_id.map_or("?".into(), |i| i.to_string()),
                        s.b,
                        s.b_customer_id.map_or("?".into(), |i| i.to_string()),
                        s.reason,
                        s.status
                    );
                }
            }
            if list.is_empty() && !*json {
                eprintln!("no {status} suggestions");
            }
            return Ok(0);
        }
        IdentityCmd::Confirm { id } => actions::decide(&store, &cfg, *id, true).await?,
        IdentityCmd::Reject { id } => actions::decide(&store, &cfg, *id, false).await?,
        IdentityCmd::Merge { a, b } => actions::merge(&store, &cfg, *a, *b).await?,
        IdentityCmd::Split { id, keys } => {
            let keys: Vec<KeyId> = keys
                .iter()
                .map(|k| KeyId::parse(k).ok_or_else(|| anyhow::anyhow!("`{k}`: use system:number")))
                .collect::<Result<_, _>>()?;
            actions::split(&store, &cfg, *id, &keys).await?
        }
    };
    print_summary(&summary);
    Ok(0)
}
