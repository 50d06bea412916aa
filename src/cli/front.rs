//! `kontor privacy …` (erasure, export, retention) and `kontor reminders …`.

use super::{Cli, load_config, open_store_as};
use clap::Subcommand;
use kontor::directory::Directory;
use kontor::front::privacy::Person;
use kontor::view::ViewContext;

#[derive(clap::Args, Debug)]
pub struct PersonArgs {
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    name: Option<String>,
}

impl PersonArgs {
    fn person(&self) -> anyhow::Result<Person> {
        if self.email.is_none() && self.phone.is_none() && self.name.is_none() {
            anyhow::bail!("name the person: --email, --phone and/or --name");
        }
        Ok(Person {
            email: self.email.clone(),
            phone: self.phone.clone(),
            name: self.name.clone(),
        })
    }
}

#[derive(clap::Args, Debug)]
pub struct EraseArgs {
    #[command(flatten)]
    person: PersonArgs,
    /// Only list what would change.
    #[arg(long)]
    dry_run: bool,
    /// Erase: the number of changes the dry run listed (it must still be the same).
    #[arg(long)]
    confirm: Option<u64>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
pub enum PrivacyCmd {
    /// Erase a person everywhere (exact e-mail, phone number, full name); a tombstone keeps
    /// later syncs from bringing the data back. `--dry-run` first, then `--confirm N`.
    Erase(EraseArgs),
    /// Everything stored about a person, as JSON.
    Export(PersonArgs),
    /// Delete what is older than its retention ([privacy] retention).
    Purge,
}

#[derive(Subcommand, Debug)]
pub enum RemindersCmd {
    /// Suggest reminders now (all rules, including the invoice scan).
    Suggest,
    /// Reminders due today or overdue.
    Due {
        #[arg(long)]
        json: bool,
    },
}

pub async fn privacy(cli: &Cli, cmd: &PrivacyCmd) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    let store = open_store_as(&cfg, kontor::store::Open::Create).await?;
    let region = cfg.identity.phone_region.clone();
    match cmd {
        PrivacyCmd::Erase(a) => {
            let req = kontor::front::privacy::ErasureRequest {
                person: a.person.person()?,
                dry_run: a.dry_run || a.confirm.is_none(),
                confirm: a.confirm,
            };
            let s = kontor::front::privacy::erase(&store, &req, &region).await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                for c in &s.changes {
                    println!("{:<9} {:<20} {}", c.action, c.table, c.key);
                }
                println!(
                    "{}total={} records={} activities={} complaints={} quarantine={} other={} tombstones={}",
                    if s.dry_run { "dry run: " } else { "erased: " },
                    s.total,
                    s.records,
                    s.activities,
                    s.tickets,
                    s.quarantine,
                    s.other,
                    s.tombstones
                );
            }
            if s.dry_run && !a.dry_run {
                eprintln!(
                    "nothing erased yet: check the list, then run again with --confirm {}",
                    s.total
                );
                return Ok(2);
            }
        }
        PrivacyCmd::Export(p) => {
            let e = kontor::front::privacy::export(&store, &p.person()?, &region).await?;
            println!("{}", serde_json::to_string_pretty(&e)?);
        }
        PrivacyCmd::Purge => {
            super::cluster_gate(cli, &cfg, &store).await?;
            for (table, n) in kontor::front::purge(&store, &cfg).await? {
                println!("{table}: {n} row(s) deleted");
            }
        }
    }
    Ok(0)
}

pub async fn reminders(cli: &Cli, cmd: &RemindersCmd) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    let store = open_store_as(&cfg, kontor::store::Open::Create).await?;
    let today = chrono::Local::now().date_naive();
    match cmd {
        RemindersCmd::Suggest => {
            super::cluster_gate(cli, &cfg, &store).await?;
            let ctx = ViewContext::from_config(&cfg);
            let dir = Directory::load(&store, &ctx.policy, &cfg.identity.phone_region).await?;
            let s =
                kontor::front::reminders::suggest(&store, &cfg.reminders, &ctx, &dir, today, true)
                    .await?;
            // The server's daily scan need not repeat it today.
            store.job_ran("reminders_full", chrono::Utc::now()).await?;
            println!(
                "created={} known={} invoices_checked={}",
                s.created, s.known, s.invoices_checked
            );
        }
        RemindersCmd::Due { json } => {
            let list = kontor::front::desk::reminders(
                &store,
                &kontor::store::ReminderFilter {
                    due_by: Some(today),
                    limit: 500,
                    ..Default::default()
                },
            )
            .await?;
            for r in &list {
                if *json {
                    println!("{}", serde_json::to_string(r)?);
                } else {
                    println!(
                        "{:>5}  {}  {:<50} {}{}",
                        r.id,
                        r.due_date.format("%d.%m.%Y"),
                        r.title,
                        r.reason.as_deref().unwrap_or(""),
                        r.customer_id
                            .map(|c| format!("  (Kunde {c})"))
                            .unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(0)
}
