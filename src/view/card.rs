//! The customer card as the API serves it (issue 17, target 2): the merged view is stored
//! once built ([`crate::store::CardStore`]), so showing it again is one query plus its live
//! parts — complaints and reminders (read only when the customer has any), the stock of the
//! items on open orders, and when each source last ran. Everything else a view shows depends
//! on the records, the keys, the business date and the settings, which the card's validity
//! covers (see the store module).

use super::{Known, MergedView, OrderView, SourceInfo, ViewContext, customer_view_known};
use crate::store::{DynStore, NewCard, StoreError, StoredCard};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// The parts of a view that are not stored but read when it is shown: the last fields of
/// [`MergedView`], in its order.
const LIVE: [&str; 4] = ["sources", "open_orders", "tickets", "reminders"];

/// What a stored card is valid for besides the store's counters: the release, the view
/// settings ([`ViewContext::fingerprint`]), the connectors' systems and the business date.
pub fn stamp(ctx: &ViewContext, systems: &BTreeMap<String, String>, today: NaiveDate) -> String {
    let text = format!(
        "{}\n{}\n{systems:?}\n{today}",
        env!("CARGO_PKG_VERSION"),
        ctx.fingerprint
    );
    blake3::hash(text.as_bytes()).to_hex()[..32].to_owned()
}

fn data(e: serde_json::Error) -> StoreError {
    StoreError::Data(format!("customer card: {e}"))
}

/// A JSON object's members in their order, each value as its JSON text.
struct Members(Vec<(String, Box<serde_json::value::RawValue>)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(member) = m.next_entry()? {
                    out.push(member);
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The view's JSON and its stored form: the JSON up to the live parts (the same text and
/// order), its sources and its open orders (their JSON as in the view's).
fn card_of(view: &MergedView) -> Result<(String, StoredCard), StoreError> {
    let text = serde_json::to_string(view).map_err(data)?;
    let Members(members) = serde_json::from_str(&text).map_err(data)?;
    let mut body = String::with_capacity(text.len());
    let (mut sources, mut orders) = (None, None);
    body.push('{');
    for (key, value) in &members {
        match key.as_str() {
            "sources" => sources = Some(value.get().to_owned()),
            "open_orders" if !view.open_orders.is_empty() => orders = Some(value.get().to_owned()),
            k if LIVE.contains(&k) => {}
            _ => {
                if body.len() > 1 {
                    body.push(',');
                }
                body.push_str(&serde_json::to_string(key).map_err(data)?);
                body.push(':');
                body.push_str(value.get());
            }
        }
    }
    body.push('}');
    let sources =
        sources.ok_or_else(|| StoreError::Data("customer card: the view has no sources".into()))?;
    Ok((
        text,
        StoredCard {
            body,
            sources,
            orders,
        },
    ))
}

/// The JSON of a view from its stored body and live parts (the same fields as
/// [`MergedView`]'s JSON).
fn answer(
    body: &str,
    sources: &[SourceInfo],
    orders: &[OrderView],
    tickets: &[crate::front::ticket::Ticket],
    reminders: &[crate::front::desk::Reminder],
) -> Result<String, StoreError> {
    let open = body
        .strip_suffix('}')
        .filter(|b| b.len() > 1)
        .ok_or_else(|| StoreError::Data("customer card: the stored body is no object".into()))?;
    let mut out = Vec::with_capacity(body.len() + 1024);
    out.extend_from_slice(open.as_bytes());
    out.extend_from_slice(b",\"sources\":");
    serde_json::to_writer(&mut out, sources).map_err(data)?;
    out.extend_from_slice(b",\"open_orders\":");
    serde_json::to_writer(&mut out, orders).map_err(data)?;
    out.extend_from_slice(b",\"tickets\":");
    serde_json::to_writer(&mut out, tickets).map_err(data)?;
    out.extend_from_slice(b",\"reminders\":");
    serde_json::to_writer(&mut out, reminders).map_err(data)?;
    out.push(b'}');
    String::from_utf8(out).map_err(|e| StoreError::Data(format!("customer card: {e}")))
}

/// The merged view of customer `id` (whose keys are known) as JSON — the same text as the
/// view's own JSON: from its stored card when one is valid, else built and then handed to
/// `keep` for storing (the caller stores it after answering; a card built from what was read
/// before a sync's pass, or from keys older than the store's, is refused there).
pub async fn card_json(
    store: &DynStore,
    ctx: &ViewContext,
    id: i64,
    known: Known<'_>,
    today: NaiveDate,
    keep: impl FnOnce(NewCard),
) -> Result<String, StoreError> {
    let stamp = stamp(ctx, known.systems, today);
    let read = store.card(id, &stamp).await?;
    // Keys from a directory that has not caught up with the store build a view worth
    // answering (as before cards), not one worth keeping.
    let current = known.generation == Some(read.epochs.generation);
    let Some(card) = read.card else {
        let view = customer_view_known(store, ctx, id, known, today).await?;
        let (json, card) = card_of(&view)?;
        if current {
            keep(NewCard {
                customer_id: id,
                stamp,
                epochs: read.epochs,
                card,
            });
        }
        return Ok(json);
    };
    let mut sources: Vec<SourceInfo> = serde_json::from_str(&card.sources).map_err(data)?;
    super::judge_sources(ctx, &known.successes, &mut sources);
    let mut orders: Vec<OrderView> = match &card.orders {
        Some(o) => serde_json::from_str(o).map_err(data)?,
        None => Vec::new(),
    };
    let ((tickets, reminders), ()) = tokio::try_join!(
        super::live_parts(store, id, read.has_tickets, read.has_reminders),
        super::orders::fill_availability(store, &mut orders),
    )?;
    answer(&card.body, &sources, &orders, &tickets, &reminders)
}
