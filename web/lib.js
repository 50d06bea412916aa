// kontor web page – the shared part: German labels, DOM helpers, formatting, messages and
// the API client with the signed-in person's session (an HttpOnly cookie the page never sees,
// and the session's CSRF token, kept in memory only). Every text from the server goes into text nodes or
// attributes (never innerHTML).

import { showLogin } from './app.js';

export const app = document.getElementById('app');
const banner = document.getElementById('banner');

// ---------------------------------------------------------------- labels (German)

export const FIELD_LABELS = {
  name: 'Name',
  name2: 'Namenszusatz',
  address: 'Anschrift',
  email: 'E-Mail',
  phones: 'Telefon',
  fax: 'Fax',
  vat_id: 'USt-IdNr.',
  gln: 'GLN',
  payment_terms_days: 'Zahlungsziel',
};
export const FIELD_ORDER = Object.keys(FIELD_LABELS);

export const MATCH_FIELDS = {
  customer_no: 'Kundennummer',
  name: 'Name',
  city: 'Ort',
  postcode: 'PLZ',
  vat_id: 'USt-IdNr.',
  email: 'E-Mail',
  phone: 'Telefon',
  invoice_number: 'Rechnung',
  order_number: 'Auftrag',
  credit_note_number: 'Gutschrift',
  delivery_number: 'Lieferschein',
};
export const MATCH_HOW = {
  exact: 'genau',
  prefix: 'Anfang',
  phonetic: 'klingt ähnlich',
  typo: 'Tippfehler',
  main_number: 'Zentrale',
  extension_of_main: 'Durchwahl',
};

export const RULES = {
  anchor: 'Ausgangskunde',
  xref: 'Querverweis der Kundennummern',
  vat_id: 'USt-IdNr.',
  gln: 'GLN',
  email: 'E-Mail',
  phone: 'Telefon',
  manual: 'manuell zusammengeführt',
};

export const ENTITIES = {
  customer: ['Stammsatz', 'Stammsätze'],
  invoice: ['Rechnung', 'Rechnungen'],
  credit_note: ['Gutschrift', 'Gutschriften'],
  order: ['Auftrag', 'Aufträge'],
  quote: ['Angebot', 'Angebote'],
  order_line: ['Auftragsposition', 'Auftragspositionen'],
  order_confirmation: ['Auftragsbestätigung', 'Auftragsbestätigungen'],
  delivery: ['Lieferung', 'Lieferungen'],
  contact_person: ['Ansprechpartner', 'Ansprechpartner'],
  activity: ['Kontakt', 'Kontakte'],
  stock: ['Lagerbestand', 'Lagerbestände'],
};

export const INVOICE_STATUS = {
  open: 'offen',
  partially_paid: 'teilweise bezahlt',
  paid: 'bezahlt',
  cancelled: 'storniert',
  closed: 'erledigt',
};
export const ORDER_STATUS = {
  open: 'offen',
  confirmed: 'bestätigt',
  partially_delivered: 'teilweise geliefert',
  delivered: 'geliefert',
  closed: 'abgeschlossen',
  cancelled: 'storniert',
};
export const QUOTE_STATUS = {
  requested: 'angefragt',
  open: 'offen',
  accepted: 'angenommen',
  rejected: 'abgelehnt',
  expired: 'abgelaufen',
};
export const COMPLAINT_STATUS = {
  new: 'neu',
  in_progress: 'in Bearbeitung',
  waiting: 'wartet',
  resolved: 'gelöst',
  closed: 'abgeschlossen',
};
export const CATEGORIES = [
  ['lieferung', 'Lieferung'],
  ['qualitaet', 'Qualität'],
  ['rechnung', 'Rechnung'],
  ['sonstiges', 'Sonstiges'],
];
export const CATEGORY_LABELS = Object.fromEntries(CATEGORIES);

export const KINDS = [
  ['call', 'Anruf'],
  ['email', 'E-Mail'],
  ['visit', 'Besuch'],
  ['note', 'Notiz'],
  ['invoice', 'Rechnung'],
  ['credit_note', 'Gutschrift'],
  ['order', 'Auftrag'],
  ['delivery', 'Lieferung'],
  ['complaint', 'Reklamation'],
  ['quote', 'Angebot'],
];
export const KIND_LABELS = Object.fromEntries(KINDS);
export const ACTIVITY_KINDS = KINDS.slice(0, 4);

export const PHONE_MATCH = {
  exact: 'genau diese Nummer',
  main_number: 'Zentrale (Durchwahl gewählt)',
  extension_of_main: 'Durchwahl dieser Nummer',
};
export const PHONE_VIA = { customer: 'Firma', contact_person: 'Ansprechpartner', fax: 'Fax' };

const ERROR_LABELS = {
  bad_request: 'Ungültige Eingabe',
  not_found: 'Nicht gefunden',
  forbidden: 'Keine Berechtigung für diese Aktion',
  conflict: 'Konflikt',
  rate_limited: 'Zu viele Anfragen – bitte einen Moment warten',
  store_unavailable: 'Datenbank nicht erreichbar – bitte später erneut versuchen',
  method_not_allowed: 'Nicht erlaubt',
  unauthorized: 'Nicht angemeldet',
  csrf: 'Sicherheitsprüfung fehlgeschlagen – bitte die Seite neu laden',
  locked: 'Konto gesperrt – bitte später erneut versuchen',
  network: 'Server nicht erreichbar',
};

export const SIMILAR_WHY = [
  [/^same item (.+)$/, 'gleicher Artikel $1'],
  [/^same order (.+)$/, 'gleicher Auftrag $1'],
  [/^same invoice (.+)$/, 'gleiche Rechnung $1'],
  [/^similar text$/, 'ähnlicher Text'],
];

// ---------------------------------------------------------------- DOM helpers

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false || c === '') continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Creates an element; attributes are set as text, children become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'testid') el.setAttribute('data-testid', v);
    else if (k === 'value') value = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  if (value !== undefined) el.value = value;
  return el;
}

/** A link inside the page (client-side routing). */
export function link(href, attrs, ...children) {
  return h('a', Object.assign({ href: href, 'data-link': true }, attrs), ...children);
}

export function section(title, testid, ...children) {
  return h('section', { class: 'panel', testid: testid }, h('h2', null, title), ...children);
}

export function empty(text) {
  return h('p', { class: 'muted empty' }, text);
}

// ---------------------------------------------------------------- formatting

const numberFormat = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 3 });
const daysFormat = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 1 });
const moneyFormat = new Intl.NumberFormat('de-DE', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const CURRENCY_SIGNS = { EUR: '€', USD: '$', GBP: '£', CHF: 'CHF' };

function pad(n) {
  return String(n).padStart(2, '0');
}

/** `2026-12-08` (or a timestamp's date) → `08.12.2026`. */
export function fmtDate(iso) {
  if (!iso) return '–';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso));
  return m ? m[3] + '.' + m[2] + '.' + m[1] : String(iso);
}

const WEEKDAYS = ['So', 'Mo', 'Di', 'Mi', 'Do', 'Fr', 'Sa'];

/** `2026-12-10` → `Do, 10.12.2026` (the weekday helps catch a day/month mix-up). */
export function fmtDayDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso || ''));
  if (!m) return fmtDate(iso);
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return WEEKDAYS[d.getUTCDay()] + ', ' + fmtDate(iso);
}

/** A timestamp in local time: `01.12.2026, 14:04`. */
export function fmtDateTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (isNaN(d.getTime())) return String(iso);
  return pad(d.getDate()) + '.' + pad(d.getMonth() + 1) + '.' + d.getFullYear() + ', ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
}

/** Documents are dated at midnight UTC: those show as a day, contacts with their time. */
export function fmtWhen(iso) {
  return /T00:00:00(\.0+)?Z$/.test(String(iso)) ? fmtDate(iso) : fmtDateTime(iso);
}

export function fmtNumber(v) {
  if (v === null || v === undefined || v === '') return '–';
  const n = Number(v);
  return isNaN(n) ? String(v) : numberFormat.format(n);
}

/** A number of days with at most one decimal: `12,5 Tage` (`–` without one). */
export function fmtDays(v) {
  if (v === null || v === undefined) return '–';
  return daysFormat.format(Number(v)) + ' Tage';
}

/** `{amount: "1234.56", currency: "EUR"}` → `1.234,56 €`. */
export function fmtMoney(m) {
  if (!m || m.amount === undefined || m.amount === null) return '–';
  const n = Number(m.amount);
  const amount = isNaN(n) ? String(m.amount) : moneyFormat.format(n);
  return amount + '\u00a0' + (CURRENCY_SIGNS[m.currency] || m.currency || '');
}

/** Amounts and ISO dates in texts the server wrote (timeline details). */
export function prettify(text) {
  return String(text)
    .replace(/(-?\d+(?:\.\d+)?) ([A-Z]{3})\b/g, (_, a, c) => fmtMoney({ amount: a, currency: c }))
    .replace(/\b(\d{4})-(\d{2})-(\d{2})\b/g, '$3.$2.$1')
    .replace(/(?<![\d.,])(\d+)\.(\d{2})(?![\d.])/g, (_, a, b) => moneyFormat.format(Number(a + '.' + b)));
}

export function addDays(isoDate, days) {
  const d = new Date(isoDate + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function localToday() {
  const d = new Date();
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
}

export function plural(n, one, many) {
  return n + ' ' + (n === 1 ? one : many);
}

export function percent(x) {
  return Math.round(Number(x) * 100) + '\u00a0%';
}

export function isPositive(m) {
  return m && Number(m.amount) > 0;
}

export function fmtValue(key, v) {
  if (v === null || v === undefined) return '–';
  if (key === 'payment_terms_days' && typeof v === 'number') return plural(v, 'Tag', 'Tage');
  if (key === 'address' && typeof v === 'object' && !Array.isArray(v)) {
    const place = [v.postcode, v.city].filter(Boolean).join(' ');
    return [v.street, v.street2, place, v.country && v.country !== 'DE' ? v.country : null].filter(Boolean).join(', ') || '–';
  }
  if (Array.isArray(v)) return v.map((x) => fmtValue('', x)).join(', ');
  if (typeof v === 'boolean') return v ? 'ja' : 'nein';
  if (typeof v === 'object') {
    return Object.entries(v).map(([k, x]) => k + ': ' + fmtValue(k, x)).join(', ');
  }
  return String(v);
}

/**
 * What a salesperson reads about stock: "0 Stk verfügbar", "120 am Lager, davon 120
 * reserviert", and the expected receipt — flagged when its date has passed.
 */
export function availabilityParts(a, unit) {
  const u = unit ? ' ' + unit.trim() : '';
  const onHand = Number(a.on_hand);
  const reserved = onHand - Number(a.available);
  const explain =
    !isNaN(reserved) && reserved > 0
      ? fmtNumber(a.on_hand) + u + ' am Lager, davon ' + fmtNumber(reserved) + u + ' reserviert'
      : fmtNumber(a.on_hand) + u + ' am Lager';
  const late = a.next_receipt_date && a.next_receipt_date < localToday();
  return [
    fmtNumber(a.available) + u + ' verfügbar',
    h('small', { class: 'block', testid: 'availability-explained' }, explain),
    a.next_receipt_date
      ? h(
          'small',
          { class: 'block' + (late ? ' warn-text' : ''), testid: 'next-receipt' },
          late ? 'Zugang war für ' + fmtDate(a.next_receipt_date) + ' erwartet – überfällig, bitte beim Einkauf nachfragen' : 'Zugang erwartet ' + fmtDate(a.next_receipt_date),
        )
      : null,
  ];
}

/** A phone number as a `tel:` link, shown as people write it (`0221 4711230`). */
export function phoneLink(e164, display, testid) {
  const shown = (display && display[e164]) || e164;
  return h('a', { href: 'tel:' + String(e164).replace(/[^+0-9]/g, ''), class: 'phone', testid: testid || 'phone-link' }, shown);
}

/** An e-mail address as a `mailto:` link. */
export function mailLink(address) {
  return h('a', { href: 'mailto:' + address, testid: 'mail-link' }, address);
}

export function splitNumber(n) {
  const i = String(n).indexOf(':');
  return i < 0 ? [null, String(n)] : [n.slice(0, i), n.slice(i + 1)];
}

/** The party's role when it is (also) our supplier: callers and hits are customers or suppliers. */
export function roleBadge(roles) {
  if (!(roles || []).includes('supplier')) return null;
  const text = roles.includes('customer') ? 'Kunde und Lieferant' : 'Lieferant';
  return h('span', { class: 'badge badge-role', testid: 'role-badge' }, text);
}

export function numberChip(system, no) {
  return h('span', { class: 'chip' }, no, system ? h('small', { class: 'prov-only' }, ' ' + system) : null);
}

// ---------------------------------------------------------------- messages

export function describe(e) {
  if (!e) return 'Unbekannter Fehler';
  const label = ERROR_LABELS[e.code];
  if (e.code === 'network') return label + ' – bitte Verbindung prüfen.';
  if (label && e.message) return label + ': ' + e.message;
  if (label) return label;
  return 'Fehler' + (e.status ? ' ' + e.status : '') + (e.message ? ': ' + e.message : '');
}

export function showError(e) {
  if (e && e.status === 401) return; // the login shows instead
  if (e && !(e instanceof ApiError)) console.error(e);
  banner.dataset.code = (e && e.code) || '';
  banner.replaceChildren(
    h('span', { testid: 'error-text' }, describe(e)),
    h('button', { type: 'button', class: 'btn btn-quiet', 'aria-label': 'Meldung schließen', onclick: hideBanner }, 'Schließen'),
  );
  banner.hidden = false;
}

export function hideBanner() {
  banner.hidden = true;
  banner.replaceChildren();
}

export function inlineError(el, e) {
  if (e && e.status === 401) return;
  el.className = 'form-message error';
  el.textContent = describe(e);
}

export function inlineOk(el, text) {
  el.className = 'form-message ok';
  el.textContent = text;
}

// ---------------------------------------------------------------- API

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// The session: who is signed in and the CSRF token of state-changing requests. Never in
// localStorage or sessionStorage: the session id is an HttpOnly cookie, the CSRF token lives
// as long as the page (GET /api/v1/session gives it again after a reload).
let session = null;

export function currentSession() {
  return session;
}

// ---------------------------------------------------------------- drafts and undo

// What someone typed into a form survives a sign-out, an expired session and a network
// error: kept in this browser per user and form (never the session), for at most a week,
// removed when the form is saved.
const DRAFT_PREFIX = 'kontor-draft:';
const DRAFT_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/**
 * Keeps the values of `controls` (`{name: element}`) as a draft under `key`; restores a
 * draft when there is one. A draft exists while any of the `typed` controls holds text.
 * Returns `{ restored, clear }`.
 */
export function keepDraft(key, controls, typed) {
  const storageKey = () => DRAFT_PREFIX + ((session && session.user) || '') + ':' + key;
  let restored = false;
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey()) || 'null');
    if (saved && Date.now() - saved.at < DRAFT_MAX_AGE_MS) {
      for (const [n, el] of Object.entries(controls)) if (typeof saved.values[n] === 'string') el.value = saved.values[n];
      restored = true;
    } else if (saved) localStorage.removeItem(storageKey());
  } catch (_) {
    /* storage unavailable or a broken entry: no draft */
  }
  const save = () => {
    try {
      if (!typed.some((n) => controls[n].value.trim())) {
        localStorage.removeItem(storageKey());
        return;
      }
      const values = {};
      for (const [n, el] of Object.entries(controls)) values[n] = el.value;
      localStorage.setItem(storageKey(), JSON.stringify({ at: Date.now(), values: values }));
    } catch (_) {
      /* storage full or unavailable: the form still works */
    }
  };
  for (const el of Object.values(controls)) {
    el.addEventListener('input', save);
    el.addEventListener('change', save);
  }
  return {
    restored: restored,
    clear: () => {
      try {
        localStorage.removeItem(storageKey());
      } catch (_) {
        /* nothing to clear */
      }
    },
  };
}

const UNDO_MS = 10_000;
let undoTimer = null;

/** "Erledigt. [Rückgängig]" for ten seconds; `undo` runs when the button is pressed. */
export function offerUndo(text, undo) {
  let box = document.getElementById('undo');
  if (!box) {
    box = h('div', { id: 'undo', class: 'undo', role: 'status', testid: 'undo' });
    document.body.append(box);
  }
  clearTimeout(undoTimer);
  const button = h('button', { type: 'button', class: 'btn', testid: 'undo-button' }, 'Rückgängig');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await undo();
      box.hidden = true;
    } catch (e) {
      box.replaceChildren(h('span', null, describe(e)));
    }
  });
  // Without a way back (the workflow does not allow it) the toast only confirms.
  box.replaceChildren(...[h('span', { testid: 'undo-text' }, text), undo ? button : null].filter(Boolean));
  box.hidden = false;
  undoTimer = setTimeout(() => (box.hidden = true), UNDO_MS);
}

async function send(method, path, body) {
  const init = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (method !== 'GET' && method !== 'HEAD' && session) init.headers['X-CSRF-Token'] = session.csrf_token;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (_) {
    throw new ApiError(0, 'network', 'Server nicht erreichbar');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (_) {
      data = null;
    }
  }
  return { res, data };
}

function failure(res, data) {
  const err = (data && data.error) || {};
  return new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText);
}

/** Whether a session is open (after a reload: the cookie is still there). */
export async function loadSession() {
  const { res, data } = await send('GET', '/api/v1/session');
  session = res.ok && data && data.csrf_token ? data : null;
  return session;
}

/** Signs in; errors become ApiError (401 wrong name or password, 429 `locked`). */
export async function signIn(user, password) {
  const { res, data } = await send('POST', '/api/v1/session', { user: user, password: password });
  if (!res.ok) throw failure(res, data);
  session = data;
  return session;
}

/** Signs out (the server ends the session and clears the cookie). */
export async function signOut() {
  try {
    if (session) await send('DELETE', '/api/v1/session');
  } finally {
    session = null;
  }
}

/** A request to the API with the session; errors become ApiError, a 401 shows the login. */
export async function api(method, path, body) {
  if (!session) {
    showLogin();
    throw new ApiError(401, 'unauthorized', 'nicht angemeldet');
  }
  const { res, data } = await send(method, path, body);
  if (res.status === 401) {
    session = null;
    showLogin('Die Sitzung ist abgelaufen – bitte neu anmelden.');
    throw new ApiError(401, 'unauthorized', 'Sitzung abgelaufen');
  }
  if (!res.ok) throw failure(res, data);
  // The server answers again: a "not reachable" banner is out of date.
  if (!banner.hidden && banner.dataset.code === 'network') hideBanner();
  return data;
}
