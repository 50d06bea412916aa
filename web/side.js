// kontor web page – the customer card's side panels: reminders, complaints, master data,
// sources.

import {
  CATEGORY_LABELS, COMPLAINT_STATUS, ENTITIES, FIELD_LABELS, FIELD_ORDER, RULES, addDays, api,
  empty, fmtDate, fmtDateTime, fmtValue, h, inlineError, mailLink, numberChip, offerUndo, phoneLink, prettify, provenance, where,
} from './lib.js';
import { reloadCard, replaceBody } from './card.js';
import { alive } from './app.js';

// ---------------------------------------------------------------- customer card: side panels

export function renderReminders(card) {
  async function reopen(r) {
    await api('POST', '/api/v1/reminders/' + r.id + '/reopen');
    if (alive(card.gen)) reloadCard(card);
  }
  const v = card.view;
  const list = v.reminders || [];
  if (!list.length) {
    replaceBody(card.el.reminders, empty('Keine offenen Wiedervorlagen.'));
    return;
  }
  replaceBody(
    card.el.reminders,
    h(
      'ul',
      { class: 'items-list' },
      list.map((r) => {
        const snoozed = r.status === 'snoozed' && r.snoozed_until;
        const due = r.due_date < v.as_of && !snoozed;
        const msg = h('p', { class: 'form-message', role: 'status' });
        const actions = h('div', { class: 'row-actions' });
        const busy = (on) => actions.querySelectorAll('button, input').forEach((b) => (b.disabled = on));

        async function done() {
          busy(true);
          try {
            await api('POST', '/api/v1/reminders/' + r.id + '/done');
            if (alive(card.gen)) reloadCard(card);
            offerUndo('„' + r.title + '“ erledigt.', () => reopen(r));
          } catch (e) {
            busy(false);
            inlineError(msg, e);
          }
        }

        function snoozeForm() {
          const tomorrow = addDays(v.as_of, 1);
          const date = h('input', { type: 'date', min: tomorrow, value: addDays(v.as_of, 7), required: true, testid: 'snooze-date', 'aria-label': 'Verschieben bis' });
          actions.replaceChildren(
            h(
              'form',
              {
                class: 'inline-form',
                onsubmit: async (e) => {
                  e.preventDefault();
                  if (!date.value) return;
                  busy(true);
                  try {
                    await api('POST', '/api/v1/reminders/' + r.id + '/snooze', { until: date.value });
                    if (alive(card.gen)) reloadCard(card);
                    offerUndo('„' + r.title + '“ verschoben bis ' + fmtDate(date.value) + '.', () => reopen(r));
                  } catch (err) {
                    busy(false);
                    inlineError(msg, err);
                  }
                },
              },
              h('label', null, 'bis ', date),
              h('button', { type: 'submit', class: 'btn btn-primary', testid: 'snooze-confirm' }, 'Verschieben'),
              h('button', { type: 'button', class: 'btn btn-quiet', onclick: defaultActions }, 'Abbrechen'),
            ),
          );
          date.focus();
        }

        function defaultActions() {
          actions.replaceChildren(
            h('button', { type: 'button', class: 'btn', testid: 'reminder-done', onclick: done }, 'Erledigt'),
            h('button', { type: 'button', class: 'btn', testid: 'reminder-snooze', onclick: snoozeForm }, 'Verschieben'),
          );
        }
        defaultActions();

        return h(
          'li',
          { class: 'item' + (due ? ' is-overdue' : ''), testid: 'reminder', 'data-id': r.id },
          h('div', { class: 'item-title', testid: 'reminder-title' }, r.title),
          h(
            'div',
            { class: 'item-meta' },
            h('span', { testid: 'reminder-due', class: due ? 'danger-text' : null }, (due ? 'überfällig seit ' : 'fällig ') + fmtDate(r.due_date)),
            snoozed ? h('span', { class: 'badge', testid: 'reminder-snoozed' }, 'verschoben bis ' + fmtDate(r.snoozed_until)) : null,
            r.assignee ? h('span', null, 'für ' + r.assignee) : null,
          ),
          r.reason ? h('div', { class: 'muted small' }, prettify(r.reason)) : null,
          actions,
          msg,
        );
      }),
    ),
  );
}

function complaintOpen(t) {
  return t.status !== 'resolved' && t.status !== 'closed';
}

export function complaintItem(t, testid) {
  const refs = [
    t.invoice_ref ? 'Rechnung ' + t.invoice_ref : null,
    t.order_ref ? 'Auftrag ' + t.order_ref : null,
    t.sku ? 'Artikel ' + t.sku : null,
  ].filter(Boolean);
  const late = t.overdue && complaintOpen(t);
  return h(
    'li',
    { class: 'item' + (late ? ' is-overdue' : ''), testid: testid, 'data-id': t.id },
    h('div', { class: 'item-title' }, h('span', { testid: 'complaint-title' }, t.title)),
    h(
      'div',
      { class: 'item-meta' },
      h('span', { class: 'badge status-' + t.status, testid: 'complaint-status' }, COMPLAINT_STATUS[t.status] || t.status),
      h('span', null, CATEGORY_LABELS[t.category] || t.category),
      h('span', null, 'erfasst ' + fmtDate(t.created_at)),
      t.deadline && complaintOpen(t) ? h('span', null, 'Frist ' + fmtDateTime(t.deadline)) : null,
      late ? h('span', { class: 'badge badge-danger', testid: 'complaint-overdue' }, 'Frist überschritten') : null,
    ),
    refs.length ? h('div', { class: 'muted small' }, refs.join(' · ')) : null,
    t.text ? h('div', { class: 'small' }, t.text) : null,
    t.resolution ? h('div', { class: 'resolution', testid: 'complaint-resolution' }, 'Lösung: ' + t.resolution) : null,
  );
}

export function renderComplaints(card) {
  const list = card.view.tickets || [];
  if (!list.length) {
    replaceBody(card.el.complaints, empty('Keine Reklamationen.'));
    return;
  }
  replaceBody(card.el.complaints, h('ul', { class: 'items-list' }, list.map((t) => complaintItem(t, 'complaint'))));
}

export function renderMaster(card) {
  const v = card.view;
  const fields = v.fields || {};
  const keys = Object.keys(fields).sort((a, b) => {
    const ia = FIELD_ORDER.indexOf(a);
    const ib = FIELD_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  const rows = keys.map((k) => {
    const f = fields[k];
    const tip = provenance(f.source, f.synced_at, f.others, k);
    const prov = h('div', { class: 'prov', hidden: true }, tip);
    const row = h(
      'div',
      {
        class: 'field' + (f.others && f.others.length ? ' has-others' : ''),
        title: tip,
        tabindex: '0',
        role: 'button',
        'aria-expanded': 'false',
        testid: 'field-' + k,
        onclick: () => toggle(),
        onkeydown: (e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            toggle();
          }
        },
      },
      h('dt', null, FIELD_LABELS[k] || k),
      h(
        'dd',
        null,
        h('span', { class: 'value' }, k === 'phones' || k === 'fax' ? [].concat(f.value).map((p) => (v.phone_display || {})[p] || p).join(', ') : fmtValue(k, f.value)),
        h('span', { class: 'src' }, f.source.connector),
        f.others && f.others.length ? h('span', { class: 'badge badge-warn', title: 'Andere Quellen haben abweichende Werte' }, '≠ ' + f.others.length) : null,
      ),
      prov,
    );
    function toggle() {
      prov.hidden = !prov.hidden;
      row.setAttribute('aria-expanded', String(!prov.hidden));
    }
    return row;
  });
  const contacts = (v.contacts || []).map((c) =>
    h(
      'li',
      { class: 'item', title: 'Quelle: ' + where(c.source), testid: 'contact' },
      h('div', { class: 'item-title' }, c.name),
      h('div', { class: 'item-meta' }, [c.function, c.department].filter(Boolean).join(', ')),
      h(
        'div',
        { class: 'item-meta' },
        c.email ? mailLink(c.email) : null,
        (c.phones || []).map((p) => phoneLink(p, v.phone_display, 'contact-phone')),
      ),
    ),
  );
  replaceBody(
    card.el.master,
    rows.length ? h('dl', { class: 'fields' }, rows) : empty('Keine Stammdaten.'),
    h('p', { class: 'muted small' }, 'Quelle und abweichende Werte: Maus auf den Wert halten oder antippen.'),
    contacts.length ? [h('h3', null, 'Ansprechpartner'), h('ul', { class: 'items-list' }, contacts)] : null,
  );
}

export function renderSources(card) {
  const sources = card.view.sources || [];
  if (!sources.length) {
    replaceBody(card.el.sources, empty('Keine Quellen.'));
    return;
  }
  replaceBody(
    card.el.sources,
    h(
      'ul',
      { class: 'items-list' },
      sources.map((s) => {
        let how;
        if (s.rule === 'anchor') how = RULES.anchor;
        else if (s.matched_on) {
          const m = s.matched_on;
          how = 'verknüpft über ' + (RULES[m.rule] || m.rule) + ' ' + m.value + (m.via ? ' (mit ' + m.via.system + ' ' + m.via.customer_no + ')' : '');
        } else how = 'verknüpft: ' + (RULES[s.rule] || s.rule);
        const records = Object.entries(s.records || {}).map(([e, n]) => {
          const l = ENTITIES[e] || [e, e];
          return n + ' ' + (n === 1 ? l[0] : l[1]);
        });
        return h(
          'li',
          { class: 'item' + (s.stale ? ' is-stale' : ''), testid: 'source', 'data-connector': s.connector },
          h(
            'div',
            { class: 'item-title' },
            h('span', null, s.connector),
            ' ',
            numberChip(s.system, s.external_id),
            s.stale
              ? h('span', { class: 'badge badge-warn', testid: 'source-stale', title: 'Der letzte erfolgreiche Abgleich ist älter, als der Zeitplan vorsieht (' + fmtDateTime(s.connector_last_success) + ').' }, 'veraltet')
              : null,
          ),
          h('div', { class: 'item-meta', testid: 'source-match' }, how),
          h(
            'div',
            { class: 'muted small' },
            records.join(', '),
            s.last_synced_at ? ' · Stand ' + fmtDateTime(s.last_synced_at) : '',
            s.connector_last_success ? ' · letzter Abgleich ' + fmtDateTime(s.connector_last_success) : '',
          ),
        );
      }),
    ),
  );
}
