// kontor web page – the item search (/artikel?q=…): an item by number (leading zeros kept),
// EAN or name, with its stock per warehouse.

import { api, app, availabilityParts, describe, empty, fmtDate, fmtNumber, h, link, plural } from './lib.js';
import { docLink } from './docs.js';
import { provNote, where } from './prov.js';
import { alive } from './app.js';

export async function itemsView(gen) {
  document.title = 'Artikel – kontor';
  const q = (new URLSearchParams(location.search).get('q') || '').trim();
  const input = h('input', {
    type: 'search',
    testid: 'item-input',
    value: q,
    placeholder: 'Artikel suchen: Artikelnummer, EAN oder Bezeichnung',
    'aria-label': 'Artikel suchen',
    autocomplete: 'off',
    spellcheck: 'false',
    enterkeyhint: 'search',
  });
  const status = h('p', { class: 'muted search-status', testid: 'item-status', role: 'status' });
  const list = h('div', { class: 'item-hits', testid: 'item-results' });
  const form = h(
    'form',
    {
      class: 'call-lookup',
      onsubmit: (e) => {
        e.preventDefault();
        const v = input.value.trim();
        history.pushState(null, '', v ? '/artikel?q=' + encodeURIComponent(v) : '/artikel');
        search(v);
      },
    },
    input,
    h('button', { type: 'submit', class: 'btn', testid: 'item-submit' }, 'Suchen'),
  );
  app.replaceChildren(h('section', { class: 'search' }, h('h1', { class: 'sr-only' }, 'Artikel suchen'), form, status, list));

  async function search(v) {
    list.replaceChildren();
    if (!v) {
      status.textContent = 'Artikelnummer (mit führenden Nullen), EAN oder Wörter der Bezeichnung eingeben.';
      return;
    }
    status.textContent = 'Suche …';
    try {
      const res = await api('GET', '/api/v1/items?q=' + encodeURIComponent(v) + '&limit=20');
      if (!alive(gen)) return;
      status.textContent = res.items.length ? plural(res.items.length, 'Artikel', 'Artikel') : 'Kein Artikel zu „' + v + '“.';
      list.replaceChildren(...res.items.map(itemCard));
    } catch (e) {
      if (!alive(gen)) return;
      status.textContent = describe(e);
    }
  }

  input.focus();
  search(q);
}

function itemCard(a) {
  const unit = a.unit ? ' ' + a.unit : '';
  const rows = (a.warehouses || []).map((w) =>
    h(
      'tr',
      { testid: 'item-warehouse', 'data-warehouse': w.warehouse },
      h('td', null, w.warehouse || 'Standardlager', provNote('Quelle: ' + where(w.source))),
      h('td', { class: 'num' }, fmtNumber(w.on_hand) + unit),
      h('td', { class: 'num' }, fmtNumber(w.available) + unit),
      h('td', null, w.next_receipt_date ? fmtDate(w.next_receipt_date) : '–'),
    ),
  );
  return h(
    'section',
    { class: 'panel', testid: 'item-hit', 'data-sku': a.sku },
    h('h2', null, h('span', { class: 'doc-no' }, a.sku), ' ', a.description || ''),
    a.ean ? h('p', { class: 'muted small' }, 'EAN ' + a.ean) : null,
    h(
      'p',
      { testid: 'item-total' },
      availabilityParts(a, unit),
    ),
    rows.length
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            null,
            h('thead', null, h('tr', null, ['Lager', 'Bestand', 'Verfügbar', 'Nächster Zugang'].map((t, i) => h('th', { scope: 'col', class: i === 1 || i === 2 ? 'num' : null }, t)))),
            h('tbody', null, rows),
          ),
        )
      : empty('Kein Lagerbestand.'),
    waitingOrders(a, unit),
  );
}

/** The open orders that wait for the item: who, how many, by when. */
function waitingOrders(a, unit) {
  const ws = a.waiting_orders || [];
  if (!ws.length) return h('p', { class: 'muted small', testid: 'item-waiting-none' }, 'Kein offener Auftrag wartet auf diesen Artikel.');
  return h(
    'div',
    { testid: 'item-waiting' },
    h('h3', null, plural(ws.length, 'offener Auftrag wartet', 'offene Aufträge warten') + ' darauf'),
    h(
      'ul',
      { class: 'list' },
      ws.map((w) =>
        h(
          'li',
          { class: 'item', testid: 'item-waiting-order', 'data-order': w.order_number },
          w.customer_id ? docLink(w.customer_id, 'order', w.order_number, 'Auftrag ' + w.order_number) : h('span', { class: 'doc-no' }, 'Auftrag ' + w.order_number),
          ' · ',
          w.customer_id ? link('/kunde/' + w.customer_id, { testid: 'item-waiting-customer' }, w.customer_name || 'Kunde ' + w.customer_id) : (w.customer_no || ''),
          ' · ' + fmtNumber(w.open_quantity) + unit + ' offen',
          w.promised_date ? ' · Termin ' + fmtDate(w.promised_date) : '',
        ),
      ),
    ),
  );
}
