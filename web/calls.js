// kontor web page – incoming calls pop up by themselves, whatever page is open: the server
// streams the calls of this person's team (GET /api/v1/calls/events, Server-Sent Events);
// a call rings → a pop-up with the caller and what to know; answered or ended → it goes.

import { fmtDate, fmtDays, fmtMoney, h, isPositive, link, plural } from './lib.js';

let source = null;
let retry = null;
const pops = new Map();
const DISMISSED = 'kontor-calls-dismissed';

/** Calls this person closed: a reload does not bring them back while they still ring. */
function dismissed() {
  try {
    return JSON.parse(sessionStorage.getItem(DISMISSED) || '[]');
  } catch (_) {
    return [];
  }
}

function dismiss(callId) {
  try {
    sessionStorage.setItem(DISMISSED, JSON.stringify(dismissed().concat(callId).slice(-50)));
  } catch (_) {}
  close(callId);
}

function stack() {
  let s = document.getElementById('call-stack');
  if (!s) {
    s = h('div', { id: 'call-stack', class: 'call-stack', role: 'region', 'aria-label': 'Eingehende Anrufe', 'aria-live': 'assertive', testid: 'call-stack' });
    document.body.append(s);
  }
  return s;
}

/** Starts listening (after sign-in); `signedIn` says whether to try again after an error. */
export function startCalls(signedIn) {
  if (source || typeof EventSource === 'undefined') return;
  clearTimeout(retry);
  source = new EventSource('/api/v1/calls/events');
  source.addEventListener('call', (e) => ring(JSON.parse(e.data)));
  source.addEventListener('call_update', (e) => update(JSON.parse(e.data)));
  source.addEventListener('error', () => {
    // EventSource reconnects by itself after a dropped stream; a refused one (401, 403)
    // stays closed: try again later while the person is signed in.
    if (source && source.readyState === EventSource.CLOSED) {
      source = null;
      retry = setTimeout(() => signedIn() && startCalls(signedIn), 30_000);
    }
  });
}

export function stopCalls() {
  clearTimeout(retry);
  if (source) source.close();
  source = null;
  for (const p of pops.values()) p.el.remove();
  pops.clear();
}

function ring(d) {
  if (!d || !d.call_id || pops.has(d.call_id) || dismissed().includes(d.call_id)) return;
  const pop = d.pop || {};
  const c = pop.customer;
  const unknown = pop.number === 'anonymous';
  const who = c ? c.name || 'Kunde ' + c.id : unknown ? 'Unterdrückte Nummer' : 'Unbekannte Nummer';
  const facts = [];
  if (c) {
    if (isPositive(c.open_items_total)) facts.push('offen ' + fmtMoney(c.open_items_total));
    if (isPositive(c.overdue_total)) facts.push(h('strong', { class: 'danger-text' }, 'überfällig ' + fmtMoney(c.overdue_total)));
    const pay = c.payment_behaviour;
    if (pay && pay.invoices_paid && Number(pay.avg_days_late) > 0) {
      facts.push(h('span', { testid: 'call-payment' }, 'zahlt Ø ' + fmtDays(pay.avg_days_late) + ' zu spät' + (pay.trend === 'worse' ? ' (schlechter)' : '')));
    }
    const next = (c.open_orders || []).find((o) => o.next_delivery_date);
    if (next) facts.push('Lieferung ' + fmtDate(next.next_delivery_date));
    if ((c.open_complaints || []).length) facts.push(plural(c.open_complaints.length, 'offene Reklamation', 'offene Reklamationen'));
    if ((c.due_reminders || []).length) facts.push(plural(c.due_reminders.length, 'fällige Wiedervorlage', 'fällige Wiedervorlagen'));
  }
  const number = unknown ? '' : pop.number || '';
  const shown = unknown ? '' : d.number_display || number;
  const el = h(
    'div',
    { class: 'call-pop', role: 'alert', testid: 'call-pop', 'data-call-id': d.call_id },
    h('div', { class: 'call-pop-head' }, h('span', { class: 'badge' }, 'Anruf'), shown ? h('span', { class: 'muted', testid: 'call-pop-number' }, shown) : null),
    h('div', { class: 'call-pop-name', testid: 'call-pop-name' }, who),
    facts.length ? h('div', { class: 'call-pop-facts', testid: 'call-pop-facts' }, facts.map((f, i) => [i ? ' · ' : null, f])) : null,
    h(
      'div',
      { class: 'row-actions' },
      c
        ? link('/kunde/' + c.id, { class: 'btn btn-primary', testid: 'call-pop-open', onclick: () => dismiss(d.call_id) }, 'Karte öffnen')
        : number
          ? link('/anruf?nummer=' + encodeURIComponent(number), { class: 'btn', testid: 'call-pop-open', onclick: () => dismiss(d.call_id) }, 'Nummer prüfen')
          : null,
      h('button', { type: 'button', class: 'btn btn-quiet', testid: 'call-pop-close', onclick: () => dismiss(d.call_id) }, 'Schließen'),
    ),
  );
  let note = null;
  if (typeof Notification !== 'undefined' && Notification.permission === 'granted' && document.hidden) {
    note = new Notification('Anruf: ' + who, { body: shown, tag: d.call_id });
    note.onclick = () => {
      window.focus();
      note.close();
    };
  }
  pops.set(d.call_id, { el: el, note: note });
  const s = stack();
  s.append(el);
  offerNotifications(s);
}

/** Asks once for browser notifications (for calls while the page is in the background). */
function offerNotifications(s) {
  if (typeof Notification === 'undefined' || Notification.permission !== 'default' || s.querySelector('.call-notify')) return;
  s.prepend(
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-quiet call-notify',
        testid: 'call-notify',
        onclick: async (e) => {
          const b = e.currentTarget;
          try {
            await Notification.requestPermission();
          } finally {
            b.remove();
          }
        },
      },
      'Anrufe auch im Hintergrund melden',
    ),
  );
}

function update(d) {
  if (!d || !d.call_id) return;
  if (d.state === 'answered' || d.state === 'ended') close(d.call_id);
}

function close(callId) {
  const p = pops.get(callId);
  if (!p) return;
  p.el.remove();
  if (p.note) p.note.close();
  pops.delete(callId);
  const s = document.getElementById('call-stack');
  if (s && !pops.size) s.querySelectorAll('.call-notify').forEach((b) => b.remove());
}
