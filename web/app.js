// kontor – the web page for sales and service: one search box, the customer card, the
// screen-pop of an incoming call. Plain JavaScript modules without a build step; they talk to
// the JSON API (/api/v1) with the signed-in person's session cookie. Every text from the server goes into text
// nodes or attributes (never innerHTML).
//
// This is the entry module: routing, login, search, the incoming call and the start. The
// other modules: lib.js (labels, DOM helpers, formatting, messages, API), card.js (the
// customer card and its timeline), side.js (the card's side panels), forms.js (the forms).

import {
  MATCH_FIELDS, MATCH_HOW, ORDER_STATUS, PHONE_MATCH, PHONE_VIA, api, app, describe, empty, fmtDate,
  currentSession, fmtMoney, h, hideBanner, isPositive, link, loadSession, numberChip, percent, plural,
  roleBadge, section, showError, signIn, signOut, splitNumber,
} from './lib.js';
import { cardView, dunningText, kpi, paymentKpi } from './card.js';
import { itemsView } from './items.js';
import { reportsView } from './reports.js';
import { startCalls, stopCalls } from './calls.js';
import { complaintItem } from './side.js';

const SEARCH_DEBOUNCE_MS = 250;

const logoutButton = document.getElementById('logout');
const nav = document.getElementById('nav');

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

// Keyboard shortcuts (not while typing in a field): `/` jumps to the search from anywhere;
// on a customer card K, W and R open "Kontakt erfassen", "Wiedervorlage", "Reklamation"
// with the cursor in the form's first field.
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  if (!nav || nav.hidden) return;
  if (e.key === '/') {
    e.preventDefault();
    const search = document.getElementById('q');
    if (search) search.focus();
    else navigate('/');
    return;
  }
  const tab = /^[a-z]$/i.test(e.key) ? document.querySelector('[data-testid="actions"] [data-shortcut="' + e.key.toLowerCase() + '"]') : null;
  if (!tab) return;
  e.preventDefault();
  tab.click();
  const pane = document.getElementById(tab.getAttribute('aria-controls'));
  const first = pane && pane.querySelector('input, select, textarea');
  if (first) {
    first.focus();
    first.scrollIntoView({ block: 'center' });
  }
});

logoutButton.addEventListener('click', async () => {
  logoutButton.disabled = true;
  try {
    await signOut();
  } catch (_) {
    /* the session ends on the server by time anyway */
  }
  logoutButton.disabled = false;
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
  if (!currentSession()) {
    showLogin();
    return;
  }
  logoutButton.hidden = false;
  if (nav) nav.hidden = false;
  startCalls(() => Boolean(currentSession()));
  const gen = ++viewGeneration;
  const path = location.pathname;
  markNav(path);
  window.scrollTo(0, 0);
  let m;
  if (path === '/' || path === '/index.html') searchView(gen);
  else if ((m = /^\/kunde\/(\d+)\/?$/.exec(path))) cardView(gen, Number(m[1]));
  else if (/^\/anruf\/?$/.test(path)) callView(gen);
  else if (/^\/artikel\/?$/.test(path)) itemsView(gen);
  else if (/^\/berichte\/?$/.test(path)) reportsView(gen);
  else {
    document.title = 'Nicht gefunden – kontor';
    app.replaceChildren(section('Seite nicht gefunden', 'not-found', h('p', null, link('/', null, 'Zur Suche'))));
  }
}

export function alive(gen) {
  return gen === viewGeneration;
}

// ---------------------------------------------------------------- login

const LOGIN_ERRORS = {
  unauthorized: 'Benutzername oder Passwort falsch',
  locked: 'Konto gesperrt – bitte später erneut versuchen',
};

export function showLogin(message) {
  viewGeneration++;
  stopCalls();
  logoutButton.hidden = true;
  if (nav) nav.hidden = true;
  hideBanner();
  document.title = 'Anmelden – kontor';
  const user = h('input', {
    id: 'login-user',
    name: 'username',
    type: 'text',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    required: true,
    testid: 'login-user',
  });
  const password = h('input', {
    id: 'login-password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    testid: 'login-password',
  });
  const error = h('p', { class: 'form-message error', testid: 'login-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'login-submit' }, 'Anmelden');
  const form = h(
    'form',
    {
      class: 'panel login',
      testid: 'login-form',
      onsubmit: async (e) => {
        e.preventDefault();
        if (!user.value.trim() || !password.value) return;
        submit.disabled = true;
        error.hidden = true;
        try {
          await signIn(user.value.trim(), password.value);
          password.value = '';
          route();
        } catch (err) {
          password.value = '';
          error.textContent = LOGIN_ERRORS[err.code] || describe(err);
          error.hidden = false;
          password.focus();
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h1', null, 'Anmelden'),
    message ? h('p', { class: 'notice', testid: 'login-message', role: 'status' }, message) : null,
    h('label', { for: 'login-user' }, 'Benutzername'),
    user,
    h('label', { for: 'login-password' }, 'Passwort'),
    password,
    error,
    submit,
  );
  app.replaceChildren(form);
  user.focus();
  // Sign-in through the company's identity provider, when the server has one ([auth.oidc]).
  fetch('/api/v1/session/methods', { credentials: 'same-origin' })
    .then((r) => (r.ok ? r.json() : null))
    .then((m) => {
      if (m && m.oidc && form.isConnected) {
        form.append(
          h('p', { class: 'muted' }, 'oder'),
          h('a', { class: 'btn', href: '/auth/oidc/login', testid: 'login-oidc' }, 'Mit Firmenkonto anmelden'),
        );
      }
    })
    .catch(() => {});
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
  let openSingle = false;

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
      if (openSingle && !more_ && page.total === 1 && page.hits.length === 1) {
        openSingle = false;
        navigate('/kunde/' + encodeURIComponent(page.hits[0].id));
        return;
      }
      openSingle = false;
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
      // Enter opens the only hit (once the results for what is typed are there).
      const hits = list.querySelectorAll('a.hit');
      if (hits.length === 1 && query === input.value.trim() && !cursor) {
        navigate(hits[0].getAttribute('href'));
        return;
      }
      openSingle = true;
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
      roleBadge(hit.roles),
      place ? h('span', { class: 'hit-place' }, place) : null,
      h('span', { class: 'hit-numbers' }, (hit.customer_numbers || []).map((n) => numberChip(...splitNumber(n)))),
      matches.length ? h('span', { class: 'hit-match', testid: 'hit-match' }, 'Gefunden über ' + matches.join(' · ')) : null,
    ),
  );
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
      pop.suggestion
        ? h('p', { testid: 'pop-suggestion' }, 'Ohne Vorwahl eingegeben? ', link('/anruf?nummer=' + encodeURIComponent(pop.suggestion), { testid: 'pop-suggestion-link' }, pop.suggestion + ' anzeigen'))
        : null,
      h('p', null, link('/?q=' + encodeURIComponent(nummer), { class: 'btn', testid: 'pop-search' }, 'Kunde suchen')),
    );
  }
  const best = candidates[0];
  const c = pop.customer;
  const parts = [];
  const matchText = (x) => [PHONE_VIA[x.via] || x.via, x.contact, PHONE_MATCH[x.matched] || x.matched].filter(Boolean).join(', ');
  if (c) {
    document.title = 'Anruf: ' + (c.name || 'Kunde ' + c.id) + ' – kontor';
    parts.push(
      h('h1', { class: 'pop-name' }, link('/kunde/' + c.id, { testid: 'pop-customer' }, c.name || 'Kunde ' + c.id), ' ', roleBadge((best || {}).roles)),
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
        kpi('Offene Posten', fmtMoney(c.open_items_total), 'pop-open', null, isPositive(c.open_credit_notes) ? 'abzgl. Gutschriften ' + fmtMoney(c.open_credit_notes) + ' = ' + fmtMoney(c.open_net) : null),
        kpi('Überfällig', fmtMoney(c.overdue_total), 'pop-overdue', isPositive(c.overdue_total) ? 'danger' : null, plural(c.overdue_count, 'Rechnung', 'Rechnungen')),
        c.dunning_level > 0 ? kpi('Mahnung', dunningText(c.dunning_level), 'pop-dunning', 'warn', 'höchste der offenen Rechnungen') : null,
        paymentKpi(c.payment_behaviour, 'pop-payment'),
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
    parts.push(h('h1', { class: 'pop-name' }, link('/kunde/' + best.customer_id, { testid: 'pop-customer' }, best.name || 'Kunde ' + best.customer_id), ' ', roleBadge(best.roles)));
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

loadSession().then(route, () => showLogin());
