//! `kontor demo`: a workspace from bundled sample exports (DATEV and WaWi CSV, XRechnung and
//! openTRANS XML, a mocked ERPNext REST API), synced into a fresh SQLite store.

use super::customer::print_view;
use super::{Cli, load_config, open_store_as, sync::sync_connectors};
use kontor::api::auth::{Role, hash_token, new_token};
use kontor::directory::Directory;
use kontor::store::StoredRecord;
use kontor::view::{ViewContext, customer_view};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `kontor demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Workspace folder (default: ./kontor-demo); its store is replaced on every run.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Then serve the API (and print a demo token) until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
    /// Address for --serve.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

/// The customer whose merged view the demo prints (in the WaWi, ERPNext, XRechnung and
/// openTRANS samples).
const SHOWCASE_CUSTOMER: &str = "00042";

/// The demo's workspace in `dir`, synced into its fresh SQLite store (with the mock ERPNext,
/// which lives as long as the returned handle): its config, store, the config's path and the
/// sync's exit code.
pub(super) struct DemoWorkspace {
    pub cfg: kontor::config::Config,
    pub store: kontor::store::DynStore,
    pub config_path: PathBuf,
    pub code: i32,
    pub cli: Cli,
    pub _erp: kontor_rest::mock::MockErp,
}

pub(super) async fn demo_workspace(
    cli: &Cli,
    dir: &Path,
    extra_config: &str,
) -> anyhow::Result<DemoWorkspace> {
    kontor::demo::write_workspace(dir)?;

    // A mocked ERPNext on loopback stands in for a REST ERP; it lives as long as the demo.
    let erp = kontor_rest::mock::MockErp::start("erpnext").await;
    kontor::sys::write_secret(
        &dir.join("secrets/erpnext"),
        kontor_rest::mock::ERPNEXT_TOKEN.as_bytes(),
    )?;
    let config = format!("{}{extra_config}", kontor::demo::config(&erp.uri()));
    let config_path = dir.join("kontor.toml");
    std::fs::write(&config_path, config)?;
    eprintln!(
        "demo workspace {} (mock ERPNext at {})",
        dir.display(),
        erp.uri()
    );

    let cli = Cli {
        config: Some(config_path.clone()),
        log_format: cli.log_format,
        take_over_config: false,
        command: super::Command::Check,
    };
    let cfg = load_config(&cli)?;
    let store = open_store_as(&cfg, kontor::store::Open::Migrate).await?;
    let all: Vec<_> = cfg.connectors.iter().collect();
    let code = sync_connectors(&cfg, &store, &all, false, false).await?;
    Ok(DemoWorkspace {
        cfg,
        store,
        config_path,
        code,
        cli,
        _erp: erp,
    })
}

/// A complaint about a damaged delivery, filed four days ago in the category with the demo's
/// service process: its first step is done, the second overdue (a reminder for the team),
/// the third still to come.
async fn file_demo_complaint(
    store: &kontor::store::DynStore,
    cfg: &kontor::config::Config,
    customer_id: i64,
    today: chrono::NaiveDate,
) -> anyhow::Result<()> {
    use kontor::front::complaints::{NewComplaint, create};
    let (t, _) = create(
        store,
        &cfg.complaints,
        NewComplaint {
            customer_id,
            category: "lieferung".into(),
            title: "Spannzangen mit Transportschaden".into(),
            text: "Zwei Spannzangen ER32 aus AB-50001 kamen verbogen an, Karton eingedrückt."
                .into(),
            invoice_ref: None,
            order_ref: Some("AB-50001".into()),
            sku: Some("0815-A".into()),
            team: Some("service".into()),
            cost: None,
        },
        today - chrono::Days::new(4),
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo complaint: {e}"))?;
    kontor::front::complaint_process::set_step(store, t.id, 1, true)
        .await
        .map_err(|e| anyhow::anyhow!("demo complaint: {e}"))?;
    Ok(())
}

pub async fn demo(cli: &Cli, a: &DemoArgs) -> anyhow::Result<i32> {
    let dir = a.dir.as_deref();
    let serve = a.serve.then_some(a.listen.as_str());
    let dir = dir.map_or_else(|| PathBuf::from("kontor-demo"), Path::to_path_buf);
    let DemoWorkspace {
        cfg,
        store,
        config_path,
        code,
        cli,
        _erp,
    } = demo_workspace(cli, &dir, kontor::demo::TEAMS).await?;

    let records = store.records(None, None, i64::MAX).await?;
    println!();
    println!(
        "loaded into {}/kontor.db ({} records):",
        dir.display(),
        records.len()
    );
    print_counts(&records);
    println!();
    let ctx = ViewContext::from_config(&cfg);
    let directory = Directory::load(&store, &ctx.policy, &cfg.identity.phone_region).await?;
    let showcase = directory
        .customer_of("wawi-kunden", SHOWCASE_CUSTOMER)
        .ok_or_else(|| anyhow::anyhow!("customer {SHOWCASE_CUSTOMER} did not load"))?;
    let today = chrono::Local::now().date_naive();
    file_demo_complaint(&store, &cfg, showcase, today).await?;
    if let Some(view) = customer_view(&store, &ctx, showcase, today).await? {
        print_view(&view);
    }
    // What the desk finds waiting: the suggested reminders (a quote about to expire, a
    // customer paying later than the year before, invoices long overdue, …).
    kontor::front::reminders::suggest(&store, &cfg.reminders, &ctx, &directory, today, true)
        .await?;
    let suggested = kontor::front::desk::reminders(
        &store,
        &kontor::store::ReminderFilter {
            limit: 50,
            ..Default::default()
        },
    )
    .await?;
    if !suggested.is_empty() {
        println!("\nsuggested reminders:");
        for r in &suggested {
            println!(
                "  {}{}",
                r.title,
                r.reason
                    .as_deref()
                    .map(|why| format!(" — {why}"))
                    .unwrap_or_default()
            );
        }
    }
    println!();
    let config_arg = format!("--config {}", config_path.display());
    println!(
        "next: `kontor {config_arg} customer Müller`, `… lookup \"+49 221 4711-23\"`, \
         `… item 0815-A`, `… identity suggestions`, `… runs`"
    );
    // A person for the web page (the demo's store is new on every run).
    let password = kontor::api::auth::new_token()[7..23].to_owned();
    let hash = tokio::task::spawn_blocking({
        let p = password.clone();
        move || kontor::api::accounts::hash_password(&p)
    })
    .await?
    .map_err(|e| anyhow::anyhow!(e))?;
    store
        .create_user("demo", "sales", Some("demo"), "local", Some(&hash))
        .await?;
    println!(
        "web page (`kontor {config_arg} serve` or `kontor demo --serve`): sign in as `demo` \
         with the password `{password}` (role sales)"
    );

    if let Some(listen) = serve {
        let mut tokens = Vec::new();
        for role in [Role::Sales, Role::Cti, Role::Ops] {
            let token = new_token();
            let name = format!("demo-{role}-{}", std::process::id());
            store
                .create_token(&name, role.as_str(), Some("demo"), &hash_token(&token))
                .await?;
            tokens.push((role, token));
        }
        let cfg = std::sync::Arc::new(cfg);
        let state = kontor::api::AppState::new(store.clone(), cfg).await?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let base = format!("http://{}", listener.local_addr()?);
        println!();
        println!("serving the API on {base} (Ctrl-C ends the demo); demo tokens:");
        for (role, token) in &tokens {
            println!("  {:<6} {token}", role.as_str());
        }
        let sales = &tokens[0].1;
        println!("try:");
        println!("  curl -H 'Authorization: Bearer {sales}' '{base}/api/v1/customers?q=Mueller'");
        println!("  curl -H 'Authorization: Bearer {sales}' {base}/api/v1/customers/{showcase}");
        println!(
            "  curl -H 'Authorization: Bearer {}' '{base}/api/v1/lookup/phone/0221%204711-23'",
            tokens[1].1
        );
        println!(
            "  a call (sipgate's format; the page pops it up): curl -d 'event=newCall&from=49221471123&to=4922140000&direction=in&callId=demo-1' '{base}/api/v1/cti/sipgate?token={}'",
            tokens[1].1
        );
        println!("  OpenAPI: {base}/api/v1/openapi.json");
        println!("  web page: {base}/ (user `demo`, the password above)");
        kontor::api::serve(listener, state, super::serve::shutdown_signal()).await?;
    }

    // The mock ERP ends with this process: later runs in the workspace skip its connector.
    let config = std::fs::read_to_string(&config_path)?.replace(
        "name = \"erpnext\"\n",
        "name = \"erpnext\"\nenabled = false  # the mock ERPNext only runs during `kontor demo`\n",
    );
    std::fs::write(&config_path, config)?;
    // The workspace's configuration as it is now is the store's (later commands there run).
    let cfg = load_config(&cli)?;
    let fingerprint = kontor::cluster::Fingerprint::of(&cfg);
    kontor::cluster::reconcile(&store, &cfg, &fingerprint, "kontor demo", true).await?;
    Ok(code)
}

fn print_counts(records: &[StoredRecord]) {
    let mut counts: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for r in records {
        *counts
            .entry(&r.connector)
            .or_default()
            .entry(&r.entity)
            .or_default() += 1;
    }
    for (connector, entities) in counts {
        let list: Vec<String> = entities.iter().map(|(e, n)| format!("{e}={n}")).collect();
        println!("  {connector:<20} {}", list.join(" "));
    }
}
