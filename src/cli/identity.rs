//! `kontor identity …`: resolve, list suggestions, confirm/reject them, merge and split.

use super::{Cli, load_config, open_store_as};
use clap::Subcommand;
use kontor::identity::triage::Suggestion;
use kontor::identity::triage::{self, Selection};
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
    /// Confirm a suggestion (or all open ones of a rule, system or cluster): the customers
    /// become one.
    Confirm {
        /// The suggestion's id.
        #[arg(required_unless_present_any = ["rule", "system", "cluster"], conflicts_with_all = ["rule", "system", "cluster", "dry_run"])]
        id: Option<i64>,
        #[command(flatten)]
        bulk: Bulk,
    },
    /// Reject a suggestion (or all open ones of a rule, system or cluster): they stay apart
    /// and are not suggested again.
    Reject {
        /// The suggestion's id.
        #[arg(required_unless_present_any = ["rule", "system", "cluster"], conflicts_with_all = ["rule", "system", "cluster", "dry_run"])]
        id: Option<i64>,
        #[command(flatten)]
        bulk: Bulk,
    },
    /// E-mail addresses and phone numbers not taken as evidence (generic or ignored), and why.
    Generic {
        #[arg(long)]
        json: bool,
    },
    /// Merge customer B into customer A (the older id stays).
    Merge { a: i64, b: i64 },
    /// Split customer numbers (`system:number`) off a customer.
    Split {
        id: i64,
        #[arg(required = true)]
        keys: Vec<String>,
    },
}

/// Bulk decisions: every open suggestion that meets all the given conditions.
#[derive(clap::Args, Debug)]
pub struct Bulk {
    /// Suggestions of this rule: email, phone, vat_id, gln (their `_blocked` forms) or
    /// name_postcode.
    #[arg(long)]
    rule: Option<String>,
    /// Suggestions one of whose sides is a customer number of this system.
    #[arg(long)]
    system: Option<String>,
    /// The suggestions of this cluster (its id as `identity suggestions` shows it).
    #[arg(long)]
    cluster: Option<i64>,
    /// Show what would be decided, decide nothing.
    #[arg(long)]
    dry_run: bool,
}

fn line(s: &Suggestion) -> String {
    format!(
        "{:>5}  {:.2}  {} (customer {}) ~ {} (customer {})  {}  [{}]",
        s.id,
        s.score,
        s.a,
        s.a_customer_id.map_or("?".into(), |i| i.to_string()),
        s.b,
        s.b_customer_id.map_or("?".into(), |i| i.to_string()),
        s.reason,
        s.status
    )
}

async fn bulk(
    store: &kontor::store::DynStore,
    cfg: &kontor::config::Config,
    b: &Bulk,
    confirm: bool,
) -> anyhow::Result<Option<ResolveSummary>> {
    let selection = Selection {
        rule: b.rule.clone(),
        system: b.system.clone(),
        cluster: b.cluster,
    };
    let (taken, summary) =
        actions::decide_selected(store, cfg, &selection, confirm, b.dry_run).await?;
    let verb = match (confirm, b.dry_run) {
        (true, false) => "confirmed",
        (false, false) => "rejected",
        (true, true) => "would confirm",
        (false, true) => "would reject",
    };
    for s in &taken {
        println!("{}", line(s));
    }
    let clusters = taken
        .iter()
        .map(|s| s.cluster)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    println!(
        "{verb} {} suggestion(s) in {clusters} cluster(s) ({})",
        taken.len(),
        selection.describe()
    );
    Ok(summary)
}

fn print_summary(r: &ResolveSummary) {
    println!(
        "customers={} source_customers={} changed={} suggestions={} ambiguous={} generic={}",
        r.customers, r.source_customers, r.changed, r.suggestions, r.ambiguous, r.generic
    );
}

pub async fn run(cli: &Cli, cmd: &IdentityCmd) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    let store = open_store_as(&cfg, kontor::store::Open::Create).await?;
    if !matches!(
        cmd,
        IdentityCmd::Suggestions { .. } | IdentityCmd::Generic { .. }
    ) {
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
            let list = triage::listing(&store, filter).await?;
            if *json {
                for s in &list {
                    println!("{}", serde_json::to_string(s)?);
                }
                return Ok(0);
            }
            let groups = triage::groups(&list);
            for g in &groups {
                println!(
                    "cluster {}: {} customers, {} suggestion(s), {}",
                    g.cluster,
                    g.customers,
                    g.suggestions.len(),
                    g.rules().join(", ")
                );
                for s in &g.suggestions {
                    println!("{}", line(s));
                }
            }
            if list.is_empty() {
                eprintln!("no {status} suggestions");
            } else {
                eprintln!(
                    "{} {status} suggestion(s) in {} cluster(s); decide a cluster with `kontor identity confirm|reject --cluster N`, a rule with `--rule email [--system S]`",
                    list.len(),
                    groups.len()
                );
            }
            return Ok(0);
        }
        IdentityCmd::Generic { json } => {
            let g = kontor::identity::run::generic_values(&store, &cfg).await?;
            for (rule, value, why) in g.iter() {
                if *json {
                    let line =
                        serde_json::json!({"rule": rule, "value": value, "why": why.to_string()});
                    println!("{line}");
                } else {
                    println!("{rule:<6} {value}  {why}");
                }
            }
            if !*json {
                eprintln!(
                    "{} generic value(s) (shared, not taken as evidence; [identity] generic_after = {}, ignore: {} entr(y/ies))",
                    g.len(),
                    cfg.identity.generic_after,
                    cfg.identity.ignore.len()
                );
            }
            return Ok(0);
        }
        IdentityCmd::Confirm { id: Some(id), .. } => {
            actions::decide(&store, &cfg, *id, true).await?
        }
        IdentityCmd::Reject { id: Some(id), .. } => {
            actions::decide(&store, &cfg, *id, false).await?
        }
        IdentityCmd::Confirm { bulk: b, .. } | IdentityCmd::Reject { bulk: b, .. } => {
            let confirm = matches!(cmd, IdentityCmd::Confirm { .. });
            match bulk(&store, &cfg, b, confirm).await? {
                Some(s) => s,
                None => return Ok(0),
            }
        }
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
