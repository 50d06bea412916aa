// kontor – the web page for sales and service: one search box, the customer card, the
// screen-pop of an incoming call. Plain JavaScript without a build step; it talks to the JSON
// API (/api/v1) with the user's token. Every text from the server goes into text nodes or
// attributes (never innerHTML).
(function () {
  'use strict';

  const TOKEN_KEY = 'kontor.token';
  const SEARCH_DEBOUNCE_MS = 250;
  const TIMELINE_PAGE = 10;

  const app = document.getElementById('app');
  const banner = document.getElementById('banner');
  const logoutButton = document.getElementById('logout');
  const nav = document.getElementById('nav');

  // ---------------------------------------------------------------- labels (German)

  const FIELD_LABELS = {
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
  const FIELD_ORDER = Object.keys(FIELD_LABELS);

  const MATCH_FIELDS = {
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
  const MATCH_HOW = { exact: 'genau', prefix: 'Anfang', phonetic: 'klingt ähnlich', typo: 'Tippfehler' };

  const RULES = {
    anchor: 'Ausgangskunde',
    xref: 'Querverweis der Kundennummern',
    vat_id: 'USt-IdNr.',
    gln: 'GLN',
    email: 'E-Mail',
    phone: 'Telefon',
    manual: 'manuell zusammengeführt',
  };

  const ENTITIES = {
    customer: ['Stammsatz', 'Stammsätze'],
    invoice: ['Rechnung', 'Rechnungen'],
    credit_note: ['Gutschrift', 'Gutschriften'],
    order: ['Auftrag', 'Aufträge'],
    order_line: ['Auftragsposition', 'Auftragspositionen'],
    order_confirmation: ['Auftragsbestätigung', 'Auftragsbestätigungen'],
    delivery: ['Lieferung', 'Lieferungen'],
    contact_person: ['Ansprechpartner', 'Ansprechpartner'],
    activity: ['Kontakt', 'Kontakte'],
    stock: ['Lagerbestand', 'Lagerbestände'],
  };

  const INVOICE_STATUS = {
    open: 'offen',
    partially_paid: 'teilweise bezahlt',
    paid: 'bezahlt',
    cancelled: 'storniert',
    closed: 'erledigt',
  };
  const ORDER_STATUS = {
    open: 'offen',
    confirmed: 'bestätigt',
    partially_delivered: 'teilweise geliefert',
    delivered: 'geliefert',
    closed: 'abgeschlossen',
    cancelled: 'storniert',
  };
  const COMPLAINT_STATUS = {
    new: 'neu',
    in_progress: 'in Bearbeitung',
    waiting: 'wartet',
    resolved: 'gelöst',
    closed: 'abgeschlossen',
  };
  const CATEGORIES = [
    ['lieferung', 'Lieferung'],
    ['qualitaet', 'Qualität'],
    ['rechnung', 'Rechnung'],
    ['sonstiges', 'Sonstiges'],
  ];
  const CATEGORY_LABELS = Object.fromEntries(CATEGORIES);

  const KINDS = [
    ['call', 'Anruf'],
    ['email', 'E-Mail'],
    ['visit', 'Besuch'],
    ['note', 'Notiz'],
    ['invoice', 'Rechnung'],
    ['credit_note', 'Gutschrift'],
    ['order', 'Auftrag'],
    ['delivery', 'Lieferung'],
    ['complaint', 'Reklamation'],
  ];
  const KIND_LABELS = Object.fromEntries(KINDS);
  const ACTIVITY_KINDS = KINDS.slice(0, 4);

  const PHONE_MATCH = {
    exact: 'genau diese Nummer',
    main_number: 'Zentrale (Durchwahl gewählt)',
    extension_of_main: 'Durchwahl dieser Nummer',
  };
  const PHONE_VIA = { customer: 'Firma', contact_person: 'Ansprechpartner', fax: 'Fax' };

  const ERROR_LABELS = {
    bad_request: 'Ungültige Eingabe',
    not_found: 'Nicht gefunden',
    forbidden: 'Keine Berechtigung für diese Aktion',
    conflict: 'Konflikt',
    rate_limited: 'Zu viele Anfragen – bitte einen Moment warten',
    store_unavailable: 'Datenbank nicht erreichbar – bitte später erneut versuchen',
    method_not_allowed: 'Nicht erlaubt',
    unauthorized: 'Nicht angemeldet',
    network: 'Server nicht erreichbar',
  };

  const SIMILAR_WHY = [
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
  function h(tag, attrs, ...children) {
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
  function link(href, attrs, ...children) {
    return h('a', Object.assign({ href: href, 'data-link': true }, attrs), ...children);
  }

  function section(title, testid, ...children) {
    return h('section', { class: 'panel', testid: testid }, h('h2', null, title), ...children);
  }

  function empty(text) {
    return h('p', { class: 'muted empty' }, text);
  }

  // ---------------------------------------------------------------- formatting

  const numberFormat = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 3 });
  const moneyFormat = new Intl.NumberFormat('de-DE', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const CURRENCY_SIGNS = { EUR: '€', USD: '$', GBP: '£', CHF: 'CHF' };

  function pad(n) {
    return String(n).padStart(2, '0');
  }

  /** `2026-12-08` (or a timestamp's date) → `08.12.2026`. */
  function fmtDate(iso) {
    if (!iso) return '–';
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso));
    return m ? m[3] + '.' + m[2] + '.' + m[1] : String(iso);
  }

  /** A timestamp in local time: `01.12.2026, 14:04`. */
  function fmtDateTime(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return pad(d.getDate()) + '.' + pad(d.getMonth() + 1) + '.' + d.getFullYear() + ', ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }

  /** Documents are dated at midnight UTC: those show as a day, contacts with their time. */
  function fmtWhen(iso) {
    return /T00:00:00(\.0+)?Z$/.test(String(iso)) ? fmtDate(iso) : fmtDateTime(iso);
  }

  function fmtNumber(v) {
    if (v === null || v === undefined || v === '') return '–';
    const n = Number(v);
    return isNaN(n) ? String(v) : numberFormat.format(n);
  }

  /** `{amount: "1234.56", currency: "EUR"}` → `1.234,56 €`. */
  function fmtMoney(m) {
    if (!m || m.amount === undefined || m.amount === null) return '–';
    const n = Number(m.amount);
    const amount = isNaN(n) ? String(m.amount) : moneyFormat.format(n);
    return amount + '\u00a0' + (CURRENCY_SIGNS[m.currency] || m.currency || '');
  }

  /** Amounts and ISO dates in texts the server wrote (timeline details). */
  function prettify(text) {
    return String(text)
      .replace(/(-?\d+(?:\.\d+)?) ([A-Z]{3})\b/g, (_, a, c) => fmtMoney({ amount: a, currency: c }))
      .replace(/\b(\d{4})-(\d{2})-(\d{2})\b/g, '$3.$2.$1')
      .replace(/(?<![\d.,])(\d+)\.(\d{2})(?![\d.])/g, (_, a, b) => moneyFormat.format(Number(a + '.' + b)));
  }

  function addDays(isoDate, days) {
    const d = new Date(isoDate + 'T00:00:00Z');
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  function localToday() {
    const d = new Date();
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
  }

  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
  }

  function percent(x) {
    return Math.round(Number(x) * 100) + '\u00a0%';
  }

  function isPositive(m) {
    return m && Number(m.amount) > 0;
  }

  function fmtValue(key, v) {
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

  function where(source) {
    if (!source) return '';
    return source.connector + ' (' + (source.position || source.external_id) + ')';
  }

  /** The tooltip of a value: where it comes from, as of when, what other sources say. */
  function provenance(source, syncedAt, others, key) {
    let t = 'Quelle: ' + where(source);
    if (syncedAt) t += ', Stand ' + fmtDateTime(syncedAt);
    if (others && others.length) {
      t += '\nAndere Werte: ' + others.map((o) => fmtValue(key, o.value) + ' (' + o.source.connector + ', Stand ' + fmtDateTime(o.synced_at) + ')').join('; ');
    }
    return t;
  }

  function docSource(doc) {
    let t = 'Quelle: ' + where(doc.source);
    if (doc.also_in && doc.also_in.length) t += '\nAuch in: ' + doc.also_in.map(where).join('; ');
    return t;
  }

  function splitNumber(n) {
    const i = String(n).indexOf(':');
    return i < 0 ? [null, String(n)] : [n.slice(0, i), n.slice(i + 1)];
  }

  function numberChip(system, no) {
    return h('span', { class: 'chip', title: system ? 'Kundennummer im System ' + system : null }, no, system ? h('small', null, ' ' + system) : null);
  }

  // ---------------------------------------------------------------- messages

  function describe(e) {
    if (!e) return 'Unbekannter Fehler';
    const label = ERROR_LABELS[e.code];
    if (e.code === 'network') return label + ' – bitte Verbindung prüfen.';
    if (label && e.message) return label + ': ' + e.message;
    if (label) return label;
    return 'Fehler' + (e.status ? ' ' + e.status : '') + (e.message ? ': ' + e.message : '');
  }

  function showError(e) {
    if (e && e.status === 401) return; // the login shows instead
    if (e && !(e instanceof ApiError)) console.error(e);
    banner.replaceChildren(
      h('span', { testid: 'error-text' }, describe(e)),
      h('button', { type: 'button', class: 'btn btn-quiet', 'aria-label': 'Meldung schließen', onclick: hideBanner }, 'Schließen'),
    );
    banner.hidden = false;
  }

  function hideBanner() {
    banner.hidden = true;
    banner.replaceChildren();
  }

  function inlineError(el, e) {
    if (e && e.status === 401) return;
    el.className = 'form-message error';
    el.textContent = describe(e);
  }

  function inlineOk(el, text) {
    el.className = 'form-message ok';
    el.textContent = text;
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function getToken() {
    try {
      return localStorage.getItem(TOKEN_KEY) || '';
    } catch (_) {
      return '';
    }
  }

  function setToken(t) {
    try {
      if (t) localStorage.setItem(TOKEN_KEY, t);
      else localStorage.removeItem(TOKEN_KEY);
    } catch (_) {
      /* private mode: the token lives only as long as the page */
    }
  }

  /** A request to the API with the token; errors become ApiError, a 401 shows the login. */
  async function api(method, path, body) {
    const token = getToken();
    if (!token) {
      showLogin();
      throw new ApiError(401, 'unauthorized', 'nicht angemeldet');
    }
    const init = { method: method, headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' } };
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
    if (res.status === 401) {
      setToken('');
      showLogin('Die Anmeldung ist abgelaufen oder das Token ist ungültig – bitte neu anmelden.');
      throw new ApiError(401, 'unauthorized', 'Token ungültig');
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText);
    }
    return data;
  }

  // ---------------------------------------------------------------- routing

  let viewGeneration = 0;

  function navigate(url, replace) {
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    route();
  }

  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[data-link]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(a.getAttribute('href'));
  });
  window.addEventListener('popstate', route);

  logoutButton.addEventListener('click', () => {
    setToken('');
    showLogin('Sie sind abgemeldet.');
  });

  function markNav(path) {
    for (const a of document.querySelectorAll('.topnav a')) {
      const href = a.getAttribute('href');
      const active = href === '/' ? path === '/' || path.startsWith('/kunde/') : path.startsWith(href);
      if (active) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }

  function route() {
    hideBanner();
    if (!getToken()) {
      showLogin();
      return;
    }
    logoutButton.hidden = false;
    if (nav) nav.hidden = false;
    const gen = ++viewGeneration;
    const path = location.pathname;
    markNav(path);
    window.scrollTo(0, 0);
    let m;
    if (path === '/' || path === '/index.html') searchView(gen);
    else if ((m = /^\/kunde\/(\d+)\/?$/.exec(path))) cardView(gen, Number(m[1]));
    else if (/^\/anruf\/?$/.test(path)) callView(gen);
    else {
      document.title = 'Nicht gefunden – kontor';
      app.replaceChildren(section('Seite nicht gefunden', 'not-found', h('p', null, link('/', null, 'Zur Suche'))));
    }
  }

  function alive(gen) {
    return gen === viewGeneration;
  }

  // ---------------------------------------------------------------- login

  function showLogin(message) {
    viewGeneration++;
    logoutButton.hidden = true;
    if (nav) nav.hidden = true;
    hideBanner();
    document.title = 'Anmelden – kontor';
    const input = h('input', {
      id: 'login-token',
      name: 'token',
      type: 'password',
      autocomplete: 'off',
      spellcheck: 'false',
      required: true,
      placeholder: 'kontor_…',
      testid: 'login-token',
    });
    const form = h(
      'form',
      {
        class: 'panel login',
        testid: 'login-form',
        onsubmit: (e) => {
          e.preventDefault();
          const t = input.value.trim();
          if (!t) return;
          setToken(t);
          route();
        },
      },
      h('h1', null, 'Anmelden'),
      h('p', { class: 'muted' }, 'Bitte das API-Token eingeben (Rolle Vertrieb oder Service; für die Anrufanzeige genügt CTI).'),
      message ? h('p', { class: 'notice', testid: 'login-message', role: 'status' }, message) : null,
      h('label', { for: 'login-token' }, 'API-Token'),
      input,
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'login-submit' }, 'Anmelden'),
    );
    app.replaceChildren(form);
    input.focus();
  }

  // ---------------------------------------------------------------- search

  function searchView(gen) {
    document.title = 'Kunde suchen – kontor';
    const initial = new URLSearchParams(location.search).get('q') || '';
    const input = h('input', {
      type: 'search',
      id: 'q',
      testid: 'search-input',
      placeholder: 'Kunde suchen: Name, Kundennummer, Ort, Telefon, Rechnung …',
      'aria-label': 'Kunde suchen',
      autocomplete: 'off',
      spellcheck: 'false',
      enterkeyhint: 'search',
      value: initial,
    });
    const status = h('p', { class: 'muted search-status', testid: 'search-status', role: 'status' });
    const list = h('ul', { class: 'hits', testid: 'search-results' });
    const more = h('button', { type: 'button', class: 'btn', testid: 'search-more', hidden: true }, 'Weitere Treffer');
    app.replaceChildren(h('section', { class: 'search' }, h('h1', { class: 'sr-only' }, 'Kunde suchen'), input, status, list, more));

    let timer = null;
    let seq = 0;
    let cursor = null;
    let query = '';

    function hint() {
      status.textContent = 'Suche nach Name (auch mit Tippfehlern), Kundennummer, Ort, PLZ, USt-IdNr., E-Mail, Telefon, Rechnungs- oder Auftragsnummer.';
    }

    async function run(q, more_) {
      const mine = ++seq;
      if (!q) {
        list.replaceChildren();
        more.hidden = true;
        hint();
        return;
      }
      query = q;
      status.textContent = 'Suche …';
      let url = '/api/v1/customers?q=' + encodeURIComponent(q) + '&limit=20';
      if (more_ && cursor) url += '&cursor=' + encodeURIComponent(cursor);
      try {
        const page = await api('GET', url);
        if (mine !== seq || !alive(gen)) return;
        if (!more_) list.replaceChildren();
        for (const hit of page.hits) list.append(hitItem(hit));
        cursor = page.next_cursor || null;
        more.hidden = !cursor;
        status.textContent = page.total === 0 ? 'Keine Treffer für „' + q + '“.' : plural(page.total, 'Treffer', 'Treffer');
      } catch (e) {
        if (mine !== seq || !alive(gen)) return;
        status.textContent = '';
        showError(e);
      }
    }

    function schedule(delay) {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (!alive(gen)) return;
        const q = input.value.trim();
        history.replaceState(null, '', q ? '/?q=' + encodeURIComponent(q) : '/');
        run(q, false);
      }, delay);
    }

    input.addEventListener('input', () => schedule(SEARCH_DEBOUNCE_MS));
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        schedule(0);
      } else if (e.key === 'ArrowDown') {
        const first = list.querySelector('a');
        if (first) {
          e.preventDefault();
          first.focus();
        }
      }
    });
    list.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
      const links = Array.from(list.querySelectorAll('a'));
      const i = links.indexOf(document.activeElement);
      if (i < 0) return;
      e.preventDefault();
      if (e.key === 'ArrowDown' && i + 1 < links.length) links[i + 1].focus();
      else if (e.key === 'ArrowUp') (i === 0 ? input : links[i - 1]).focus();
    });
    more.addEventListener('click', () => run(query, true));

    input.focus();
    if (initial.trim()) run(initial.trim(), false);
    else hint();
  }

  function hitItem(hit) {
    const place = [hit.postcode, hit.city].filter(Boolean).join(' ');
    const matches = (hit.matched_on || []).map(
      (m) => (MATCH_FIELDS[m.field] || m.field) + ' „' + m.value + '“' + (m.how && m.how !== 'exact' ? ' (' + (MATCH_HOW[m.how] || m.how) + ')' : ''),
    );
    return h(
      'li',
      null,
      link(
        '/kunde/' + encodeURIComponent(hit.id),
        { class: 'hit', testid: 'search-hit', 'data-id': hit.id },
        h('span', { class: 'hit-name', testid: 'hit-name' }, hit.name || 'Kunde ' + hit.id),
        place ? h('span', { class: 'hit-place' }, place) : null,
        h('span', { class: 'hit-numbers' }, (hit.customer_numbers || []).map((n) => numberChip(...splitNumber(n)))),
        matches.length ? h('span', { class: 'hit-match', testid: 'hit-match' }, 'Gefunden über ' + matches.join(' · ')) : null,
      ),
    );
  }

  // ---------------------------------------------------------------- customer card

  async function cardView(gen, id) {
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
    el.timeline = section('Verlauf', 'timeline');
    el.reminders = section('Wiedervorlagen', 'reminders');
    el.complaints = section('Reklamationen', 'complaints');
    el.master = section('Stammdaten', 'master-data');
    el.sources = section('Quellen', 'sources');
    el.actions = actionsPanel(card);
    for (const [k, cls] of [
      ['openItems', 'area-items'],
      ['credits', 'area-credits'],
      ['orders', 'area-orders'],
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
          h('div', { class: 'col col-main' }, el.openItems, el.orders, el.credits, el.timeline),
          h('div', { class: 'col col-side' }, el.reminders, el.complaints, el.actions, el.master, el.sources),
        ),
      ),
    );
    renderCard(card);
    loadTimeline(card, true);
  }

  function renderCard(card) {
    const v = card.view;
    document.title = (v.name || 'Kunde ' + v.id) + ' – kontor';
    renderHead(card);
    renderOpenItems(card);
    renderCredits(card);
    renderOrders(card);
    renderReminders(card);
    renderComplaints(card);
    renderMaster(card);
    renderSources(card);
    fillDatalists(card);
  }

  async function reloadCard(card) {
    try {
      const v = await api('GET', '/api/v1/customers/' + card.id);
      if (!alive(card.gen)) return;
      card.view = v;
      renderCard(card);
      loadTimeline(card, true);
    } catch (e) {
      if (alive(card.gen)) showError(e);
    }
  }

  function replaceBody(sectionEl, ...children) {
    // Keep the heading, replace the rest.
    const heading = sectionEl.querySelector('h2');
    sectionEl.replaceChildren(heading, ...children.flat(Infinity).filter(Boolean));
  }

  function customerNumbers(v) {
    const seen = new Set();
    const out = [];
    for (const s of v.sources || []) {
      const k = s.system + ':' + s.external_id;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push([s.system, s.external_id]);
    }
    return out;
  }

  function kpi(label, value, testid, cls, sub) {
    return h('div', { class: 'kpi ' + (cls || ''), testid: testid }, h('span', { class: 'kpi-label' }, label), h('span', { class: 'kpi-value' }, value), sub ? h('span', { class: 'kpi-sub' }, sub) : null);
  }

  function renderHead(card) {
    const v = card.view;
    const f = v.fields || {};
    const address = f.address ? fmtValue('address', f.address.value) : null;
    const phones = f.phones ? fmtValue('phones', f.phones.value) : null;
    const email = f.email ? String(f.email.value) : null;
    const openComplaints = (v.tickets || []).filter((t) => t.status !== 'resolved' && t.status !== 'closed');
    const dueReminders = (v.reminders || []).filter((r) => r.due_date <= v.as_of && !(r.snoozed_until && r.snoozed_until > v.as_of));
    const oi = v.open_items;
    card.el.head.replaceChildren(
      h(
        'div',
        { class: 'who' },
        h('h1', { testid: 'customer-name' }, v.name || 'Kunde ' + v.id),
        v.requested_id ? h('p', { class: 'notice' }, 'Kunde ' + v.requested_id + ' wurde mit diesem Kunden zusammengeführt.') : null,
        h('p', { class: 'numbers', testid: 'customer-numbers' }, customerNumbers(v).map(([s, n]) => numberChip(s, n))),
        h(
          'p',
          { class: 'contact-line' },
          address ? h('span', null, address) : null,
          phones ? h('span', null, phones) : null,
          email ? h('span', null, email) : null,
        ),
      ),
      h(
        'div',
        { class: 'kpis' },
        kpi('Offene Posten', fmtMoney(oi.total), 'kpi-open', null, plural(oi.count, 'Rechnung', 'Rechnungen')),
        kpi('davon überfällig', fmtMoney(oi.overdue), 'kpi-overdue', isPositive(oi.overdue) ? 'danger' : null, plural(oi.overdue_count, 'Rechnung', 'Rechnungen')),
        kpi('Offene Aufträge', String((v.open_orders || []).length), 'kpi-orders'),
        kpi('Reklamationen', String(openComplaints.length), 'kpi-complaints', openComplaints.some((t) => t.overdue) ? 'danger' : null, 'offen'),
        kpi('Wiedervorlagen', String(dueReminders.length), 'kpi-reminders', dueReminders.length ? 'warn' : null, 'fällig'),
      ),
    );
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
        h('td', { title: docSource(inv) }, h('span', { class: 'doc-no' }, inv.number), inv.self_billed ? h('small', { class: 'muted' }, ' Gutschriftsverfahren') : null),
        h('td', { class: 'hide-narrow' }, fmtDate(inv.issue_date)),
        h(
          'td',
          null,
          h('span', { testid: 'invoice-due' }, fmtDate(inv.due_date)),
          inv.overdue ? h('span', { class: 'badge badge-danger', testid: 'invoice-overdue' }, inv.days_overdue === 1 ? '1 Tag überfällig' : inv.days_overdue + ' Tage überfällig') : null,
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
        [['Gutschrift'], ['Datum'], ['Betrag', 'num'], ['zu Rechnung']],
        notes.map((n) =>
          h(
            'tr',
            { testid: 'credit-note-row', 'data-number': n.number },
            h('td', { title: docSource(n) }, h('span', { class: 'doc-no' }, n.number)),
            h('td', null, fmtDate(n.issue_date)),
            h('td', { class: 'num' }, n.gross ? fmtMoney(n.gross) : '–'),
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
    const tip = (a.warehouses || []).map((w) => 'Lager ' + w.warehouse + ': ' + fmtNumber(w.on_hand) + ' Bestand, ' + fmtNumber(w.available) + ' verfügbar' + (w.next_receipt_date ? ', Zugang ' + fmtDate(w.next_receipt_date) : '') + ' – Quelle: ' + where(w.source)).join('\n');
    return h(
      'span',
      { class: 'avail ' + (need > 0 ? (enough ? 'ok' : 'short') : ''), title: tip || null, testid: 'line-availability' },
      fmtNumber(a.available) + ' ' + unit + ' verfügbar',
      h('small', null, ' (Bestand ' + fmtNumber(a.on_hand) + ')'),
      a.next_receipt_date ? h('small', { class: 'block' }, 'Zugang erwartet ' + fmtDate(a.next_receipt_date)) : null,
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
              title: obj.promised_date_source ? 'Neuer Termin laut Auftragsbestätigung – Quelle: ' + where(obj.promised_date_source) : 'Termin verschoben',
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
            h('span', { class: 'doc-no', title: docSource(o) + (o.confirmations && o.confirmations.length ? '\nBestätigt durch: ' + o.confirmations.map(where).join('; ') : '') }, 'Auftrag ' + o.number),
            h('span', { class: 'badge' }, ORDER_STATUS[o.status] || o.status),
            meta.length ? h('span', { class: 'muted' }, meta.join(' · ')) : null,
            o.next_delivery_date ? h('span', { class: 'next', testid: 'order-next' }, 'nächste Lieferung ' + fmtDate(o.next_delivery_date)) : null,
            o.promised_date_before ? h('span', { class: 'badge badge-warn', testid: 'moved' }, 'Termin verschoben vom ' + fmtDate(o.promised_date_before) + ' auf ' + fmtDate(o.promised_date)) : null,
          ),
          lines.length ? table([['Pos.', 'hide-narrow'], ['Artikel'], ['Menge', 'num'], ['Liefertermin'], ['Verfügbarkeit']], lines) : null,
        );
      }),
    );
  }

  function renderReminders(card) {
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

  function complaintItem(t, testid) {
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

  function renderComplaints(card) {
    const list = card.view.tickets || [];
    if (!list.length) {
      replaceBody(card.el.complaints, empty('Keine Reklamationen.'));
      return;
    }
    replaceBody(card.el.complaints, h('ul', { class: 'items-list' }, list.map((t) => complaintItem(t, 'complaint'))));
  }

  function renderMaster(card) {
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
          h('span', { class: 'value' }, fmtValue(k, f.value)),
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
          c.email ? h('a', { href: 'mailto:' + c.email }, c.email) : null,
          (c.phones || []).map((p) => h('a', { href: 'tel:' + p.replace(/[^+0-9]/g, '') }, p)),
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

  function renderSources(card) {
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

  async function loadTimeline(card, fresh) {
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
      for (const item of page.items) tl.list.append(timelineItem(item));
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

  function timelineItem(item) {
    return h(
      'li',
      { class: 'tl-item kind-' + item.kind, testid: 'timeline-item', 'data-kind': item.kind, title: item.source ? 'Quelle: ' + where(item.source) : null },
      h('span', { class: 'tl-when' }, fmtWhen(item.at)),
      h('span', { class: 'badge tl-kind' }, KIND_LABELS[item.kind] || item.kind),
      h(
        'span',
        { class: 'tl-body' },
        h('span', { class: 'tl-title' }, item.title),
        item.detail ? h('span', { class: 'tl-detail muted' }, timelineDetail(item)) : null,
        item.team ? h('span', { class: 'tl-team muted small' }, 'Team ' + item.team) : null,
      ),
    );
  }

  // ---------------------------------------------------------------- forms

  function field(label, control, hint) {
    return h('label', { class: 'form-field' }, h('span', { class: 'form-label' }, label), control, hint ? h('small', { class: 'muted' }, hint) : null);
  }

  function select(testid, options, value) {
    return h('select', { testid: testid, value: value }, options.map(([v, l]) => h('option', { value: v }, l)));
  }

  function actionsPanel(card) {
    const tabs = [
      ['activity', 'Kontakt erfassen', activityForm(card)],
      ['reminder', 'Wiedervorlage anlegen', reminderForm(card)],
      ['complaint', 'Reklamation erfassen', complaintForm(card)],
    ];
    const buttons = tabs.map(([key, label]) =>
      h(
        'button',
        {
          type: 'button',
          role: 'tab',
          class: 'tab',
          id: 'tab-' + key,
          'aria-controls': 'pane-' + key,
          testid: 'tab-' + key,
          onclick: () => show(key),
        },
        label,
      ),
    );
    const panes = tabs.map(([key, , form]) => h('div', { role: 'tabpanel', id: 'pane-' + key, 'aria-labelledby': 'tab-' + key, class: 'pane' }, form));
    function show(key) {
      tabs.forEach(([k], i) => {
        buttons[i].setAttribute('aria-selected', String(k === key));
        panes[i].hidden = k !== key;
      });
    }
    show('activity');
    return h('section', { class: 'panel', testid: 'actions' }, h('h2', null, 'Erfassen'), h('div', { class: 'tabs', role: 'tablist' }, buttons), panes);
  }

  function submitting(form, on) {
    form.querySelectorAll('button, input, select, textarea').forEach((c) => (c.disabled = on));
  }

  function activityForm(card) {
    const kind = select('activity-kind', ACTIVITY_KINDS, 'call');
    const direction = select('activity-direction', [['', '–'], ['in', 'eingehend'], ['out', 'ausgehend']], 'out');
    const subject = h('input', { type: 'text', testid: 'activity-subject', maxlength: '200', placeholder: 'z. B. Rückfrage Liefertermin' });
    const text = h('textarea', { testid: 'activity-text', rows: '3', placeholder: 'Was wurde besprochen?' });
    const msg = h('p', { class: 'form-message', testid: 'activity-message', role: 'status' });
    const form = h(
      'form',
      { class: 'form', testid: 'form-activity' },
      h('div', { class: 'form-row' }, field('Art', kind), field('Richtung', direction)),
      field('Betreff', subject),
      field('Notiz', text),
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'activity-submit' }, 'Kontakt speichern'),
      msg,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!subject.value.trim() && !text.value.trim()) {
        inlineError(msg, new ApiError(400, 'bad_request', 'bitte Betreff oder Notiz angeben'));
        return;
      }
      submitting(form, true);
      try {
        await api('POST', '/api/v1/customers/' + card.id + '/activities', {
          kind: kind.value,
          direction: direction.value || undefined,
          subject: subject.value.trim() || undefined,
          text: text.value.trim() || undefined,
        });
        subject.value = '';
        text.value = '';
        inlineOk(msg, 'Kontakt gespeichert.');
        loadTimeline(card, true);
      } catch (err) {
        inlineError(msg, err);
      } finally {
        submitting(form, false);
      }
    });
    return form;
  }

  function reminderForm(card) {
    const title = h('input', { type: 'text', required: true, maxlength: '200', testid: 'reminder-title-input', placeholder: 'z. B. Zahlung nachfassen' });
    const due = h('input', { type: 'date', required: true, testid: 'reminder-due-input', value: addDays(card.view.as_of || localToday(), 1) });
    const msg = h('p', { class: 'form-message', testid: 'reminder-message', role: 'status' });
    const form = h(
      'form',
      { class: 'form', testid: 'form-reminder' },
      field('Titel', title),
      field('Fällig am', due),
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'reminder-submit' }, 'Wiedervorlage anlegen'),
      msg,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!title.value.trim() || !due.value) {
        inlineError(msg, new ApiError(400, 'bad_request', 'Titel und Datum angeben'));
        return;
      }
      submitting(form, true);
      try {
        const r = await api('POST', '/api/v1/reminders', { customer_id: card.id, title: title.value.trim(), due_date: due.value });
        title.value = '';
        inlineOk(msg, 'Wiedervorlage „' + r.title + '“ für den ' + fmtDate(r.due_date) + ' angelegt.');
        reloadCard(card);
      } catch (err) {
        inlineError(msg, err);
      } finally {
        submitting(form, false);
      }
    });
    return form;
  }

  function fillDatalists(card) {
    const v = card.view;
    const fill = (id, values) => {
      const dl = document.getElementById(id);
      if (dl) dl.replaceChildren(...Array.from(new Set(values.filter(Boolean))).map((x) => h('option', { value: x })));
    };
    fill('dl-invoices', (v.open_items.invoices || []).map((i) => i.number).concat((v.credit_notes || []).map((n) => n.invoice_ref)));
    fill('dl-orders', (v.open_orders || []).map((o) => o.number));
    fill('dl-skus', (v.open_orders || []).flatMap((o) => (o.lines || []).map((l) => l.sku)));
  }

  function similarList(similar, customerId) {
    if (!similar.length) return h('p', { class: 'muted', testid: 'similar-none' }, 'Keine ähnlichen Fälle bekannt.');
    return h(
      'ul',
      { class: 'items-list' },
      similar.map((s) => {
        const t = s.complaint;
        const why = (s.why || []).map((w) => {
          for (const [re, de] of SIMILAR_WHY) if (re.test(w)) return w.replace(re, de);
          return w;
        });
        return h(
          'li',
          { class: 'item similar', testid: 'similar-case', 'data-id': t.id },
          h('div', { class: 'item-title' }, h('span', { testid: 'similar-title' }, t.title), ' ', h('span', { class: 'badge score', testid: 'similar-score' }, percent(s.score) + ' ähnlich')),
          h(
            'div',
            { class: 'item-meta' },
            h('span', { class: 'badge status-' + t.status }, COMPLAINT_STATUS[t.status] || t.status),
            h('span', null, CATEGORY_LABELS[t.category] || t.category),
            h('span', null, 'vom ' + fmtDate(t.created_at)),
            why.length ? h('span', { testid: 'similar-why' }, why.join(', ')) : null,
          ),
          t.resolution
            ? h('div', { class: 'resolution', testid: 'similar-resolution' }, 'Lösung: ' + t.resolution)
            : h('div', { class: 'muted small', testid: 'similar-resolution' }, 'Noch keine Lösung erfasst.'),
          t.customer_id !== customerId ? h('div', { class: 'small' }, link('/kunde/' + t.customer_id, null, 'Fall eines anderen Kunden ansehen')) : null,
        );
      }),
    );
  }

  function complaintForm(card) {
    const category = select('complaint-category', CATEGORIES, 'lieferung');
    const title = h('input', { type: 'text', required: true, maxlength: '200', testid: 'complaint-title-input', placeholder: 'z. B. Ware beschädigt geliefert' });
    const text = h('textarea', { rows: '3', testid: 'complaint-text', placeholder: 'Was ist passiert?' });
    const invoice = h('input', { type: 'text', list: 'dl-invoices', testid: 'complaint-invoice', autocomplete: 'off' });
    const order = h('input', { type: 'text', list: 'dl-orders', testid: 'complaint-order', autocomplete: 'off' });
    const sku = h('input', { type: 'text', list: 'dl-skus', testid: 'complaint-sku', autocomplete: 'off' });
    const msg = h('p', { class: 'form-message', testid: 'complaint-message', role: 'status' });
    const result = h('div', { class: 'similar-box', testid: 'complaint-result' });
    const form = h(
      'form',
      { class: 'form', testid: 'form-complaint' },
      field('Kategorie', category),
      field('Titel', title),
      field('Beschreibung', text),
      h('div', { class: 'form-row form-row-3' }, field('Rechnung', invoice, 'optional'), field('Auftrag', order, 'optional'), field('Artikel', sku, 'optional')),
      h('datalist', { id: 'dl-invoices' }),
      h('datalist', { id: 'dl-orders' }),
      h('datalist', { id: 'dl-skus' }),
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'complaint-submit' }, 'Reklamation erfassen'),
      msg,
      result,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!title.value.trim()) {
        inlineError(msg, new ApiError(400, 'bad_request', 'bitte einen Titel angeben'));
        return;
      }
      submitting(form, true);
      const opt = (el) => el.value.trim() || undefined;
      try {
        const res = await api('POST', '/api/v1/complaints', {
          customer_id: card.id,
          category: category.value,
          title: title.value.trim(),
          text: text.value.trim(),
          invoice_ref: opt(invoice),
          order_ref: opt(order),
          sku: opt(sku),
        });
        const t = res.complaint;
        inlineOk(msg, 'Reklamation „' + t.title + '“ erfasst' + (t.deadline ? ', Frist bis ' + fmtDateTime(t.deadline) : '') + '.');
        result.replaceChildren(h('h3', { testid: 'similar-cases' }, 'Ähnliche Fälle'), similarList(res.similar || [], card.id));
        for (const el of [title, text, invoice, order, sku]) el.value = '';
        reloadCard(card);
      } catch (err) {
        inlineError(msg, err);
      } finally {
        submitting(form, false);
      }
    });
    return form;
  }

  // ---------------------------------------------------------------- incoming call

  async function callView(gen) {
    document.title = 'Anruf – kontor';
    const nummer = (new URLSearchParams(location.search).get('nummer') || '').trim();
    const input = h('input', { type: 'tel', testid: 'call-number-input', value: nummer, placeholder: 'z. B. 0221 4711-0', 'aria-label': 'Rufnummer', autocomplete: 'off' });
    const lookup = h(
      'form',
      {
        class: 'call-lookup',
        onsubmit: (e) => {
          e.preventDefault();
          const n = input.value.trim();
          if (n) navigate('/anruf?nummer=' + encodeURIComponent(n));
        },
      },
      input,
      h('button', { type: 'submit', class: 'btn' }, 'Anzeigen'),
    );
    const body = h('div', { class: 'call-body' });
    app.replaceChildren(h('div', { class: 'call' }, lookup, body));
    if (!nummer) {
      body.append(empty('Rufnummer eingeben, um den Anrufer anzuzeigen. Die Telefonanlage öffnet diese Seite als /anruf?nummer=…'));
      input.focus();
      return;
    }
    body.append(h('p', { class: 'muted loading' }, 'Suche Anrufer …'));
    let pop;
    try {
      pop = await api('GET', '/api/v1/screenpop?number=' + encodeURIComponent(nummer));
    } catch (e) {
      if (!alive(gen)) return;
      body.replaceChildren(h('section', { class: 'panel pop', testid: 'screenpop' }, h('p', { class: 'pop-number', testid: 'pop-number' }, nummer), h('p', { class: 'error', testid: 'pop-error' }, describe(e))));
      return;
    }
    if (!alive(gen)) return;
    body.replaceChildren(screenPop(nummer, pop));
  }

  function screenPop(nummer, pop) {
    const head = [
      h('p', { class: 'pop-label' }, 'Eingehender Anruf'),
      h('p', { class: 'pop-number', testid: 'pop-number' }, nummer, pop.number && pop.number !== nummer ? h('small', null, ' ' + pop.number) : null),
    ];
    const candidates = pop.candidates || [];
    if (!candidates.length) {
      document.title = 'Unbekannte Nummer – kontor';
      return h(
        'section',
        { class: 'panel pop pop-unknown', testid: 'screenpop' },
        head,
        h('h1', { testid: 'pop-unknown' }, 'Unbekannte Nummer'),
        h('p', null, 'Zu dieser Nummer ist kein Kunde bekannt.'),
        h('p', null, link('/', { class: 'btn' }, 'Kunde suchen')),
      );
    }
    const best = candidates[0];
    const c = pop.customer;
    const parts = [];
    const matchText = (x) => [PHONE_VIA[x.via] || x.via, x.contact, PHONE_MATCH[x.matched] || x.matched].filter(Boolean).join(', ');
    if (c) {
      document.title = 'Anruf: ' + (c.name || 'Kunde ' + c.id) + ' – kontor';
      parts.push(
        h('h1', { class: 'pop-name' }, link('/kunde/' + c.id, { testid: 'pop-customer' }, c.name || 'Kunde ' + c.id)),
        h(
          'p',
          { class: 'pop-meta' },
          c.customer_no ? h('span', null, 'Kundennr. ' + c.customer_no) : null,
          c.city ? h('span', null, c.city) : null,
          h('span', { testid: 'pop-confidence' }, matchText(best) + ' · ' + percent(best.confidence) + ' sicher'),
        ),
        h(
          'div',
          { class: 'kpis kpis-big' },
          kpi('Offene Posten', fmtMoney(c.open_items_total), 'pop-open'),
          kpi('Überfällig', fmtMoney(c.overdue_total), 'pop-overdue', isPositive(c.overdue_total) ? 'danger' : null, plural(c.overdue_count, 'Rechnung', 'Rechnungen')),
        ),
        h(
          'div',
          { class: 'pop-grid' },
          h(
            'div',
            { class: 'pop-block', testid: 'pop-orders' },
            h('h2', null, 'Offene Aufträge'),
            c.open_orders.length
              ? h('ul', { class: 'items-list' }, c.open_orders.map((o) => h('li', { class: 'item', testid: 'pop-order', 'data-number': o.number }, h('span', { class: 'doc-no' }, o.number), ' ', h('span', { class: 'badge' }, ORDER_STATUS[o.status] || o.status), h('div', { class: 'item-meta' }, o.next_delivery_date ? 'nächste Lieferung ' + fmtDate(o.next_delivery_date) : 'kein Liefertermin'))))
              : empty('Keine offenen Aufträge.'),
          ),
          h(
            'div',
            { class: 'pop-block', testid: 'pop-complaints' },
            h('h2', null, 'Offene Reklamationen'),
            c.open_complaints.length ? h('ul', { class: 'items-list' }, c.open_complaints.map((t) => complaintItem(t, 'pop-complaint'))) : empty('Keine offenen Reklamationen.'),
          ),
          h(
            'div',
            { class: 'pop-block', testid: 'pop-reminders' },
            h('h2', null, 'Fällige Wiedervorlagen'),
            c.due_reminders.length
              ? h('ul', { class: 'items-list' }, c.due_reminders.map((r) => h('li', { class: 'item', testid: 'pop-reminder' }, h('div', { class: 'item-title' }, r.title), h('div', { class: 'item-meta' }, 'fällig ' + fmtDate(r.due_date)))))
              : empty('Keine fälligen Wiedervorlagen.'),
          ),
        ),
        h('p', null, link('/kunde/' + c.id, { class: 'btn btn-primary btn-big', testid: 'pop-open-card' }, 'Kundenkarte öffnen')),
      );
    } else {
      parts.push(h('h1', { class: 'pop-name' }, link('/kunde/' + best.customer_id, { testid: 'pop-customer' }, best.name || 'Kunde ' + best.customer_id)));
    }
    const others = candidates.slice(1);
    if (others.length) {
      parts.push(
        h(
          'div',
          { class: 'pop-block', testid: 'pop-candidates' },
          h('h2', null, 'Weitere mögliche Anrufer'),
          h(
            'ul',
            { class: 'items-list' },
            others.map((x) =>
              h(
                'li',
                { class: 'item', testid: 'pop-candidate' },
                link('/kunde/' + x.customer_id, null, x.name || 'Kunde ' + x.customer_id),
                ' ',
                h('span', { class: 'badge' }, percent(x.confidence)),
                h('div', { class: 'item-meta' }, matchText(x)),
              ),
            ),
          ),
        ),
      );
    }
    return h('section', { class: 'panel pop', testid: 'screenpop' }, head, parts);
  }

  // ---------------------------------------------------------------- start

  route();
})();
