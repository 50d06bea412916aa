//! `kontor customer` (search; with one hit the merged view) and `kontor lookup` (caller-ID).

use super::{Cli, load_config, open_store};
use kontor::directory::Directory;
use kontor::view::{MergedView, Money, ViewContext, customer_view};

/// `kontor lookup`.
#[derive(clap::Args, Debug)]
pub struct LookupArgs {
    pub number: String,
    #[arg(long)]
    pub json: bool,
}

/// `kontor customer`.
#[derive(clap::Args, Debug)]
pub struct CustomerArgs {
    /// Customer number, name, city, VAT ID, phone, e-mail, invoice or order number.
    pub query: String,
    /// QUERY is a customer id.
    #[arg(long)]
    pub id: bool,
    #[arg(long)]
    pub json: bool,
}

fn money(m: &Money) -> String {
    // German notation: 1.234,56 EUR
    format!("{} {}", kontor::view::german_amount(m.amount), m.currency)
}

fn date(d: Option<chrono::NaiveDate>) -> String {
    d.map_or_else(|| "–".into(), |d| d.format("%d.%m.%Y").to_string())
}

pub async fn customer(cli: &Cli, a: &CustomerArgs) -> anyhow::Result<i32> {
    let (query, id, json) = (a.query.as_str(), a.id, a.json);
    let cfg = load_config(cli)?;
    let store = open_store(&cfg).await?;
    let ctx = ViewContext::from_config(&cfg);
    let today = chrono::Local::now().date_naive();
    let target = if id {
        Some(
            query
                .parse::<i64>()
                .map_err(|_| anyhow::anyhow!("--id wants a customer id (a number)"))?,
        )
    } else {
        let dir = Directory::load(&store, &ctx.policy, &cfg.identity.phone_region).await?;
        let page = dir.search(&store, query, 20, None).await?;
        match page.hits.as_slice() {
            [] => {
                eprintln!("no customer matches `{query}`");
                return Ok(1);
            }
            [one] => Some(one.id),
            hits => {
                for h in hits {
                    if json {
                        println!("{}", serde_json::to_string(h)?);
                    } else {
                        let matched: Vec<String> = h
                            .matched_on
                            .iter()
                            .map(|m| format!("{} `{}` ({})", m.field, m.value, m.how))
                            .collect();
                        println!(
                            "{:>6}  {:<40} {:<12} {:<16} {}",
                            h.id,
                            h.name.as_deref().unwrap_or("(no name)"),
                            h.customer_no.as_deref().unwrap_or(""),
                            h.city.as_deref().unwrap_or(""),
                            matched.join(", ")
                        );
                    }
                }
                if !json {
                    eprintln!(
                        "{} customers match (of {}); `kontor customer --id ID` shows one",
                        hits.len(),
                        page.total
                    );
                }
                None
            }
        }
    };
    let Some(id) = target else { return Ok(0) };
    let Some(view) = customer_view(&store, &ctx, id, today).await? else {
        eprintln!("no customer {id}");
        return Ok(1);
    };
    if json {
        println!("{}", serde_json::to_string(&view)?);
    } else {
        print_view(&view);
    }
    Ok(0)
}

/// The merged view as text.
pub fn print_view(v: &MergedView) {
    println!(
        "{} (customer {}{})",
        v.name.as_deref().unwrap_or("(no name)"),
        v.id,
        v.requested_id
            .map(|r| format!(", merged from {r}"))
            .unwrap_or_default()
    );
    println!("\nmaster data (value  ← source):");
    for (field, f) in &v.fields {
        let value = match &f.value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        println!(
            "  {field:<18} {value:<50} ← {} {}",
            f.source.connector,
            f.source.position.as_deref().unwrap_or("")
        );
        for o in &f.others {
            println!("  {:<18}   also: {} ← {}", "", o.value, o.source.connector);
        }
    }
    println!("\nsources:");
    for s in &v.sources {
        let how = s.matched_on.as_ref().map_or_else(
            || s.rule.clone(),
            |m| format!("{} {} with {}", m.rule, m.value, m.via),
        );
        let counts: Vec<String> = s.records.iter().map(|(e, n)| format!("{e}={n}")).collect();
        println!(
            "  {:<20} {:<14} {:<40} {}{}",
            s.connector,
            s.external_id,
            how,
            counts.join(" "),
            if s.stale { "  STALE" } else { "" }
        );
    }
    let oi = &v.open_items;
    println!(
        "\nopen items: {} in {} invoice(s), overdue {} in {}",
        money(&oi.total),
        oi.count,
        money(&oi.overdue),
        oi.overdue_count
    );
    if oi.open_credit_notes_count > 0 {
        println!(
            "  less {} open credit note(s) {}: net {}",
            oi.open_credit_notes_count,
            money(&oi.open_credit_notes),
            money(&oi.open_net)
        );
    }
    for i in &oi.invoices {
        let dunning = match i.dunning_level {
            Some(l) if l > 0 => format!(" dunning level {l}"),
            _ => String::new(),
        };
        let extra: Vec<String> = i
            .extra
            .iter()
            .map(|x| format!("{}: {}", x.label, x.value))
            .collect();
        println!(
            "  {:<16} due {:<10} {:>16} {}{dunning}{}  ← {}",
            i.number,
            date(i.due_date),
            money(&i.open_amount),
            if i.overdue {
                format!("{} days overdue", i.days_overdue)
            } else {
                String::new()
            },
            if extra.is_empty() {
                String::new()
            } else {
                format!(" ({})", extra.join(", "))
            },
            i.source.connector
        );
    }
    if !v.credit_notes.is_empty() {
        println!("\ncredit notes:");
        for c in &v.credit_notes {
            let open = c
                .open_amount
                .as_ref()
                .map(|o| format!(" open {}", money(o)))
                .unwrap_or_default();
            println!(
                "  {:<16} {:<10} {:>16} for {}{open}  ← {}",
                c.number,
                date(c.issue_date),
                c.gross.as_ref().map(money).unwrap_or_default(),
                c.invoice_ref.as_deref().unwrap_or("–"),
                c.source.connector
            );
        }
    }
    if !v.open_orders.is_empty() {
        println!("\nopen orders:");
        for o in &v.open_orders {
            println!(
                "  {} of {} ({}), next delivery {}  ← {}",
                o.number,
                date(o.order_date),
                o.status,
                date(o.next_delivery_date),
                o.source.connector
            );
            for l in &o.lines {
                let moved = l
                    .promised_date_before
                    .map(|b| {
                        format!(
                            " (was {}, confirmed by {})",
                            date(Some(b)),
                            l.promised_date_source
                                .as_ref()
                                .map_or("", |p| p.connector.as_str())
                        )
                    })
                    .unwrap_or_default();
                let stock = l
                    .availability
                    .as_ref()
                    .map(|a| format!(", {} available", a.available))
                    .unwrap_or_default();
                println!(
                    "    {:<4} {:<10} {:<34} {} of {} delivered, promised {}{moved}{stock}",
                    l.line_no.as_deref().unwrap_or(""),
                    l.sku.as_deref().unwrap_or(""),
                    l.description.as_deref().unwrap_or(""),
                    l.delivered_quantity.unwrap_or_default(),
                    l.quantity.map(|q| q.to_string()).unwrap_or_default(),
                    date(l.promised_date)
                );
            }
        }
    }
    if !v.open_quotes.is_empty() {
        println!("\nopen quotes:");
        for q in &v.open_quotes {
            if q.status == "requested" {
                println!(
                    "  {:<14} of {} (requested, no quote yet)  ← {}",
                    q.number,
                    date(q.quote_date),
                    q.source.connector
                );
                continue;
            }
            let expiry = match q.days_to_expiry {
                Some(0) => ", expires today".to_owned(),
                Some(d) => format!(", expires in {d} days"),
                None => String::new(),
            };
            println!(
                "  {:<14} of {} ({}), valid until {}{expiry}  {}  ← {}",
                q.number,
                date(q.quote_date),
                q.status,
                date(q.valid_until),
                q.total.as_ref().map(money).unwrap_or_default(),
                q.source.connector
            );
        }
    }
    if !v.tickets.is_empty() {
        println!("\ncomplaints:");
        for t in &v.tickets {
            let expected = t
                .expected_cost
                .map(|c| format!(", expected cost {c} EUR"))
                .unwrap_or_default();
            println!(
                "  #{:<5} {} ({}, {}{}){expected}",
                t.id,
                t.title,
                t.category,
                t.status,
                if t.overdue { ", overdue" } else { "" }
            );
            for st in &t.steps {
                println!(
                    "    {}. {:<40} due {}  {}",
                    st.n,
                    st.step,
                    date(Some(st.due)),
                    st.status
                );
            }
        }
    }
    if !v.contacts.is_empty() {
        println!("\ncontacts:");
        for c in &v.contacts {
            println!(
                "  {:<30} {:<20} {} {}",
                c.name,
                c.function.as_deref().unwrap_or(""),
                c.email.as_deref().unwrap_or(""),
                c.phones.join(", ")
            );
        }
    }
}

pub async fn lookup(cli: &Cli, a: &LookupArgs) -> anyhow::Result<i32> {
    let (number, json) = (a.number.as_str(), a.json);
    let cfg = load_config(cli)?;
    let store = open_store(&cfg).await?;
    let ctx = ViewContext::from_config(&cfg);
    let dir = Directory::load(&store, &ctx.policy, &cfg.identity.phone_region).await?;
    let r = match dir.lookup_phone(number) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    if json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!("{number} → {}", r.number);
        for c in &r.candidates {
            println!(
                "  {:>6}  {:<40} {:.2}  {} {} via {}{}",
                c.customer_id,
                c.name.as_deref().unwrap_or("(no name)"),
                c.confidence,
                c.matched,
                c.matched_number,
                c.via,
                c.contact
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
        }
        if r.candidates.is_empty() {
            println!("  no customer has this number");
        }
    }
    Ok(if r.candidates.is_empty() { 1 } else { 0 })
}
