// kontor web page – the customer card's side panels: reminders, complaints, master data,
// sources.

import { phoneWithDial } from './dial.js';
import {
  CATEGORY_LABELS, COMPLAINT_STATUS, ENTITIES, FIELD_LABELS, FIELD_ORDER, RULES, addDays, api,
  empty, fmtDate, fmtDateTime, fmtValue, h, inlineError, mailLink, numberChip, offerUndo, prettify,
} from './lib.js';
import { provNote, provenance, sourceName, where } from './prov.js';
import { complaintProcess } from './process.js';
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

/** A complaint; with `card`, its process steps can be marked done and it can be forwarded. */
export function complaintItem(t, testid, card) {
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
    complaintProcess(t, card),
  );
}

export function renderComplaints(card) {
  const list = card.view.tickets || [];
  if (!list.length) {
    replaceBody(card.el.complaints, empty('Keine Reklamationen.'));
    return;
  }
  replaceBody(
    card.el.complaints,
    h(
      'ul',
      { class: 'items-list' },
      list.map((t) => {
        const li = complaintItem(t, 'complaint', card);
        li.append(complaintActions(card, t));
        return li;
      }),
    ),
  );
}

/** What a button that moves a complaint to a status says. */
const STATUS_ACTIONS = {
  in_progress: 'In Bearbeitung',
  waiting: 'Wartet auf Rückmeldung',
  resolved: 'Gelöst …',
  closed: 'Abschließen',
};

/** Status changes from the card: the moves the workflow allows now (the server says which). */
function complaintActions(card, t) {
  const msg = h('p', { class: 'form-message', role: 'status' });
  const actions = h('div', { class: 'row-actions', testid: 'complaint-actions' });
  const box = h('div', null, actions, msg);
  const busy = (on) => box.querySelectorAll('button, input, textarea').forEach((b) => (b.disabled = on));

  async function move(status, resolution) {
    busy(true);
    try {
      const before = t.status;
      const body = resolution ? { status: status, resolution: resolution } : { status: status };
      const after = await api('POST', '/api/v1/complaints/' + t.id + '/status', body);
      if (!alive(card.gen)) return;
      reloadCard(card);
      const text = '„' + t.title + '“: ' + (COMPLAINT_STATUS[status] || status) + '.';
      if ((after.next_statuses || []).includes(before)) {
        offerUndo(text, async () => {
          await api('POST', '/api/v1/complaints/' + t.id + '/status', { status: before });
          if (alive(card.gen)) reloadCard(card);
        });
      } else {
        offerUndo(text, null);
      }
    } catch (e) {
      busy(false);
      inlineError(msg, e);
    }
  }

  function resolveForm() {
    const text = h('textarea', { rows: 2, required: true, maxlength: 4000, testid: 'complaint-resolution-input', 'aria-label': 'Wie wurde es gelöst?', placeholder: 'Wie wurde es gelöst? (z. B. Ersatz geliefert, Gutschrift erteilt)' });
    actions.replaceChildren(
      h(
        'form',
        {
          class: 'inline-form stacked',
          onsubmit: (e) => {
            e.preventDefault();
            if (text.value.trim()) move('resolved', text.value.trim());
          },
        },
        text,
        h('button', { type: 'submit', class: 'btn btn-primary', testid: 'complaint-resolve-confirm' }, 'Als gelöst speichern'),
        h('button', { type: 'button', class: 'btn btn-quiet', onclick: defaults }, 'Abbrechen'),
      ),
    );
    text.focus();
  }

  function defaults() {
    actions.replaceChildren(
      ...(t.next_statuses || []).map((st) => {
        const label = st === 'in_progress' && (t.status === 'resolved' || t.status === 'waiting') ? 'Wieder aufnehmen' : STATUS_ACTIONS[st] || st;
        return h(
          'button',
          { type: 'button', class: 'btn', testid: 'complaint-to-' + st, onclick: () => (st === 'resolved' && !t.resolution ? resolveForm() : move(st)) },
          label,
        );
      }),
    );
  }
  defaults();
  return box;
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
    const conflict = f.others && f.others.length;
    const row = h(
      'div',
      { class: 'field' + (conflict ? ' has-others' : ''), testid: 'field-' + k },
      h('dt', null, FIELD_LABELS[k] || k),
      h(
        'dd',
        null,
        h('span', { class: 'value' }, k === 'phones' || k === 'fax' ? [].concat(f.value).map((p) => (v.phone_display || {})[p] || p).join(', ') : fmtValue(k, f.value)),
        // A quiet hint; which sources say what is under "Herkunft".
        conflict ? h('span', { class: 'hint-quiet', testid: 'field-conflict' }, 'abweichende Angaben') : null,
        provNote(provenance(f.source, f.synced_at, f.others, k), 'field-prov'),
      ),
    );
    return row;
  });
  const contacts = (v.contacts || []).map((c) =>
    h(
      'li',
      { class: 'item', testid: 'contact' },
      h('div', { class: 'item-title' }, c.name),
      h('div', { class: 'item-meta' }, [c.function, c.department].filter(Boolean).join(', ')),
      h(
        'div',
        { class: 'item-meta' },
        c.email ? mailLink(c.email) : null,
        (c.phones || []).map((p) => phoneWithDial(p, v.phone_display, card.id, null, 'contact-phone')),
      ),
      provNote('Quelle: ' + where(c.source)),
    ),
  );
  replaceBody(
    card.el.master,
    rows.length ? h('dl', { class: 'fields' }, rows) : empty('Keine Stammdaten.'),
    h('p', { class: 'muted small' }, 'Woher eine Angabe stammt und was andere Systeme sagen: oben „Herkunft“ einschalten.'),
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
            h('span', null, sourceName(s.connector)),
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
