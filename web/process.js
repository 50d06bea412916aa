// kontor web page – a complaint's service process on the customer card: its steps (Schritt,
// fällig am, erledigt/überfällig) with a button to mark one done, the expected and the
// recorded cost, and "Weiterleiten" to another team with a note. Without a card (the call
// pop-up) it only shows them.

import { api, fmtDate, fmtDateTime, fmtMoney, h, inlineError, offerUndo } from './lib.js';
import { reloadCard } from './card.js';
import { alive } from './app.js';

const STEP_STATUS = { open: 'offen', done: 'erledigt', overdue: 'überfällig' };
const STEP_BADGE = { open: '', done: ' status-resolved', overdue: ' badge-danger' };

function euro(amount) {
  return fmtMoney({ amount: amount, currency: 'EUR' });
}

/** An amount as people type it (`1.250,50 €`, `180`) → `1250.50`; `''` stays empty. */
export function costInput(text) {
  let s = String(text || '').replace(/[€\s\u00a0]/g, '');
  if (s.includes(',')) s = s.replace(/\./g, '').replace(',', '.');
  return s;
}

function isOpen(t) {
  return t.status !== 'resolved' && t.status !== 'closed';
}

/** The steps, costs and forwarding of complaint `t`; with `card`, the buttons too. */
export function complaintProcess(t, card) {
  const msg = h('p', { class: 'form-message', role: 'status' });
  const editable = card && t.status !== 'closed';
  const steps = (t.steps || []).map((s) => stepRow(t, s, editable ? card : null, msg));
  const costs = [
    t.expected_cost ? h('span', { testid: 'complaint-expected-cost' }, 'Erwartete Kosten ' + euro(t.expected_cost)) : null,
    t.cost ? h('span', { testid: 'complaint-cost' }, 'Kosten ' + euro(t.cost)) : null,
  ].filter(Boolean);
  const forwards = (t.forwards || []).map((f) =>
    h(
      'li',
      { testid: 'complaint-forward-entry' },
      fmtDateTime(f.at) + ': ' + (f.from_team ? 'von ' + f.from_team + ' ' : '') + 'an ' + f.to_team + ' – ' + f.note,
    ),
  );
  const parts = [
    t.forwarded_to ? h('div', { class: 'badge badge-warn', testid: 'complaint-forwarded' }, 'Weitergeleitet an ' + t.forwarded_to) : null,
    steps.length ? h('ol', { class: 'steps', testid: 'complaint-steps', 'aria-label': 'Serviceprozess' }, steps) : null,
    costs.length ? h('div', { class: 'item-meta' }, ...costs) : null,
    forwards.length ? h('ul', { class: 'forwards muted small', testid: 'complaint-forwards' }, forwards) : null,
  ].filter(Boolean);
  if (card) parts.push(processActions(card, t, msg), msg);
  return parts.length ? h('div', { class: 'process' }, ...parts) : null;
}

function stepRow(t, s, card, msg) {
  const parts = [
    h('span', { class: 'step-name' }, s.step),
    h('span', { class: 'muted small' }, 'fällig am ' + fmtDate(s.due)),
    h('span', { class: 'badge' + STEP_BADGE[s.status], testid: 'step-status' }, STEP_STATUS[s.status] || s.status),
    s.done_at ? h('span', { class: 'muted small' }, 'am ' + fmtDateTime(s.done_at)) : null,
    s.expected_cost ? h('span', { class: 'muted small' }, euro(s.expected_cost)) : null,
  ].filter(Boolean);
  // Spaces between the parts: the row reads as a sentence (screen readers, copying).
  const row = h('li', { class: 'step step-' + s.status, testid: 'complaint-step', 'data-n': s.n, 'data-status': s.status }, parts.flatMap((p) => [p, ' ']));
  if (!card) return row;
  const done = s.status !== 'done';
  row.append(
    h(
      'button',
      { type: 'button', class: 'btn btn-small', testid: done ? 'step-done' : 'step-reopen', onclick: () => mark(card, t, s, done, msg) },
      done ? 'Erledigt' : 'Wieder öffnen',
    ),
  );
  return row;
}

async function mark(card, t, s, done, msg) {
  const url = '/api/v1/complaints/' + t.id + '/steps/' + s.n;
  try {
    await api('PATCH', url, { done: done });
    if (!alive(card.gen)) return;
    reloadCard(card);
    offerUndo('Schritt „' + s.step + '“ ' + (done ? 'erledigt.' : 'wieder offen.'), async () => {
      await api('PATCH', url, { done: !done });
      if (alive(card.gen)) reloadCard(card);
    });
  } catch (e) {
    inlineError(msg, e);
  }
}

/** "Weiterleiten" (open complaints) and "Kosten erfassen". */
function processActions(card, t, msg) {
  const row = h('div', { class: 'row-actions' });
  function defaults() {
    row.replaceChildren(
      isOpen(t) ? h('button', { type: 'button', class: 'btn', testid: 'complaint-forward', onclick: forwardForm }, 'Weiterleiten …') : null,
      h('button', { type: 'button', class: 'btn btn-quiet', testid: 'complaint-cost-edit', onclick: costForm }, t.cost ? 'Kosten ändern …' : 'Kosten erfassen …'),
    );
  }

  async function forwardForm() {
    let teams = [];
    try {
      teams = (await api('GET', '/api/v1/complaints/' + t.id)).forward_to || [];
    } catch (e) {
      inlineError(msg, e);
      return;
    }
    if (!alive(card.gen)) return;
    if (!teams.length) {
      msg.className = 'form-message error';
      msg.textContent = 'Keine Teams zum Weiterleiten eingerichtet.';
      return;
    }
    const team = h('select', { testid: 'forward-team', 'aria-label': 'an Team' }, teams.map((x) => h('option', { value: x }, x)));
    const note = h('textarea', { rows: 2, required: true, maxlength: 4000, testid: 'forward-note', 'aria-label': 'Notiz für das Team', placeholder: 'Notiz für das Team (z. B. bitte Maßhaltigkeit der Charge prüfen)' });
    row.replaceChildren(
      h(
        'form',
        {
          class: 'inline-form stacked',
          testid: 'forward-form',
          onsubmit: async (e) => {
            e.preventDefault();
            if (!note.value.trim()) return;
            try {
              await api('POST', '/api/v1/complaints/' + t.id + '/forward', { team: team.value, note: note.value.trim() });
              if (!alive(card.gen)) return;
              reloadCard(card);
              offerUndo('„' + t.title + '“ an Team ' + team.value + ' weitergeleitet.', null);
            } catch (err) {
              inlineError(msg, err);
            }
          },
        },
        h('label', null, 'an Team', team),
        note,
        h('button', { type: 'submit', class: 'btn btn-primary', testid: 'forward-submit' }, 'Weiterleiten'),
        h('button', { type: 'button', class: 'btn btn-quiet', onclick: defaults }, 'Abbrechen'),
      ),
    );
    note.focus();
  }

  function costForm() {
    const input = h('input', { type: 'text', inputmode: 'decimal', testid: 'complaint-cost-input', 'aria-label': 'Kosten in Euro', placeholder: 'z. B. 120,00', value: t.cost ? String(t.cost).replace('.', ',') : '' });
    row.replaceChildren(
      h(
        'form',
        {
          class: 'inline-form',
          onsubmit: async (e) => {
            e.preventDefault();
            try {
              await api('PATCH', '/api/v1/complaints/' + t.id, { cost: costInput(input.value) || null });
              if (alive(card.gen)) reloadCard(card);
            } catch (err) {
              inlineError(msg, err);
            }
          },
        },
        h('label', null, 'Kosten (Gutschrift, Ersatz, Anfahrt) in €', input),
        h('button', { type: 'submit', class: 'btn btn-primary', testid: 'complaint-cost-save' }, 'Speichern'),
        h('button', { type: 'button', class: 'btn btn-quiet', onclick: defaults }, 'Abbrechen'),
      ),
    );
    input.focus();
  }
  defaults();
  return row;
}
