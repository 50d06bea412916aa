//! The merged front-office view of one customer: master data with per-field provenance, open
//! items, credit notes, open orders with promised dates and availability, contacts, and how
//! fresh each source is.

mod card;
mod document;
mod documents;
pub mod fields;
mod items;
mod labels;
mod orders;
mod payments;
mod quotes;
pub mod shown;

pub use card::{card_json, stamp as card_stamp};
pub use document::{DOCUMENT_KINDS, DocumentLine, DocumentRef, DocumentView, document};
pub use documents::{
    CreditNoteView, CurrencyTotal, ExtraField, InvoiceView, OpenItems, SupplierInvoiceView,
};
pub use fields::{FieldValue, OtherValue, Policy};
pub use items::{WaitingOrder, find_items, waiting_orders};
use orders::Orders;
pub use orders::{Availability, OrderLineView, OrderView, WarehouseStock, availability};
pub use payments::{PaymentBehaviour, TREND_DAYS, behaviour_of as payment_behaviour_of};
pub use quotes::{QuoteView, effective_status as quote_status, ordered_quotes};

use crate::identity::{KeyId, MatchedOn};
use crate::model::typed::{self, Amount};
use crate::store::{DynStore, KeyRow, StoreError, StoredRecord};
use chrono::{DateTime, NaiveDate, Utc};
use croner::Cron;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Provenance {
    pub connector: String,
    pub external_id: String,
    /// `file:line`, or URL and page.
    pub position: Option<String>,
    /// What the source document gets wrong or how it was read (EN 16931 business rules, a
    /// negative invoice read as credit note); never a reason to refuse it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Provenance {
    pub fn of(r: &StoredRecord) -> Self {
        Self {
            connector: r.connector.clone(),
            external_id: r.external_id.clone(),
            position: r.position.clone(),
            warnings: warnings(&r.entity, &r.data),
        }
    }
}

/// What a document record says it gets wrong (invoices, credit notes, supplier invoices; other
/// entities have no warnings).
pub fn warnings(entity: &str, data: &Value) -> Vec<String> {
    use crate::model::Entity;
    match Entity::parse(entity) {
        Some(Entity::Invoice | Entity::CreditNote | Entity::SupplierInvoice) => {
            typed::warnings_of(data)
        }
        _ => Vec::new(),
    }
}

/// An amount in a currency; the amount is a decimal string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    #[schema(value_type = String, example = "1234.56")]
    pub amount: Decimal,
    #[schema(example = "EUR")]
    pub currency: String,
}

impl Money {
    /// A stored amount: in its own currency, else the record's (`currency`), else EUR.
    pub fn of(amount: &Option<Amount>, currency: &Option<String>) -> Option<Money> {
        let a = amount.as_ref()?;
        Some(Money {
            amount: a.amount,
            currency: a
                .currency
                .clone()
                .or_else(|| currency.clone())
                .unwrap_or_else(|| "EUR".into()),
        })
    }

    /// As a German reader expects it: `1.234,56 €` (other currencies by their code:
    /// `1.234,56 NOK`).
    pub fn german(&self) -> String {
        let unit = match self.currency.as_str() {
            "EUR" | "" => "€",
            other => other,
        };
        format!("{} {unit}", german_amount(self.amount))
    }
}

/// An amount in German notation with two decimals: `1.234,56`, `-0,50`.
pub fn german_amount(amount: Decimal) -> String {
    let s = format!("{:.2}", amount.round_dp(2));
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{frac}")
}

/// A source of a merged customer: one customer number in one connector.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceInfo {
    pub connector: String,
    pub system: String,
    /// The customer number in that system.
    pub external_id: String,
    /// Records per entity.
    pub records: BTreeMap<String, usize>,
    /// When the newest of its records changed.
    pub last_synced_at: Option<DateTime<Utc>>,
    /// How this customer number joined the customer (`anchor`, `vat_id`, `manual`, …).
    pub rule: String,
    pub matched_on: Option<MatchedOn>,
    /// When the connector's last successful run finished.
    pub connector_last_success: Option<DateTime<Utc>>,
    /// The connector's schedule allows an older last success than this.
    pub stale: bool,
    /// The number is kontor's synthetic key `name:<hash>` (an e-invoice named the party
    /// without any identifier): joined to others only by ops or name/address suggestions.
    pub synthetic_key: bool,
}

/// A contact person at the customer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactView {
    pub name: String,
    pub function: Option<String>,
    pub department: Option<String>,
    pub email: Option<String>,
    pub phones: Vec<String>,
    pub source: Provenance,
}

/// The merged view of one customer (`GET /api/v1/customers/{id}`). The parts read live for a
/// stored card ([`card_json`]) come last, in this order: sources, open orders, tickets,
/// reminders.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MergedView {
    pub id: i64,
    /// Set when the requested id was merged into this customer.
    pub requested_id: Option<i64>,
    pub name: Option<String>,
    /// `customer`, `supplier` or both: what the party is to us.
    pub roles: Vec<String>,
    /// Master data: per field the winning value with its source.
    pub fields: BTreeMap<String, FieldValue>,
    pub open_items: OpenItems,
    /// How the customer pays (last 12 months, trend against the 12 before); absent without
    /// an invoice paid in the last 24 months.
    pub payment_behaviour: Option<PaymentBehaviour>,
    pub credit_notes: Vec<CreditNoteView>,
    /// Invoices and credit notes we received from this party as our supplier (what we owe;
    /// never open items), newest first.
    pub supplier_invoices: Vec<SupplierInvoiceView>,
    /// Open quotes and the customer's unanswered requests, the soonest to expire first.
    pub open_quotes: Vec<QuoteView>,
    pub contacts: Vec<ContactView>,
    /// The business date open items were judged on.
    pub as_of: NaiveDate,
    /// How each phone number of the view (stored as E.164) is shown: `+492214711230` →
    /// `0221 4711230`.
    pub phone_display: BTreeMap<String, String>,
    /// What people call the sources of this view (connector → label, e.g.
    /// `wawi-kunden` → `Warenwirtschaft`): the card names sources by these.
    pub source_labels: BTreeMap<String, String>,
    pub sources: Vec<SourceInfo>,
    pub open_orders: Vec<OrderView>,
    /// Complaints and tickets, newest first.
    pub tickets: Vec<crate::front::ticket::Ticket>,
    /// Open reminders, soonest first.
    pub reminders: Vec<crate::front::desk::Reminder>,
}

/// The `label`s of `extra.<name>` fields: (connector, entity, name) → label.
pub type ExtraLabels = BTreeMap<(String, String, String), String>;

/// What building a view needs besides the store.
#[derive(Debug, Clone, Default)]
pub struct ViewContext {
    pub policy: Policy,
    pub schedules: BTreeMap<String, Cron>,
    /// Since when the process knows the schedules (a source that never succeeded is stale
    /// once a slot passed after this).
    pub since: Option<DateTime<Utc>>,
    /// What the connectors' mappings call their `extra.<name>` fields.
    pub labels: ExtraLabels,
    /// What people call each source (connector → label).
    pub source_labels: BTreeMap<String, String>,
    /// What a stored card was built with besides the records ([`card_stamp`]): the field
    /// policy and the labels (not the schedules: staleness is judged when a card is shown).
    pub fingerprint: String,
}

/// The `extra.<name>` labels of every connector's mappings: its mapping file, or the built-in
/// mappings of its profile (REST, e-invoices). A connector that does not prepare gives none
/// (`kontor check` reports it; the view shows the field names then).
pub fn extra_labels(cfg: &crate::config::Config) -> ExtraLabels {
    let mut out = ExtraLabels::new();
    for c in &cfg.connectors {
        let Ok(p) = crate::sync::prepare(cfg, c) else {
            continue;
        };
        let set = &p.mappings;
        for m in set
            .default
            .iter()
            .chain(set.by_stream.iter().map(|(_, m)| m))
        {
            for (entity, name, label) in m.extra_labels() {
                out.insert((c.name.clone(), entity.as_str().to_owned(), name), label);
            }
        }
    }
    out
}

impl ViewContext {
    pub fn from_config(cfg: &crate::config::Config) -> Self {
        let mut ctx = Self {
            policy: Policy::from_config(&cfg.identity),
            schedules: cfg
                .connectors
                .iter()
                .filter_map(|c| {
                    let s = c.schedule.as_deref()?;
                    Some((c.name.clone(), crate::schedule::parse(s).ok()?))
                })
                .collect(),
            since: Some(Utc::now()),
            labels: extra_labels(cfg),
            source_labels: labels::source_labels(cfg),
            fingerprint: String::new(),
        };
        let text = format!(
            "{:?}\n{:?}\n{:?}",
            ctx.policy, ctx.labels, ctx.source_labels
        );
        ctx.fingerprint = blake3::hash(text.as_bytes()).to_hex().to_string();
        ctx
    }
}

/// A document's number: its `number` (every document entity has one: invoices, credit notes,
/// orders, quotes, deliveries, supplier invoices), else the record's key in its source.
pub(crate) fn number_of(r: &StoredRecord) -> String {
    r.data
        .get("number")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map_or_else(|| r.external_id.clone(), str::to_owned)
}

/// What a view needs to know besides the customer's records: its keys, the connectors'
/// systems, their last successful runs. The API server keeps them in memory.
#[derive(Debug, Clone)]
pub struct Known<'a> {
    pub keys: std::borrow::Cow<'a, [KeyRow]>,
    pub systems: &'a BTreeMap<String, String>,
    /// Refreshed apart from the rest (a run that changed nothing does not reload the
    /// directory, but it is a success).
    pub successes: std::sync::Arc<BTreeMap<String, DateTime<Utc>>>,
    /// The identity generation the keys are of (`None`: read from the store just now).
    pub generation: Option<i64>,
}

impl Known<'_> {
    /// (connector, customer number) of every connector that holds one of the customer's
    /// numbers: what `records_of` reads.
    pub fn record_pairs(&self) -> Vec<(String, String)> {
        self.keys
            .iter()
            .flat_map(|k| {
                self.systems
                    .iter()
                    .filter(move |(_, s)| **s == k.key.system)
                    .map(move |(c, _)| (c.clone(), k.key.customer_no.clone()))
            })
            .collect()
    }
}

/// Builds the merged view of customer `id` (following an alias once); `None` when there is
/// no such customer.
pub async fn customer_view(
    store: &DynStore,
    ctx: &ViewContext,
    id: i64,
    today: NaiveDate,
) -> Result<Option<MergedView>, StoreError> {
    let mut id = id;
    let mut requested_id = None;
    let mut keys = store.keys_of(id).await?;
    if keys.is_empty() {
        let Some(target) = store.alias_target(id).await? else {
            return Ok(None);
        };
        requested_id = Some(id);
        id = target;
        keys = store.keys_of(id).await?;
        if keys.is_empty() {
            return Ok(None);
        }
    }
    let systems = store.connector_systems().await?;
    let successes = store.last_successes().await?;
    let known = Known {
        keys: std::borrow::Cow::Borrowed(&keys),
        systems: &systems,
        successes: std::sync::Arc::new(successes),
        generation: None,
    };
    let mut view = customer_view_known(store, ctx, id, known, today).await?;
    view.requested_id = requested_id;
    Ok(Some(view))
}

/// Builds the merged view of customer `id` whose keys are known.
pub async fn customer_view_known(
    store: &DynStore,
    ctx: &ViewContext,
    id: i64,
    known: Known<'_>,
    today: NaiveDate,
) -> Result<MergedView, StoreError> {
    let pairs = known.record_pairs();
    let Known {
        keys,
        systems,
        successes,
        ..
    } = known;
    let requested_id = None;
    // The customer's records, complaints and reminders: independent reads, side by side.
    let (records, (tickets, reminders)) =
        tokio::try_join!(store.records_of(&pairs), live_parts(store, id, true, true))?;
    let mut by_entity: BTreeMap<&str, Vec<&StoredRecord>> = BTreeMap::new();
    for r in &records {
        by_entity.entry(r.entity.as_str()).or_default().push(r);
    }
    let take = |e: &str| by_entity.get(e).cloned().unwrap_or_default();
    // Customer and supplier records both say who the party is.
    let open_customers: Vec<&StoredRecord> = take("customer")
        .into_iter()
        .chain(take("supplier"))
        .filter(|r| r.closed_at.is_none())
        .collect();
    let fields = fields::merge(&open_customers, &ctx.policy);
    let is_supplier = open_customers.iter().any(|r| r.entity == "supplier");
    let mut roles = Vec::new();
    if !is_supplier || open_customers.iter().any(|r| r.entity == "customer") {
        roles.push("customer".to_owned());
    }
    if is_supplier {
        roles.push("supplier".to_owned());
    }
    let supplier_invoices = documents::supplier_invoices(&take("supplier_invoice"));
    let name = fields
        .get("name")
        .and_then(|f| f.value.as_str())
        .map(str::to_owned);

    let (open_items, credit_notes) = documents::build(
        &take("invoice"),
        &take("credit_note"),
        &ctx.policy,
        &ctx.labels,
        today,
    );
    let payment_behaviour = payments::behaviour(&take("invoice"), &take("payment"), today);
    let open_orders = orders::build(
        store,
        &take("order"),
        &take("order_line"),
        &ctx.policy,
        Orders::Open,
    )
    .await?;
    let open_quotes = quotes::open_quotes(&take("quote"), &take("order"), &ctx.policy, today);
    let mut contacts: Vec<ContactView> = take("contact_person")
        .into_iter()
        .filter(|r| r.closed_at.is_none())
        .map(|r| {
            let d: typed::ContactPerson = r.read();
            ContactView {
                name: d.name.unwrap_or_else(|| r.external_id.clone()),
                function: d.function,
                department: d.department,
                email: d.email,
                phones: d.phones,
                source: Provenance::of(r),
            }
        })
        .collect();
    contacts.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(a.source.connector.cmp(&b.source.connector))
    });

    // Sources: every (connector, customer number) with records, plus keys without any yet.
    let key_rows: BTreeMap<&KeyId, _> = keys.iter().map(|k| (&k.key, k)).collect();
    let mut sources: BTreeMap<(String, String), SourceInfo> = BTreeMap::new();
    for r in &records {
        let Some(no) = r.customer_no.clone() else {
            continue;
        };
        let system = systems
            .get(&r.connector)
            .cloned()
            .unwrap_or_else(|| r.connector.clone());
        let key = KeyId::new(system.clone(), no.clone());
        let s = sources
            .entry((r.connector.clone(), no.clone()))
            .or_insert_with(|| SourceInfo {
                connector: r.connector.clone(),
                system,
                external_id: no,
                records: BTreeMap::new(),
                last_synced_at: None,
                rule: key_rows
                    .get(&key)
                    .map_or_else(|| "anchor".into(), |k| k.rule.clone()),
                matched_on: key_rows.get(&key).and_then(|k| k.matched_on.clone()),
                connector_last_success: None,
                stale: false,
                synthetic_key: false,
            });
        let synthetic = match crate::model::Entity::parse(&r.entity) {
            Some(crate::model::Entity::Customer) => r.read::<typed::Customer>().synthetic_key,
            Some(crate::model::Entity::Supplier) => r.read::<typed::Supplier>().synthetic_key,
            _ => None,
        };
        if synthetic == Some(true) {
            s.synthetic_key = true;
        }
        *s.records.entry(r.entity.clone()).or_default() += 1;
        s.last_synced_at = s.last_synced_at.max(Some(r.synced_at));
    }
    let mut sources: Vec<SourceInfo> = sources.into_values().collect();
    judge_sources(ctx, &successes, &mut sources);
    // The anchor first, then by how they joined.
    sources.sort_by_key(|s| (s.rule != "anchor", s.system.clone(), s.connector.clone()));
    let phone_display = phone_display(&fields, &contacts);
    let source_labels = view_labels(ctx, &fields, &sources);
    Ok(MergedView {
        id,
        requested_id,
        name,
        roles,
        fields,
        sources,
        open_items,
        payment_behaviour,
        credit_notes,
        supplier_invoices,
        open_orders,
        open_quotes,
        contacts,
        tickets,
        reminders,
        as_of: today,
        phone_display,
        source_labels,
    })
}

/// Complaints and tickets (newest first) and open reminders (soonest first) of customer `id`,
/// up to 50 each: what a view shows as they are now (also for a stored card, which says
/// whether there are any).
async fn live_parts(
    store: &DynStore,
    id: i64,
    tickets: bool,
    reminders: bool,
) -> Result<
    (
        Vec<crate::front::ticket::Ticket>,
        Vec<crate::front::desk::Reminder>,
    ),
    StoreError,
> {
    const SHOWN: i64 = 50;
    let filter = crate::store::ReminderFilter {
        customer_id: Some(id),
        limit: SHOWN,
        ..Default::default()
    };
    tokio::try_join!(
        async {
            match tickets {
                true => crate::front::ticket::of_customer(store, Some(id), false, SHOWN).await,
                false => Ok(Vec::new()),
            }
        },
        async {
            match reminders {
                true => crate::front::desk::reminders(store, &filter).await,
                false => Ok(Vec::new()),
            }
        },
    )
}

/// When each source's connector last succeeded and whether its schedule says that is too
/// long ago (as of now: also for a stored card).
fn judge_sources(
    ctx: &ViewContext,
    successes: &BTreeMap<String, DateTime<Utc>>,
    sources: &mut [SourceInfo],
) {
    let now = Utc::now();
    for s in sources {
        s.connector_last_success = successes.get(&s.connector).copied();
        s.stale = ctx.schedules.get(&s.connector).is_some_and(|cron| {
            crate::schedule::is_stale(
                cron,
                s.connector_last_success,
                ctx.since.unwrap_or(now),
                now,
            )
        });
    }
}

/// The labels of the connectors this view names (a connector without a configured label —
/// e.g. removed from the config since — is called by its name).
fn view_labels(
    ctx: &ViewContext,
    fields: &BTreeMap<String, FieldValue>,
    sources: &[SourceInfo],
) -> BTreeMap<String, String> {
    let named = sources
        .iter()
        .map(|s| s.connector.as_str())
        .chain(fields.values().flat_map(|f| {
            std::iter::once(f.source.connector.as_str())
                .chain(f.others.iter().map(|o| o.source.connector.as_str()))
        }));
    named
        .map(|c| {
            let label = ctx
                .source_labels
                .get(c)
                .cloned()
                .unwrap_or_else(|| c.to_owned());
            (c.to_owned(), label)
        })
        .collect()
}

/// The display form of every phone number the view shows (master data and contacts).
fn phone_display(
    fields: &BTreeMap<String, FieldValue>,
    contacts: &[ContactView],
) -> BTreeMap<String, String> {
    let mut numbers: Vec<&str> = Vec::new();
    for key in ["phones", "fax"] {
        if let Some(f) = fields.get(key) {
            match &f.value {
                serde_json::Value::String(s) => numbers.push(s),
                serde_json::Value::Array(a) => numbers.extend(a.iter().filter_map(|v| v.as_str())),
                _ => {}
            }
        }
    }
    numbers.extend(
        contacts
            .iter()
            .flat_map(|c| c.phones.iter().map(String::as_str)),
    );
    numbers
        .into_iter()
        .filter(|n| n.starts_with('+'))
        .map(|n| (n.to_owned(), crate::model::phone::display_phone(n)))
        .collect()
}
