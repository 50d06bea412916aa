// kontor web page – a document opened from the card or the timeline: an invoice, credit
// note, order or quote with its dates, amounts, lines, related documents and where it comes from,
// in a dialog (Escape closes it, focus returns to the number that opened it).

import { ENTITIES, INVOICE_STATUS, ORDER_STATUS, QUOTE_STATUS, api, describe, fmtDate, fmtDateTime, fmtMoney, fmtNumber, h } from './lib.js';
import { where } from './prov.js';

const RELATIONS = {
  order: 'zum Auftrag',
  invoice: 'zur Rechnung',
  supersedes: 'ersetzt',
  superseded_by: 'ersetzt durch',
  invoiced_by: 'berechnet mit',
  credited_by: 'gutgeschrieben mit',
  delivered_by: 'geliefert mit',
  became_order: 'beauftragt mit',
  from_quote: 'aus Angebot',
};

const OPENS = ['invoice', 'credit_note', 'order', 'quote'];

// Units of e-invoices (UN/ECE Recommendation 20) as people write them.
const UNITS = { H87: 'Stk', C62: 'Stk', XPP: 'Stk', KGM: 'kg', GRM: 'g', MTR: 'm', MTK: 'm²', MTQ: 'm³', LTR: 'l', HUR: 'Std', MIN: 'Min', DAY: 'Tag(e)', MON: 'Monat(e)', SET: 'Satz', PR: 'Paar', LS: 'pauschal' };

function qty(l) {
  if (!l.quantity) return '';
  return fmtNumber(l.quantity) + (l.unit ? ' ' + (UNITS[l.unit] || l.unit) : '');
}

/** A document number that opens the document (`kind`: invoice, credit_note, order, quote). */
export function docLink(customerId, kind, number, text) {
  if (!OPENS.includes(kind)) return h('span', { class: 'doc-no' }, text || number);
  return h(
    'button',
    {
      type: 'button',
      class: 'doc-no doc-link',
      testid: 'doc-link',
      'data-kind': kind,
      'data-number': number,
      'aria-haspopup': 'dialog',
      onclick: () => openDocument(customerId, kind, number),
    },
    text || number,
  );
}

function dialogEl() {
  let d = document.getElementById('doc-dialog');
  if (!d) {
    d = h('dialog', { id: 'doc-dialog', class: 'doc-dialog', testid: 'doc-dialog', 'aria-labelledby': 'doc-title' });
    document.body.append(d);
  }
  return d;
}

function title(kind, number) {
  return (ENTITIES[kind] ? ENTITIES[kind][0] : kind) + ' ' + number;
}

/** Opens document `kind`/`number` of customer `customerId` in the dialog. */
export async function openDocument(customerId, kind, number) {
  const d = dialogEl();
  const close = h('button', { type: 'button', class: 'btn', testid: 'doc-close', onclick: () => d.close() }, 'Schließen');
  const body = h('div', { class: 'doc-body', role: 'status' }, 'Lade ' + title(kind, number) + ' …');
  d.replaceChildren(h('div', { class: 'doc-head' }, h('h2', { id: 'doc-title' }, title(kind, number)), close), body);
  if (!d.open) d.showModal();
  close.focus();
  try {
    const doc = await api('GET', '/api/v1/customers/' + customerId + '/documents/' + kind + '/' + encodeURIComponent(number));
    body.removeAttribute('role');
    body.replaceChildren(...content(customerId, doc));
  } catch (e) {
    body.textContent = describe(e);
  }
}

function fact(label, value, testid) {
  if (value === null || value === undefined || value === '') return null;
  return [h('dt', null, label), h('dd', { testid: testid || null }, value)];
}

function statusText(doc) {
  const labels = { order: ORDER_STATUS, quote: QUOTE_STATUS }[doc.kind] || INVOICE_STATUS;
  const s = doc.status ? labels[doc.status] || doc.status : null;
  if (doc.closed_at) return (s ? s + ', ' : '') + 'nicht mehr offen seit ' + fmtDateTime(doc.closed_at);
  return s;
}

function content(customerId, doc) {
  const order = doc.order;
  const facts = [
    fact(doc.kind === 'order' ? 'Auftragsdatum' : 'Datum', doc.issue_date ? fmtDate(doc.issue_date) : null, 'doc-date'),
    fact('Fällig', doc.due_date ? fmtDate(doc.due_date) : null, 'doc-due'),
    fact('Gültig bis', doc.valid_until ? fmtDate(doc.valid_until) : null, 'doc-valid'),
    fact('Status', statusText(doc), 'doc-status'),
    fact('Netto', doc.net ? fmtMoney(doc.net) : null),
    fact('Steuer', doc.tax ? fmtMoney(doc.tax) : null),
    fact(doc.kind === 'order' || doc.kind === 'quote' ? 'Summe' : 'Brutto', doc.gross ? fmtMoney(doc.gross) : null, 'doc-gross'),
    fact('Offen', doc.open_amount ? fmtMoney(doc.open_amount) : null, 'doc-open'),
    fact('Mahnstufe', doc.dunning_level ? String(doc.dunning_level) : null),
    fact('Bestellzeichen', doc.buyer_reference || (order && order.customer_order_ref) || null),
    fact('Liefertermin', order && order.promised_date ? fmtDate(order.promised_date) : null),
    ...(doc.extra || []).map((x) => fact(x.label, x.value)),
  ].filter(Boolean);
  const parts = [h('dl', { class: 'facts doc-facts' }, facts.flat())];
  const lines = order ? orderLines(order) : docLines(doc);
  if (lines) parts.push(lines);
  if (doc.related && doc.related.length) {
    parts.push(
      h('h3', null, 'Zugehörige Belege'),
      h(
        'ul',
        { class: 'doc-related', testid: 'doc-related' },
        doc.related.map((r) =>
          h(
            'li',
            null,
            (RELATIONS[r.relation] || r.relation) + ': ',
            OPENS.includes(r.kind)
              ? h('button', { type: 'button', class: 'doc-no doc-link', testid: 'doc-related-link', onclick: () => openDocument(customerId, r.kind, r.number) }, title(r.kind, r.number))
              : h('span', { class: 'doc-no' }, title(r.kind, r.number)),
          ),
        ),
      ),
    );
  }
  if (doc.warnings && doc.warnings.length) {
    parts.push(h('ul', { class: 'doc-warnings muted small' }, doc.warnings.map((w) => h('li', null, w))));
  }
  // Where it comes from: always shown here (the salesperson asked for the document).
  parts.push(
    h(
      'p',
      { class: 'muted small', testid: 'doc-source' },
      'Quelle: ' + where(doc.source),
      (doc.also_in || []).length ? h('span', { class: 'block' }, 'Auch in: ' + doc.also_in.map(where).join('; ')) : null,
    ),
  );
  return parts;
}

function table(head, rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { testid: 'doc-lines' },
      h('thead', null, h('tr', null, head.map(([t, cls]) => h('th', { scope: 'col', class: cls || null }, t)))),
      h('tbody', null, rows),
    ),
  );
}

function docLines(doc) {
  if (!doc.lines || !doc.lines.length) return null;
  return table(
    [['Pos.'], ['Artikel'], ['Menge', 'num'], ['Netto', 'num']],
    doc.lines.map((l) =>
      h(
        'tr',
        { testid: 'doc-line' },
        h('td', null, l.line_no || ''),
        h('td', null, l.sku ? h('span', { class: 'doc-no' }, l.sku) : null, l.description ? h('span', { class: 'block' }, l.description) : null),
        h('td', { class: 'num' }, qty(l)),
        h('td', { class: 'num' }, l.net ? fmtMoney(l.net) : ''),
      ),
    ),
  );
}

function orderLines(order) {
  if (!order.lines || !order.lines.length) return null;
  return table(
    [['Pos.'], ['Artikel'], ['Menge', 'num'], ['Offen', 'num'], ['Liefertermin'], ['Verfügbar', 'num']],
    order.lines.map((l) =>
      h(
        'tr',
        { testid: 'doc-line' },
        h('td', null, l.line_no || ''),
        h('td', null, l.sku ? h('span', { class: 'doc-no' }, l.sku) : null, l.description ? h('span', { class: 'block' }, l.description) : null),
        h('td', { class: 'num' }, qty(l)),
        h('td', { class: 'num' }, l.open_quantity ? fmtNumber(l.open_quantity) : ''),
        h('td', null, l.promised_date ? fmtDate(l.promised_date) : '–'),
        h('td', { class: 'num' }, l.availability ? fmtNumber(l.availability.available) : '–'),
      ),
    ),
  );
}

