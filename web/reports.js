// kontor web page – the complaint report (/berichte): complaints per category, item, customer
// or team in a period, with a bar chart (inline SVG), time to resolve and recurring words.
// Never per person; a team shows only with enough members (the server decides). The cost
// columns (recorded and expected, per group only) appear when any complaint has a cost.

import { CATEGORY_LABELS, addDays, api, app, describe, empty, fmtDays, fmtMoney, h, localToday } from './lib.js';
import { alive } from './app.js';

const GROUPS = [
  ['category', 'Kategorie'],
  ['item', 'Artikel'],
  ['customer', 'Kunde'],
  ['team', 'Team'],
];
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

function label(group, key) {
  if (group === 'category') return CATEGORY_LABELS[key] || key;
  if (group === 'customer') return 'Kunde ' + key;
  if (key === 'other teams') return 'weitere Teams';
  return key;
}

/** Bars per group: resolved and open, with the count at the end. */
function chart(report) {
  const groups = report.groups.slice(0, 12);
  const max = Math.max(1, ...groups.map((g) => g.count));
  const rowH = 26;
  const width = 640;
  const labelW = 170;
  const barW = width - labelW - 50;
  const el = svg('svg', { viewBox: `0 0 ${width} ${groups.length * rowH + 8}`, class: 'report-chart', role: 'img', 'aria-label': 'Reklamationen je Gruppe: erledigt und offen', 'data-testid': 'report-chart' });
  groups.forEach((g, i) => {
    const y = i * rowH + 4;
    const done = (g.resolved / max) * barW;
    const open = (g.open / max) * barW;
    const name = label(report.group, g.key);
    el.append(
      svg('text', { x: labelW - 8, y: y + 16, 'text-anchor': 'end', class: 'chart-label' }, name.length > 24 ? name.slice(0, 23) + '…' : name),
      svg('rect', { x: labelW, y: y + 3, width: done, height: rowH - 8, class: 'bar-done' }, svg('title', null, g.resolved + ' erledigt')),
      svg('rect', { x: labelW + done, y: y + 3, width: open, height: rowH - 8, class: 'bar-open' }, svg('title', null, g.open + ' offen')),
      svg('text', { x: labelW + done + open + 6, y: y + 16, class: 'chart-count' }, String(g.count)),
    );
  });
  return el;
}

export async function reportsView(gen) {
  document.title = 'Reklamationen – Bericht – kontor';
  const params = new URLSearchParams(location.search);
  const today = localToday();
  const from = h('input', { type: 'date', testid: 'report-from', value: params.get('von') || addDays(today, -90) });
  const to = h('input', { type: 'date', testid: 'report-to', value: params.get('bis') || today });
  const group = h('select', { testid: 'report-group' }, GROUPS.map(([v, l]) => h('option', { value: v }, l)));
  group.value = params.get('nach') || 'category';
  const status = h('p', { class: 'muted', role: 'status', testid: 'report-status' });
  const out = h('div', { testid: 'report' });
  const form = h(
    'form',
    { class: 'form report-form' },
    h('label', { class: 'form-field' }, h('span', { class: 'form-label' }, 'Von'), from),
    h('label', { class: 'form-field' }, h('span', { class: 'form-label' }, 'Bis'), to),
    h('label', { class: 'form-field' }, h('span', { class: 'form-label' }, 'Gruppiert nach'), group),
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'report-submit' }, 'Anzeigen'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    history.replaceState(null, '', '/berichte?von=' + from.value + '&bis=' + to.value + '&nach=' + group.value);
    load();
  });
  app.replaceChildren(
    h('section', { class: 'panel' }, h('h1', null, 'Reklamationen auswerten'), h('p', { class: 'muted small' }, 'Nach Kategorie, Artikel, Kunde oder Team – nie nach Personen; ein Team erscheint erst ab der Mindestgröße.'), form, status, out),
  );

  async function load() {
    status.textContent = 'Lade …';
    out.replaceChildren();
    try {
      // `bis` counts the whole day.
      const url = '/api/v1/reports/complaints?from=' + from.value + 'T00:00:00Z&to=' + addDays(to.value, 1) + 'T00:00:00Z&group=' + group.value;
      const r = await api('GET', url);
      if (!alive(gen)) return;
      status.textContent = r.total + ' Reklamationen' + (r.team ? ' des Teams ' + r.team : '') + (r.withheld ? ' (' + r.withheld + ' aus zu kleinen Teams nicht aufgeschlüsselt)' : '');
      if (!r.groups.length) {
        out.replaceChildren(empty('Keine Reklamationen in diesem Zeitraum.'));
        return;
      }
      const costs = r.groups.some((g) => g.cost || g.expected_cost);
      const euro = (amount) => (amount ? fmtMoney({ amount: amount, currency: 'EUR' }) : '–');
      const rows = r.groups.map((g) =>
        h(
          'tr',
          { testid: 'report-row', 'data-key': g.key },
          h('th', { scope: 'row' }, label(r.group, g.key)),
          h('td', { class: 'num' }, String(g.count)),
          h('td', { class: 'num' }, String(g.open)),
          h('td', { class: 'num' }, fmtDays(g.median_days_to_resolve)),
          h('td', { class: 'num' }, fmtDays(g.p90_days_to_resolve)),
          h('td', { class: 'num' }, Math.round(g.past_deadline_share * 100) + ' %'),
          h('td', null, g.top_items.map((t) => t.value + ' (' + t.count + ')').join(', ') || '–'),
          h('td', null, g.recurring_terms.map((t) => t.value + ' (' + t.count + ')').join(', ') || '–'),
          costs ? h('td', { class: 'num', testid: 'report-cost', title: g.cost_recorded ? 'bei ' + g.cost_recorded + ' Reklamationen erfasst' : null }, euro(g.cost)) : null,
          costs ? h('td', { class: 'num', testid: 'report-expected-cost' }, euro(g.expected_cost)) : null,
        ),
      );
      const heads = ['Gruppe', 'Anzahl', 'Offen', 'Median bis gelöst', '90 % gelöst nach', 'Frist überschritten', 'Häufigste Artikel', 'Wiederkehrende Begriffe'];
      if (costs) heads.push('Kosten', 'Erwartete Kosten');
      out.replaceChildren(
        chart(r),
        h('p', { class: 'muted small' }, h('span', { class: 'legend legend-done' }), ' erledigt ', h('span', { class: 'legend legend-open' }), ' offen'),
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { testid: 'report-table' },
            h('thead', null, h('tr', null, heads.map((t, i) => h('th', { scope: 'col', class: (i > 0 && i < 6) || i > 7 ? 'num' : null }, t)))),
            h('tbody', null, rows),
          ),
        ),
      );
    } catch (e) {
      if (!alive(gen)) return;
      status.textContent = describe(e);
    }
  }
  load();
}
