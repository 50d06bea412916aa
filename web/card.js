// kontor web page – the customer card: head, open items, credit notes, orders, timeline.

import {
  CATEGORY_LABELS, COMPLAINT_STATUS, INVOICE_STATUS, KINDS, KIND_LABELS, ORDER_STATUS, api, app, availabilityParts,
  describe, empty, fmtDate, fmtDays, fmtMoney, fmtNumber, fmtValue, fmtWhen, h, isPositive, link,
  mailLink, numberChip, plural, prettify, roleBadge, section, showError,
} from './lib.js';
import { docSource, provNote, setSourceLabels, sourceName, where } from './prov.js';
import { renderComplaints, renderMaster, renderReminders, renderSources } from './side.js';
import { alive } from './app.js';
import { docLink } from './docs.js';
import { phoneWithDial } from './dial.js';
import { actionsPanel, fillDatalists, ownContactActions } from './forms.js';

const TIMELINE_PAGE = 10;

// ---------------------------------------------------------------- customer card

export async function cardView(gen, id) {
  document.title = 'Kunde – kontor';
  app.replaceChildren(h('p', { class: 'muted loading' }, 'Lade Kunde …'));
  let view;
  try {
    view = await api('GET', '/api/v1/customers/' + id);
  } catch (e) {
    if (!alive(gen)) return;
    app.replaceChildren(section('Kunde nicht geladen', 'card-error', h('p', { class: 'error' }, describe(e)), h('p', null, link('/', null, 'Zur Suche'))));
    return;
  }
  if (!alive(gen)) return;
  if (view.id !== id) history.replaceState(null, '', '/kunde/' + view.id);
  setSourceLabels(view.source_labels);

  const card = {
    gen: gen,
    id: view.id,
    view: view,
    tl: { kinds: new Set(), cursor: null, seq: 0 },
    el: {},
  };
  const el = card.el;
  el.head = h('header', { class: 'card-head' });
  el.openItems = section('Offene Posten', 'open-items');
  el.credits = section('Gutschriften', 'credit-notes');
  el.orders = section('Offene Aufträge', 'orders');
  el.quotes = section('Offene Angebote', 'quotes');
  el.timeline = section('Verlauf', 'timeline');
  el.reminders = section('Wiedervorlagen', 'reminders');
  el.complaints = section('Reklamationen', 'complaints');
  el.master = section('Stammdaten', 'master-data');
  el.sources = section('Herkunft', 'sources');
  el.sources.classList.add('prov-only');
  el.actions = actionsPanel(card);
  for (const [k, cls] of [
    ['openItems', 'area-items'],
    ['credits', 'area-credits'],
    ['orders', 'area-orders'],
    ['quotes', 'area-quotes'],
    ['timeline', 'area-timeline'],
    ['reminders', 'area-reminders'],
    ['complaints', 'area-complaints'],
    ['master', 'area-master'],
    ['sources', 'area-sources'],
    ['actions', 'area-actions'],
  ]) {
    el[k].classList.add(cls);
  }
  buildTimeline(card);
  app.replaceChildren(
    h(
      'article',
      { class: 'card', testid: 'customer-card', 'data-id': view.id },
      el.head,
      h(
        'div',
        { class: 'card-grid' },
        h('div', { class: 'col col-main' }, el.openItems, el.orders, el.quotes, el.credits, el.timeline),
        h('div', { class: 'col col-side' }, el.reminders, el.complaints, el.actions, el.master, el.sources),
      ),
    ),
  );
  renderCard(card);
  // Keyboard users start at the customer's name, not half a page down.
  const name = el.head.querySelector('h1');
  if (name) name.focus({ preventScroll: true });
  loadTimeline(card, true);
}

function renderCard(card) {
  const v = card.view;
  document.title = (v.name || 'Kunde ' + v.id) + ' – kontor';
  renderHead(card);
  renderOpenItems(card);
  renderCredits(card);
  renderOrders(card);
  renderQuotes(card);
  renderReminders(card);
  renderComplaints(card);
  renderMaster(card);
  renderSources(card);
  fillDatalists(card);
}

export async function reloadCard(card) {
  try {
    const v = await api('GET', '/api/v1/customers/' + card.id);
    if (!alive(card.gen)) return;
    card.view = v;
    setSourceLabels(v.source_labels);
    renderCard(card);
    loadTimeline(card, true);
  } catch (e) {
    if (alive(card.gen)) showError(e);
  }
}

export function replaceBody(sectionEl, ...children) {
  // Keep the heading, replace the rest.
  const heading = sectionEl.querySelector('h2');
  sectionEl.replaceChildren(heading, ...children.flat(Infinity).filter(Boolean));
}

/** The customer's numbers, each once; the systems that use it show with "Herkunft". */
function customerNumbers(v) {
  const systems = new Map();
  for (const s of v.sources || []) {
    const list = systems.get(s.external_id) || [];
    if (!list.includes(s.system)) list.push(s.system);
    systems.set(s.external_id, list);
  }
  return [...systems].map(([no, list]) => [list.join(', '), no]);
}

export function kpi(label, value, testid, cls, sub) {
  return h('div', { class: 'kpi ' + (cls || ''), testid: testid }, h('span', { class: 'kpi-label' }, label), h('span', { class: 'kpi-value' }, value), sub ? h('span', { class: 'kpi-sub' }, sub) : null);
}

function renderHead(card) {
  const v = card.view;
  const f = v.fields || {};
  const address = f.address ? fmtValue('address', f.address.value) : null;
  const phones = f.phones ? [].concat(f.phones.value).filter(Boolean) : [];
  const email = f.email ? String(f.email.value) : null;
  const openComplaints = (v.tickets || []).filter((t) => t.status !== 'resolved' && t.status !== 'closed');
  const dueReminders = (v.reminders || []).filter((r) => r.due_date <= v.as_of && !(r.snoozed_until && r.snoozed_until > v.as_of));
  const oi = v.open_items;
  card.el.head.replaceChildren(
    h(
      'div',
      { class: 'who' },
      h('h1', { testid: 'customer-name', tabindex: '-1' }, v.name || 'Kunde ' + v.id, ' ', roleBadge(v.roles)),
      v.requested_id ? h('p', { class: 'notice' }, 'Kunde ' + v.requested_id + ' wurde mit diesem Kunden zusammengeführt.') : null,
      h('p', { class: 'numbers', testid: 'customer-numbers' }, customerNumbers(v).map(([s, n]) => numberChip(s, n))),
      h(
        'p',
        { class: 'contact-line' },
        address ? h('span', null, address) : null,
        phones.length ? h('span', null, phones.map((p) => phoneWithDial(p, v.phone_display, card.id, () => loadTimeline(card, true)))) : null,
        email ? h('span', null, mailLink(email)) : null,
      ),
    ),
    h(
      'div',
      { class: 'kpis' },
      kpi('Offene Posten', fmtMoney(oi.total), 'kpi-open', null, plural(oi.count, 'Rechnung', 'Rechnungen')),
      kpi('davon überfällig', fmtMoney(oi.overdue), 'kpi-overdue', isPositive(oi.overdue) ? 'danger' : null, plural(oi.overdue_count, 'Rechnung', 'Rechnungen') + dunningText(oi.dunning_level, ', ')),
      oi.open_credit_notes_count ? kpi('Saldo nach Gutschriften', fmtMoney(oi.open_net), 'kpi-net', null, 'abzgl. ' + fmtMoney(oi.open_credit_notes) + ' aus ' + plural(oi.open_credit_notes_count, 'Gutschrift', 'Gutschriften')) : null,
      paymentKpi(v.payment_behaviour),
      kpi('Offene Aufträge', String((v.open_orders || []).length), 'kpi-orders'),
      kpi('Reklamationen', String(openComplaints.length), 'kpi-complaints', openComplaints.some((t) => t.overdue) ? 'danger' : null, 'offen'),
      kpi('Wiedervorlagen', String(dueReminders.length), 'kpi-reminders', dueReminders.length ? 'warn' : null, 'fällig'),
    ),
  );
}

const TREND = { worse: 'schlechter als im Vorjahr', better: 'besser als im Vorjahr', same: 'wie im Vorjahr', new: '' };

/** Zahlungsmoral: how late the customer paid in the last 12 months, and the trend. */
export function paymentKpi(p, testid) {
  if (!p || !p.invoices_paid) return null;
  const share = Math.round(Number(p.paid_late_share) * 100);
  const sub = [share + ' % von ' + plural(p.invoices_paid, 'Rechnung', 'Rechnungen') + ' verspätet', 'Median ' + fmtDays(p.median_days_late), TREND[p.trend]].filter(Boolean).join(' · ');
  return kpi('Zahlungsmoral (12 Monate)', 'Ø ' + fmtDays(p.avg_days_late) + ' zu spät', testid || 'kpi-payment', p.trend === 'worse' ? 'warn' : null, sub);
}

/** "Mahnstufe 2" (with a prefix) when the level is above 0, else ''. */
export function dunningText(level, prefix) {
  return level > 0 ? (prefix || '') + 'Mahnstufe ' + level : '';
}

/** A document's `extra` fields as "Label: Wert" lines. */
function extraLines(doc, testid) {
  return (doc.extra || []).map((x) => h('small', { class: 'block muted', testid: testid, 'data-name': x.name }, x.label + ': ' + x.value));
}

function table(headers, rows, foot, attrs) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs || null,
      h('thead', null, h('tr', null, headers.map(([t, cls]) => h('th', { class: cls || null, scope: 'col' }, t)))),
      h('tbody', null, rows),
      foot ? h('tfoot', null, foot) : null,
    ),
  );
}

/** The label of a totals row: over the 4 columns before "Offen", 2 on narrow screens. */
function footLabel(text) {
  return [
    h('th', { colspan: 4, scope: 'row', class: 'foot-label hide-narrow' }, text),
    h('th', { colspan: 2, scope: 'row', class: 'foot-label hide-wide' }, text),
  ];
}

function renderOpenItems(card) {
  const oi = card.view.open_items;
  if (!oi.invoices.length) {
    replaceBody(card.el.openItems, empty('Keine offenen Posten.'));
    return;
  }
  const rows = oi.invoices.map((inv) =>
    h(
      'tr',
      { testid: 'invoice-row', 'data-number': inv.number, class: inv.overdue ? 'overdue' : null },
      h('td', null, docLink(card.id, 'invoice', inv.number), inv.self_billed ? h('small', { class: 'muted' }, ' Gutschriftsverfahren') : null, extraLines(inv, 'invoice-extra'), provNote(docSource(inv))),
      h('td', { class: 'hide-narrow' }, fmtDate(inv.issue_date)),
      h(
        'td',
        null,
        h('span', { testid: 'invoice-due' }, fmtDate(inv.due_date)),
        inv.overdue ? h('span', { class: 'badge badge-danger', testid: 'invoice-overdue' }, inv.days_overdue === 1 ? '1 Tag überfällig' : inv.days_overdue + ' Tage überfällig') : null,
        inv.dunning_level > 0 ? h('span', { class: 'badge badge-warn', testid: 'invoice-dunning' }, dunningText(inv.dunning_level)) : null,
      ),
      h('td', { class: 'num hide-narrow' }, inv.gross ? fmtMoney(inv.gross) : '–'),
      h('td', { class: 'num strong', testid: 'invoice-open' }, fmtMoney(inv.open_amount)),
      h('td', { class: 'hide-narrow' }, INVOICE_STATUS[inv.status] || inv.status),
    ),
  );
  const foot = [
    h('tr', { testid: 'open-total' }, footLabel('Summe offen (' + plural(oi.count, 'Rechnung', 'Rechnungen') + ')'), h('td', { class: 'num strong' }, fmtMoney(oi.total)), h('td', { class: 'hide-narrow' })),
    h(
      'tr',
      { testid: 'overdue-total', class: isPositive(oi.overdue) ? 'overdue' : null },
      footLabel('davon überfällig (' + plural(oi.overdue_count, 'Rechnung', 'Rechnungen') + ')'),
      h('td', { class: 'num strong' }, fmtMoney(oi.overdue)),
      h('td', { class: 'hide-narrow' }),
    ),
    oi.open_credit_notes_count
      ? [
          h('tr', { testid: 'credit-total' }, footLabel('abzüglich offene Gutschriften (' + plural(oi.open_credit_notes_count, 'Gutschrift', 'Gutschriften') + ')'), h('td', { class: 'num' }, fmtMoney(oi.open_credit_notes)), h('td', { class: 'hide-narrow' })),
          h('tr', { testid: 'net-total' }, footLabel('Saldo'), h('td', { class: 'num strong' }, fmtMoney(oi.open_net)), h('td', { class: 'hide-narrow' })),
        ]
      : null,
    (oi.other_currencies || []).map((c) =>
      h('tr', null, footLabel('in ' + c.total.currency + ' (davon überfällig ' + fmtMoney(c.overdue) + ')'), h('td', { class: 'num' }, fmtMoney(c.total)), h('td', { class: 'hide-narrow' })),
    ),
  ];
  replaceBody(
    card.el.openItems,
    table(
      [['Rechnung'], ['Datum', 'hide-narrow'], ['Fällig am'], ['Betrag', 'num hide-narrow'], ['Offen', 'num'], ['Status', 'hide-narrow']],
      rows,
      foot,
      { class: 'items' },
    ),
    oi.superseded && oi.superseded.length ? h('p', { class: 'muted small' }, 'Durch Korrekturrechnungen ersetzt: ' + oi.superseded.join(', ')) : null,
  );
}

function renderCredits(card) {
  const notes = card.view.credit_notes || [];
  if (!notes.length) {
    replaceBody(card.el.credits, empty('Keine Gutschriften.'));
    return;
  }
  replaceBody(
    card.el.credits,
    table(
      [['Gutschrift'], ['Datum'], ['Betrag', 'num'], ['Offen', 'num'], ['zu Rechnung']],
      notes.map((n) =>
        h(
          'tr',
          { testid: 'credit-note-row', 'data-number': n.number },
          h('td', null, docLink(card.id, 'credit_note', n.number), extraLines(n, 'credit-note-extra'), provNote(docSource(n))),
          h('td', null, fmtDate(n.issue_date)),
          h('td', { class: 'num' }, n.gross ? fmtMoney(n.gross) : '–'),
          h('td', { class: 'num', testid: 'credit-note-open' }, n.open_amount ? fmtMoney(n.open_amount) : '–'),
          h('td', null, n.invoice_ref || '–'),
        ),
      ),
    ),
  );
}

function availabilityCell(line) {
  const a = line.availability;
  if (!a) return h('span', { class: 'muted' }, 'kein Bestand bekannt');
  const unit = a.unit || line.unit || '';
  const need = Number(line.open_quantity || 0);
  const enough = Number(a.available) >= need && Number(a.available) > 0;
  const tip = (a.warehouses || []).map((w) => 'Lager ' + w.warehouse + ': ' + fmtNumber(w.on_hand) + ' Bestand, ' + fmtNumber(w.available) + ' verfügbar' + (w.next_receipt_date ? ', Zugang ' + fmtDate(w.next_receipt_date) : '')).join('\n');
  return h(
    'span',
    { class: 'avail ' + (need > 0 ? (enough ? 'ok' : 'short') : ''), title: tip || null, testid: 'line-availability' },
    availabilityParts(a, unit),
  );
}

function promisedCell(obj) {
  return [
    h('span', { testid: 'promised-date' }, fmtDate(obj.promised_date)),
    obj.promised_date_before
      ? h(
          'span',
          {
            class: 'badge badge-warn moved',
            testid: 'moved',
            title: obj.promised_date_source ? 'Neuer Termin laut Auftragsbestätigung (' + sourceName(obj.promised_date_source.connector) + ')' : 'Termin verschoben',
          },
          'verschoben vom ' + fmtDate(obj.promised_date_before),
        )
      : null,
  ];
}

function renderOrders(card) {
  const orders = card.view.open_orders || [];
  if (!orders.length) {
    replaceBody(card.el.orders, empty('Keine offenen Aufträge.'));
    return;
  }
  replaceBody(
    card.el.orders,
    orders.map((o) => {
      const meta = [
        o.order_date ? 'vom ' + fmtDate(o.order_date) : null,
        o.customer_order_ref ? 'Bestellung ' + o.customer_order_ref : null,
        o.total ? fmtMoney(o.total) : null,
      ].filter(Boolean);
      const lines = (o.lines || []).map((l) =>
        h(
          'tr',
          { testid: 'order-line', 'data-sku': l.sku || '' },
          h('td', { class: 'hide-narrow' }, l.line_no || ''),
          h('td', null, l.sku ? h('span', { class: 'doc-no' }, l.sku) : null, l.description ? h('span', { class: 'block' }, l.description) : null),
          h(
            'td',
            { class: 'num' },
            fmtNumber(l.quantity) + (l.unit ? ' ' + l.unit : ''),
            l.delivered_quantity && Number(l.delivered_quantity) > 0 ? h('small', { class: 'block muted' }, fmtNumber(l.delivered_quantity) + ' geliefert') : null,
          ),
          h('td', null, promisedCell(l)),
          h('td', null, availabilityCell(l)),
        ),
      );
      return h(
        'div',
        { class: 'order', testid: 'order', 'data-number': o.number },
        h(
          'div',
          { class: 'order-head' },
          docLink(card.id, 'order', o.number, 'Auftrag ' + o.number),
          h('span', { class: 'badge' }, ORDER_STATUS[o.status] || o.status),
          meta.length ? h('span', { class: 'muted' }, meta.join(' · ')) : null,
          o.next_delivery_date ? h('span', { class: 'next', testid: 'order-next' }, 'nächste Lieferung ' + fmtDate(o.next_delivery_date)) : null,
          o.promised_date_before ? h('span', { class: 'badge badge-warn', testid: 'moved' }, 'Termin verschoben vom ' + fmtDate(o.promised_date_before) + ' auf ' + fmtDate(o.promised_date)) : null,
          provNote(docSource(o) + (o.confirmations && o.confirmations.length ? '\nBestätigt durch: ' + o.confirmations.map(where).join('; ') : '')),
        ),
        lines.length ? table([['Pos.', 'hide-narrow'], ['Artikel'], ['Menge', 'num'], ['Liefertermin'], ['Verfügbarkeit']], lines) : null,
      );
    }),
  );
}

/** "läuft heute ab", "läuft morgen ab", "läuft in 4 Tagen ab". */
export function expiryText(days) {
  if (days === null || days === undefined) return null;
  if (days === 0) return 'läuft heute ab';
  if (days === 1) return 'läuft morgen ab';
  return 'läuft in ' + days + ' Tagen ab';
}

function renderQuotes(card) {
  const quotes = card.view.open_quotes || [];
  if (!quotes.length) {
    replaceBody(card.el.quotes, empty('Keine offenen Angebote.'));
    return;
  }
  const rows = quotes.map((q) => {
    const requested = q.status === 'requested';
    const soon = q.days_to_expiry !== null && q.days_to_expiry !== undefined && q.days_to_expiry <= 7;
    return h(
      'tr',
      { testid: 'quote', 'data-number': q.number },
      h('td', null, docLink(card.id, 'quote', q.number, (requested ? 'Anfrage ' : '') + q.number), q.request_ref ? h('small', { class: 'block muted' }, 'zur Anfrage ' + q.request_ref) : null, provNote(docSource(q))),
      h('td', { class: 'hide-narrow' }, q.quote_date ? fmtDate(q.quote_date) : ''),
      h(
        'td',
        { testid: 'quote-expiry' },
        requested ? h('span', { class: 'badge' }, 'angefragt, noch kein Angebot') : q.valid_until ? fmtDate(q.valid_until) : '–',
        !requested && q.valid_until ? h('small', { class: 'block' + (soon ? ' warn-text' : ' muted') }, expiryText(q.days_to_expiry)) : null,
      ),
      h('td', { class: 'num' }, q.total ? fmtMoney(q.total) : ''),
    );
  });
  replaceBody(card.el.quotes, table([['Angebot'], ['Datum', 'hide-narrow'], ['Gültig bis'], ['Summe', 'num']], rows));
}

// ---------------------------------------------------------------- timeline

function buildTimeline(card) {
  const tl = card.tl;
  tl.chips = h(
    'div',
    { class: 'chips', role: 'group', 'aria-label': 'Nach Art filtern' },
    [['', 'Alle']].concat(KINDS).map(([kind, label]) =>
      h(
        'button',
        {
          type: 'button',
          class: 'chip-toggle',
          'data-kind': kind,
          'aria-pressed': kind === '' ? 'true' : 'false',
          testid: 'timeline-chip',
          onclick: () => {
            if (kind === '') tl.kinds.clear();
            else if (tl.kinds.has(kind)) tl.kinds.delete(kind);
            else tl.kinds.add(kind);
            for (const b of tl.chips.querySelectorAll('button')) {
              const k = b.getAttribute('data-kind');
              b.setAttribute('aria-pressed', String(k === '' ? tl.kinds.size === 0 : tl.kinds.has(k)));
            }
            loadTimeline(card, true);
          },
        },
        label,
      ),
    ),
  );
  tl.list = h('ol', { class: 'timeline', testid: 'timeline-items' });
  tl.status = h('p', { class: 'muted small', role: 'status' });
  tl.more = h('button', { type: 'button', class: 'btn', testid: 'timeline-more', hidden: true, onclick: () => loadTimeline(card, false) }, 'Mehr laden');
  replaceBody(card.el.timeline, tl.chips, tl.list, tl.status, tl.more);
}

export async function loadTimeline(card, fresh) {
  const tl = card.tl;
  const mine = ++tl.seq;
  let url = '/api/v1/customers/' + card.id + '/timeline?limit=' + TIMELINE_PAGE;
  if (tl.kinds.size) url += '&kind=' + encodeURIComponent(Array.from(tl.kinds).join(','));
  if (!fresh && tl.cursor) url += '&cursor=' + encodeURIComponent(tl.cursor);
  tl.more.disabled = true;
  tl.status.textContent = 'Lade Verlauf …';
  try {
    const page = await api('GET', url);
    if (mine !== tl.seq || !alive(card.gen)) return;
    if (fresh) tl.list.replaceChildren();
    for (const item of page.items) tl.list.append(timelineItem(card, item));
    tl.cursor = page.next_cursor || null;
    tl.more.hidden = !tl.cursor;
    tl.more.disabled = false;
    tl.status.textContent = tl.list.children.length ? '' : 'Keine Einträge.';
  } catch (e) {
    if (mine !== tl.seq || !alive(card.gen)) return;
    tl.more.disabled = false;
    tl.status.textContent = describe(e);
  }
}

function timelineDetail(item) {
  if (!item.detail) return null;
  if (item.kind === 'complaint') {
    const m = /^(\w+) \((\w+)\)$/.exec(item.detail);
    if (m) return (COMPLAINT_STATUS[m[1]] || m[1]) + ' (' + (CATEGORY_LABELS[m[2]] || m[2]) + ')';
  }
  if (item.kind === 'order' && ORDER_STATUS[item.detail]) return ORDER_STATUS[item.detail];
  return prettify(item.detail);
}

const DOC_KINDS = ['invoice', 'credit_note', 'order', 'quote'];

function timelineItem(card, item) {
  return h(
    'li',
    { class: 'tl-item kind-' + item.kind, testid: 'timeline-item', 'data-kind': item.kind },
    h('span', { class: 'tl-when' }, fmtWhen(item.at)),
    h('span', { class: 'badge tl-kind' }, KIND_LABELS[item.kind] || item.kind),
    h(
      'span',
      { class: 'tl-body' },
      h('span', { class: 'tl-title' }, DOC_KINDS.includes(item.kind) ? docLink(card.id, item.kind, item.reference, item.title) : item.title),
      item.detail ? h('span', { class: 'tl-detail muted' }, timelineDetail(item)) : null,
      item.team ? h('span', { class: 'tl-team muted small' }, 'Team ' + item.team) : null,
      item.source ? provNote('Quelle: ' + where(item.source)) : null,
      item.own ? ownContactActions(card, item) : null,
    ),
  );
}
