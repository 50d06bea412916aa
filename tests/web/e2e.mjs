// End-to-end test of kontor's web page in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core; no browser download).
//
//   node tests/web/e2e.mjs <base url> <user> <password> <screenshot dir>
//
// <user> is a local account of role sales (`kontor user add`); the page signs in with it (a
// session cookie, never a token in localStorage).
//
// Expects the demo workspace served at <base url> with one resolved complaint about
// damaged Spannzangen (item 0815-A, cost 120 €) and one open complaint whose first process step
// is overdue for customer 00042, and the teams produktmanagement and service configured –
// tests/web_e2e.rs sets that up.
// Exits 0 when every step passed; prints each step and, on failure, what went wrong.

import { chromium } from 'playwright-core';
import { serviceProcess } from './process.mjs';
import { openQuotes } from './quotes.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [base, user, password, shots] = process.argv.slice(2);
if (!base || !user || !password || !shots) {
  console.error('usage: node e2e.mjs <base url> <user> <password> <screenshot dir>');
  process.exit(2);
}
const executablePath = process.env.KONTOR_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 15_000;

const started = Date.now();
function step(text) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
}

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}

/** Text content with all whitespace (incl. no-break spaces) as single spaces. */
async function text(locator) {
  return ((await locator.textContent({ timeout: TIMEOUT })) || '').replace(/\s+/g, ' ').trim();
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-chromium-'));
fs.mkdirSync(shots, { recursive: true });

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: { width: 1280, height: 900 },
  locale: 'de-DE',
  timezoneId: 'Europe/Berlin',
});
context.setDefaultTimeout(TIMEOUT);

const problems = [];
function watch(page, name) {
  page.on('pageerror', (e) => problems.push(`${name}: uncaught ${e.message}`));
  page.on('console', (m) => {
    // 401/403/404 answers the page handles show up as console errors of the network layer.
    if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) problems.push(`${name}: console ${m.text()}`);
  });
}

let failed = false;
try {
  const page = context.pages()[0] || (await context.newPage());
  watch(page, 'laptop');
  const tid = (id) => page.getByTestId(id);

  // --- login ---------------------------------------------------------------------------
  step('open the page: the login asks for user name and password');
  await page.goto(base + '/');
  await tid('login-user').waitFor();
  check((await text(tid('login-form'))).includes('Benutzername'), 'the form asks for the user name');
  await tid('login-user').fill(user);
  await tid('login-password').fill('falsches-Passwort');
  await tid('login-submit').click();
  await tid('login-error').filter({ hasText: 'Benutzername oder Passwort falsch' }).waitFor();

  step('sign in: a session cookie the page cannot read, nothing in localStorage');
  await tid('login-password').fill(password);
  await tid('login-submit').click();
  await tid('search-input').waitFor();
  const storage = await page.evaluate(() => ({
    local: localStorage.length,
    session: sessionStorage.length,
    cookie: document.cookie,
  }));
  check(storage.local === 0 && storage.session === 0, 'no token in localStorage/sessionStorage: ' + JSON.stringify(storage));
  check(!storage.cookie.includes('kontor_session'), 'the session cookie is HttpOnly: ' + storage.cookie);
  const cookies = await context.cookies(base);
  const sessionCookie = cookies.find((c) => c.name === 'kontor_session');
  check(sessionCookie && sessionCookie.httpOnly && sessionCookie.sameSite === 'Strict', 'cookie HttpOnly, SameSite=Strict: ' + JSON.stringify(cookies));

  // --- search ----------------------------------------------------------------------------
  step('search "Mueller" (debounced, as typed)');
  await tid('search-input').pressSequentially('Mueller', { delay: 60 });
  const hit = tid('search-hit').filter({ hasText: 'Müller & Söhne GmbH' });
  await hit.first().waitFor();
  const hitText = await text(hit.first());
  check(hitText.includes('00042'), 'hit shows the customer number: ' + hitText);
  check(hitText.includes('Köln'), 'hit shows the city: ' + hitText);
  check(/Gefunden über Name/.test(hitText), 'hit says what matched: ' + hitText);
  check(new URL(page.url()).search === '?q=Mueller', 'the query is in the address: ' + page.url());

  step('open Müller & Söhne GmbH');
  await hit.first().click();
  await page.waitForURL(/\/kunde\/\d+$/);
  const cardUrl = page.url();
  await tid('customer-name').filter({ hasText: 'Müller & Söhne GmbH' }).waitFor();
  check((await text(tid('customer-numbers'))).includes('00042'), 'card shows customer number 00042');

  step('keyboard: focus starts at the customer name; phones and e-mail are links, phones as people write them');
  await page.waitForFunction(() => document.activeElement && document.activeElement.dataset.testid === 'customer-name');
  const phone = page.locator('.card-head').getByTestId('phone-link').first();
  const phoneHref = await phone.getAttribute('href');
  const phoneText = await text(phone);
  check(/^tel:\+49\d+$/.test(phoneHref), 'tel: link with the E.164 number: ' + phoneHref);
  check(/^0\d{2,4} \d+$/.test(phoneText), 'shown in national notation, not +49…: ' + phoneText);
  check(/^mailto:/.test(await page.locator('.card-head').getByTestId('mail-link').first().getAttribute('href')), 'e-mail is a mailto: link');

  // --- open items ------------------------------------------------------------------------
  step('open items: amounts in German format, overdue days, totals');
  const invoices = tid('open-items').getByTestId('invoice-row');
  await invoices.first().waitFor();
  check((await invoices.count()) >= 3, 'several open invoices');
  const row1001 = invoices.filter({ hasText: 'RE-2026-1001' });
  check((await row1001.count()) === 1, 'invoice RE-2026-1001 listed');
  const row1001Text = await text(row1001);
  check(/1\.190,00 €/.test(row1001Text), 'open amount 1.190,00 €: ' + row1001Text);
  check(row1001Text.includes('01.11.2026'), 'due date as dd.mm.yyyy: ' + row1001Text);
  check((await tid('invoice-overdue').count()) >= 1 && /\d+ Tage? überfällig/.test(await text(tid('invoice-overdue').first())), 'overdue invoices flagged "n Tage überfällig"');
  const total = await text(tid('open-total'));
  check(/\d{1,3}(\.\d{3})*,\d{2} €/.test(total), 'total in German format: ' + total);
  check(/5\.449,60 €/.test(await text(tid('kpi-open'))), 'open items total 5.449,60 €: ' + (await text(tid('kpi-open'))));
  check(/Mahnstufe 2/.test(await text(row1001.getByTestId('invoice-dunning'))), 'dunning level "Mahnstufe 2" on RE-2026-1001: ' + row1001Text);
  check(row1001Text.includes('Zahlungsbedingung: 14 Tage netto'), 'extra field with its label: ' + row1001Text);
  const net = await text(tid('net-total'));
  check(/Saldo.*5\.330,60 €$/.test(net), 'balance after open credit notes (5.449,60 € − 119,00 €): ' + net);
  check(/abzüglich offene Gutschriften/.test(await text(tid('credit-total'))), 'open credit notes deducted');
  check(/119,00 €/.test(await text(tid('credit-notes').getByTestId('credit-note-row').filter({ hasText: 'GU-2026-0007' }).getByTestId('credit-note-open'))), 'credit note open 119,00 €');

  // --- a card without plumbing; "Herkunft" on demand ---------------------------------------
  step('the card shows no system, connector or URL until "Herkunft" is switched on');
  const cardText = await page.locator('[data-testid="customer-card"]').innerText();
  for (const noise of ['http://', 'https://', 'wawi-kunden', 'einvoices', 'erpnext', 'main_number', 'customer_po', '≠']) {
    check(!cardText.includes(noise), 'no "' + noise + '" on the card: ' + cardText.slice(0, 200));
  }
  check(!(await tid('sources').isVisible()), 'the sources panel is hidden');
  check((await tid('prov-toggle').getAttribute('aria-pressed')) === 'false', 'Herkunft is off at first');
  const tree = JSON.stringify(await page.locator('[data-testid="customer-card"]').ariaSnapshot());
  check(!/https?:\/\//.test(tree), 'no URL in the accessibility tree');
  await tid('prov-toggle').click();
  check((await tid('prov-toggle').getAttribute('aria-pressed')) === 'true', 'Herkunft switched on');
  const emailProv = await text(tid('field-email').getByTestId('field-prov'));
  check(/^Quelle: [^,]+, .+, Stand \d\d\.\d\d\.\d{4}/.test(emailProv), 'field source shown: ' + emailProv);
  check(/Andere Werte: /.test(emailProv), 'other values shown: ' + emailProv);
  check((await tid('field-email').getByTestId('field-conflict').count()) === 1, 'a quiet hint on a conflicting field');
  const sourcesText = await text(tid('sources'));
  check(/verknüpft über USt-IdNr\. DE123456788/.test(sourcesText), 'sources say how they were matched: ' + sourcesText);
  check(/Warenwirtschaft – Kunden/.test(sourcesText) && !sourcesText.includes('wawi-kunden'), 'sources by their labels: ' + sourcesText);
  const provText = await page.locator('[data-testid="customer-card"]').innerText();
  check(!/https?:\/\//.test(provText), 'no URL even with Herkunft: ' + provText.slice(0, 200));
  await page.reload();
  await tid('customer-card').waitFor();
  check((await tid('prov-toggle').getAttribute('aria-pressed')) === 'true' && (await tid('sources').isVisible()), 'Herkunft stays on after a reload');
  await tid('prov-toggle').click();
  check(!(await tid('sources').isVisible()), 'Herkunft off again');

  // --- orders ----------------------------------------------------------------------------
  step('order AB-50001 with its moved delivery date and availability');
  const order = tid('order').filter({ has: page.locator('.doc-no', { hasText: 'Auftrag AB-50001' }) });
  check((await order.count()) === 1, 'order AB-50001 listed');
  const line = order.getByTestId('order-line').filter({ hasText: '0815-A' });
  const lineText = await text(line);
  check(lineText.includes('08.12.2026'), 'new promised date 08.12.2026: ' + lineText);
  check(lineText.includes('verschoben vom 27.11.2026'), 'moved from 27.11.2026: ' + lineText);
  check(/verfügbar/.test(lineText), 'availability shown: ' + lineText);
  check((await text(order.getByTestId('order-next'))).includes('08.12.2026'), 'next delivery date of the order');

  // --- the earlier complaint ---------------------------------------------------------------
  step('the earlier complaint is listed as resolved');
  const earlier = tid('complaints').getByTestId('complaint').filter({ hasText: 'Spannzangen beschädigt geliefert' });
  check((await earlier.count()) === 1, 'earlier complaint listed');
  check((await text(earlier.getByTestId('complaint-status'))) === 'gelöst', 'earlier complaint resolved');
  const complaintsBefore = await tid('complaints').getByTestId('complaint').count();

  // --- contact ---------------------------------------------------------------------------
  step('Kontakt erfassen: a call shows up in the timeline');
  await tid('tab-activity').click();
  await tid('activity-kind').selectOption('call');
  await tid('activity-direction').selectOption('in');
  await tid('activity-subject').fill('Rückfrage zum Liefertermin AB-50001');
  await tid('activity-text').fill('Kunde informiert: Lieferung am 08.12.');
  await tid('activity-submit').click();
  await tid('activity-message').filter({ hasText: 'Kontakt gespeichert' }).waitFor();
  await tid('timeline-items').getByTestId('timeline-item').filter({ hasText: 'Rückfrage zum Liefertermin AB-50001' }).first().waitFor();

  step('one\'s own contact: "Bearbeiten" corrects it, "Löschen" deletes it, both taken back with "Rückgängig"');
  const tlItem = (t) => tid('timeline-items').getByTestId('timeline-item').filter({ hasText: t }).first();
  check((await tid('timeline-items').getByTestId('contact-edit').count()) === 1, 'only the contact this person recorded can be changed');
  await tlItem('Rückfrage zum Liefertermin AB-50001').getByTestId('contact-edit').click();
  await tid('contact-edit-subject').fill('Liefertermin AB-50001 bestätigt');
  await tid('contact-edit-save').click();
  await tlItem('Liefertermin AB-50001 bestätigt').waitFor();
  await tid('undo').filter({ hasText: 'Kontakt geändert' }).waitFor();
  await tid('undo-button').click();
  await tlItem('Rückfrage zum Liefertermin AB-50001').waitFor();
  await tlItem('Rückfrage zum Liefertermin AB-50001').getByTestId('contact-delete').click();
  await page.waitForFunction(() => !Array.from(document.querySelectorAll('[data-testid="timeline-item"]')).some((i) => i.textContent.includes('Rückfrage zum Liefertermin')));
  await tid('undo').filter({ hasText: 'Kontakt gelöscht' }).waitFor();
  await tid('undo-button').click();
  await tlItem('Rückfrage zum Liefertermin AB-50001').waitFor();

  // --- documents ---------------------------------------------------------------------------
  step('invoice, credit-note and order numbers open their document; Escape closes it');
  const dlg = tid('doc-dialog');
  const opener = tid('open-items').getByTestId('invoice-row').filter({ hasText: 'RE-2026-1002' }).getByTestId('doc-link');
  await opener.click();
  await dlg.getByTestId('doc-open').waitFor();
  check(/975,00 €/.test(await text(dlg.getByTestId('doc-open'))), 'the open amount: ' + (await text(dlg)));
  check(/gutgeschrieben mit: Gutschrift GU-2026-0007/.test(await text(dlg.getByTestId('doc-related'))), 'the credit note against it: ' + (await text(dlg)));
  check(/^Quelle: /.test(await text(dlg.getByTestId('doc-source'))) && !/https?:\/\//.test(await text(dlg)), 'where it comes from, without a URL: ' + (await text(dlg)));
  await dlg.getByTestId('doc-related-link').filter({ hasText: 'GU-2026-0007' }).click();
  await dlg.locator('h2', { hasText: 'Gutschrift GU-2026-0007' }).waitFor();
  await page.keyboard.press('Escape');
  await dlg.waitFor({ state: 'hidden' });
  check(await page.evaluate(() => document.activeElement && document.activeElement.dataset.number === 'RE-2026-1002'), 'focus back on the number that opened it');
  await order.getByTestId('doc-link').click();
  await dlg.getByTestId('doc-line').first().waitFor();
  check(/0815-A/.test(await text(dlg.getByTestId('doc-lines'))), 'the order\'s lines: ' + (await text(dlg)));
  await dlg.getByTestId('doc-close').click();
  await dlg.waitFor({ state: 'hidden' });
  await tid('open-items').getByTestId('invoice-row').filter({ hasText: 'RE-2026-1008' }).getByTestId('doc-link').click();
  await dlg.getByTestId('doc-line').first().waitFor();
  await page.screenshot({ path: path.join(shots, 'screenshot-beleg.png') });
  check(/Datei XRechnung_RE-2026-1008\.xml, Zeile 4$/.test(await text(dlg.getByTestId('doc-source'))), 'an XML position as file and line: ' + (await text(dlg.getByTestId('doc-source'))));
  check(/0816-B.*5 Stk.*150,00 €/.test(await text(dlg.getByTestId('doc-line').first())), 'the e-invoice\'s line, its unit in German: ' + (await text(dlg)));
  await page.keyboard.press('Escape');
  await dlg.waitFor({ state: 'hidden' });

  // --- quotes (quotes.mjs) -------------------------------------------------------------------
  await openQuotes({ page, tid, step, check, text, dlg });

  // --- timeline ----------------------------------------------------------------------------
  step('timeline (now 11 entries): pages with "Mehr laden", filter chips');
  const tlItems = tid('timeline-items').getByTestId('timeline-item');
  await tlItems.first().waitFor();
  const firstPage = await tlItems.count();
  check(firstPage === 10, 'first page has 10 entries, got ' + firstPage);
  await tid('timeline-more').click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="timeline-item"]').length > n, firstPage);
  await tid('timeline').getByTestId('timeline-chip').filter({ hasText: 'Rechnung' }).click();
  await page.waitForFunction(() => {
    const items = Array.from(document.querySelectorAll('[data-testid="timeline-item"]'));
    return items.length > 0 && items.every((i) => i.dataset.kind === 'invoice');
  });
  await tid('timeline').getByTestId('timeline-chip').filter({ hasText: 'Alle' }).click();
  await page.waitForFunction(() => new Set(Array.from(document.querySelectorAll('[data-testid="timeline-item"]')).map((i) => i.dataset.kind)).size > 1);

  step('click-to-dial: "Anrufen" rings the desk phone through the PBX, the call lands in the timeline');
  await page.locator('.card-head').getByTestId('dial-button').first().click();
  await tid('undo').filter({ hasText: 'Ihr Telefon klingelt' }).waitFor();
  await tlItem('Anruf (ausgehend)').getByTestId('contact-edit').waitFor();

  // --- reminder ----------------------------------------------------------------------------
  step('Wiedervorlage anlegen, verschieben, erledigen');
  await tid('tab-reminder').click();
  await tid('reminder-title-input').fill('Liefertermin AB-50001 bestätigen lassen');
  await tid('reminder-due-input').fill('2020-03-01');
  check(/^So, 01\.03\.2020 – liegt in der Vergangenheit/.test(await text(tid('reminder-due-text'))), 'a past date is shown with its weekday and warned about: ' + (await text(tid('reminder-due-text'))));
  await tid('reminder-quick').filter({ hasText: 'nächste Woche' }).click();
  const dueText = await text(tid('reminder-due-text'));
  check(/^(Mo|Di|Mi|Do|Fr|Sa|So), \d\d\.\d\d\.20\d\d$/.test(dueText), '"nächste Woche" sets a German date without warning: ' + dueText);
  await tid('reminder-submit').click();
  const reminder = tid('reminders').getByTestId('reminder').filter({ hasText: 'Liefertermin AB-50001 bestätigen lassen' });
  await reminder.waitFor();
  await reminder.getByTestId('reminder-snooze').click();
  await reminder.getByTestId('snooze-date').waitFor();
  const until = await reminder.getByTestId('snooze-date').inputValue();
  await reminder.getByTestId('snooze-confirm').click();
  const [y, m, d] = until.split('-');
  await reminder.getByTestId('reminder-snoozed').filter({ hasText: `verschoben bis ${d}.${m}.${y}` }).waitFor();
  await reminder.getByTestId('reminder-done').click();
  await reminder.waitFor({ state: 'detached' });
  step('"Rückgängig" brings the reminder back, then done for good');
  await tid('undo-button').click();
  await reminder.waitFor();
  await reminder.getByTestId('reminder-done').click();
  await reminder.waitFor({ state: 'detached' });

  // --- complaint with similar cases --------------------------------------------------------
  step('Reklamation erfassen: similar cases show the earlier one with its resolution');
  await tid('tab-complaint').click();
  await tid('complaint-category').selectOption('lieferung');
  await tid('complaint-title-input').fill('Spannzangen beim Auspacken beschädigt');
  await tid('complaint-text').fill('Zwei Spannzangen ER32 mit Transportschaden, Karton eingedrückt.');
  await tid('complaint-sku').fill('0815-A');
  await tid('complaint-submit').click();
  await tid('similar-cases').waitFor();
  const similar = tid('similar-case').filter({ hasText: 'Spannzangen beschädigt geliefert' });
  await similar.first().waitFor();
  const similarText = await text(similar.first());
  check((await text(similar.first().getByTestId('similar-resolution'))) === 'Lösung: Ersatz geliefert, Spedition informiert', 'similar case shows the resolution: ' + similarText);
  check(/gleicher Artikel 0815-A/.test(similarText), 'similar case says why: ' + similarText);
  check(/\d+ % ähnlich/.test(similarText), 'similar case has a score: ' + similarText);
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="complaints"] [data-testid="complaint"]').length === n + 1,
    complaintsBefore,
  );
  const fresh = tid('complaints').getByTestId('complaint').filter({ hasText: 'Spannzangen beim Auspacken beschädigt' });
  check((await text(fresh.getByTestId('complaint-status'))) === 'neu', 'the new complaint is listed as new');

  step('screenshot of the card (1280x900)');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(0, 0);
  await page.screenshot({ path: path.join(shots, 'screenshot-kunde.png') });

  step('complaint status from the card: in progress, resolved with a text, taken back');
  const freshStatus = () => text(tid('complaints').getByTestId('complaint').filter({ hasText: 'Spannzangen beim Auspacken beschädigt' }).getByTestId('complaint-status'));
  const freshItem = () => tid('complaints').getByTestId('complaint').filter({ hasText: 'Spannzangen beim Auspacken beschädigt' });
  check((await freshItem().getByTestId('complaint-to-closed').count()) === 0, 'a new complaint cannot be closed directly');
  await freshItem().getByTestId('complaint-to-in_progress').click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="complaint"]')].some((e) => e.textContent.includes('Spannzangen beim Auspacken') && e.querySelector('[data-testid="complaint-status"]').textContent === 'in Bearbeitung'));
  check((await tid('undo-button').count()) === 0 || !(await tid('undo-button').isVisible()), 'no undo where the workflow has no way back');
  await freshItem().getByTestId('complaint-to-resolved').click();
  await freshItem().getByTestId('complaint-resolve-confirm').click();
  check((await freshStatus()) === 'in Bearbeitung', 'resolving needs a text');
  await freshItem().getByTestId('complaint-resolution-input').fill('Ersatz mit Express geliefert');
  await freshItem().getByTestId('complaint-resolve-confirm').click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="complaint"]')].some((e) => e.textContent.includes('Spannzangen beim Auspacken') && e.querySelector('[data-testid="complaint-status"]').textContent === 'gelöst'));
  check(/Ersatz mit Express geliefert/.test(await text(freshItem().getByTestId('complaint-resolution'))), 'resolution shown');
  await tid('undo-button').click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="complaint"]')].some((e) => e.textContent.includes('Spannzangen beim Auspacken') && e.querySelector('[data-testid="complaint-status"]').textContent === 'in Bearbeitung'));
  check((await freshStatus()) === 'in Bearbeitung', '"Rückgängig" reopened it');

  // --- service process (process.mjs) ------------------------------------------------------
  await serviceProcess({ page, tid, step, check, text, freshItem, tlItem });
  await freshItem().screenshot({ path: path.join(shots, 'screenshot-reklamation.png') });

  step('the timeline shows whole times, nothing cut off');
  const clipped = await page.evaluate(() =>
    Array.from(document.querySelectorAll('.tl-when')).filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent),
  );
  check(clipped.length === 0, 'timeline dates not clipped: ' + JSON.stringify(clipped));

  // --- history -----------------------------------------------------------------------------
  step('back button returns to the search results');
  await page.goBack();
  await page.waitForURL((u) => u.pathname === '/' && u.search === '?q=Mueller');
  await tid('search-hit').filter({ hasText: 'Müller & Söhne GmbH' }).first().waitFor();
  check((await tid('search-input').inputValue()) === 'Mueller', 'search box keeps the query');
  await page.goForward();
  await page.waitForURL(cardUrl);
  await tid('customer-name').filter({ hasText: 'Müller & Söhne GmbH' }).waitFor();

  step('API errors are shown readably');
  await page.goto(base + '/kunde/999999');
  await page.getByText('Nicht gefunden: no customer 999999').waitFor();

  step('keyboard: "/" goes to the search, Enter opens the only hit');
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.keyboard.press('/');
  await tid('search-input').waitFor();
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'q');
  await page.keyboard.type('00042');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/kunde\/\d+$/).catch(async (e) => {
    throw new Error('Enter did not open the hit; the search says: ' + (await text(tid('search-status'))) + ' – ' + e.message);
  });
  await tid('customer-name').filter({ hasText: 'Müller & Söhne GmbH' }).waitFor();
  await page.goto(cardUrl);
  await tid('customer-name').filter({ hasText: 'Müller & Söhne GmbH' }).waitFor();

  step('keyboard: W and R open the reminder and complaint forms with the cursor in them, K the contact form');
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.keyboard.press('w');
  await page.waitForFunction(() => document.activeElement && document.activeElement.closest('#pane-reminder'));
  check((await tid('tab-reminder').getAttribute('aria-selected')) === 'true', 'W selects "Wiedervorlage anlegen"');
  await page.evaluate(() => document.activeElement.blur());
  await page.keyboard.press('r');
  await page.waitForFunction(() => document.activeElement && document.activeElement.closest('#pane-complaint'));
  await page.evaluate(() => document.activeElement.blur());
  await page.keyboard.press('k');
  await page.waitForFunction(() => document.activeElement && document.activeElement.closest('#pane-activity'));
  await page.keyboard.type('x');
  check((await tid('tab-activity').getAttribute('aria-selected')) === 'true', 'typing in a field is not a shortcut');

  // --- calls pop up by themselves ------------------------------------------------------------
  step('an incoming call pops up on the idle page; answered elsewhere it goes; stacked calls');
  const pbx = async (body) => {
    const res = await fetch(base + '/api/v1/calls', {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + process.env.KONTOR_CTI_TOKEN, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    check(res.ok, 'the PBX webhook answered ' + res.status);
  };
  await page.waitForTimeout(500);
  await pbx({ from: '+49 221 4711-23', call_id: 'web-1', extension: '23' });
  const pop1 = page.locator('[data-testid="call-pop"][data-call-id="web-1"]');
  await pop1.waitFor();
  const pop1Text = await text(pop1);
  check(pop1Text.includes('Müller & Söhne GmbH'), 'the caller by name: ' + pop1Text);
  check(pop1Text.includes('0221 471123'), 'the number as people write it: ' + pop1Text);
  check(/überfällig \d{1,3}(\.\d{3})*,\d{2} €/.test(pop1Text), 'what is overdue: ' + pop1Text);
  await pbx({ from: '030 999999', call_id: 'web-2' });
  const pop2 = page.locator('[data-testid="call-pop"][data-call-id="web-2"]');
  await pop2.waitFor();
  check((await text(pop2)).includes('Unbekannte Nummer'), 'an unknown caller says so');
  check((await tid('call-pop').count()) === 2, 'two calls stack');
  await page.screenshot({ path: path.join(shots, 'screenshot-anruf-popup.png') });
  await pbx({ from: '+49 221 4711-23', call_id: 'web-1', event: 'answered', extension: '24' });
  await pop1.waitFor({ state: 'detached' });
  check(await pop2.isVisible(), 'the other call stays');
  await pop2.getByTestId('call-pop-close').click();
  await pop2.waitFor({ state: 'detached' });
  // A call that rang while the page was loading is shown once it is there.
  // (This one in sipgate's format: a form post, the number without `+`.)
  const loading = page.goto(base + '/artikel');
  const sipgate = await fetch(base + '/api/v1/cti/sipgate?token=' + encodeURIComponent(process.env.KONTOR_CTI_TOKEN), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'event=newCall&from=49221471123&to=4922140000&direction=in&callId=web-3&user%5B%5D=Anna',
  });
  check(sipgate.ok && (await sipgate.text()).includes('onHangup='), 'sipgate gets its XML answer');
  await loading;
  const pop3 = page.locator('[data-testid="call-pop"][data-call-id="web-3"]');
  await pop3.getByTestId('call-pop-open').click();
  await page.waitForURL(cardUrl);
  await tid('customer-name').filter({ hasText: 'Müller & Söhne GmbH' }).waitFor();
  check((await tid('call-pop').count()) === 0, '"Karte öffnen" opens the card and the pop-up goes');

  // --- incoming call on a tablet ---------------------------------------------------------
  step('screen-pop for 0221 4711-0 on a tablet (768x1024)');
  const tablet = await context.newPage();
  watch(tablet, 'tablet');
  await tablet.setViewportSize({ width: 768, height: 1024 });
  await tablet.goto(base + '/anruf?nummer=0221%204711-0');
  const pop = tablet.getByTestId('screenpop');
  const customer = pop.getByTestId('pop-customer');
  await customer.filter({ hasText: 'Müller & Söhne GmbH' }).waitFor();
  check((await text(pop.getByTestId('pop-number'))).startsWith('0221 4711-0'), 'caller number shown');
  check(/5\.449,60 €/.test(await text(pop.getByTestId('pop-open'))), 'open items total');
  check(/€/.test(await text(pop.getByTestId('pop-overdue'))), 'overdue total');
  const popOrder = await text(pop.getByTestId('pop-order').filter({ hasText: 'AB-50001' }));
  check(popOrder.includes('nächste Lieferung 08.12.2026'), 'order with next delivery date: ' + popOrder);
  check((await pop.getByTestId('pop-complaint').filter({ hasText: 'Spannzangen beim Auspacken beschädigt' }).count()) === 1, 'open complaint listed');
  check((await pop.getByTestId('pop-complaint').filter({ hasText: 'Spannzangen beschädigt geliefert' }).count()) === 0, 'resolved complaint not listed as open');
  check(/100 % sicher/.test(await text(pop.getByTestId('pop-confidence'))), 'confidence of the best candidate');
  check(/Mahnstufe 2/.test(await text(pop.getByTestId('pop-dunning'))), 'dunning level in the screen-pop');
  await tablet.screenshot({ path: path.join(shots, 'screenshot-anruf.png') });

  step('the screen-pop links to the card');
  await customer.click();
  await tablet.waitForURL(/\/kunde\/\d+$/);
  await tablet.getByTestId('customer-name').filter({ hasText: 'Müller & Söhne GmbH' }).waitFor();

  step('the card at 768 px: no horizontal scrolling, tile labels fit');
  const overflow = await tablet.evaluate(() => ({
    page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    labels: Array.from(document.querySelectorAll('.kpi-label')).filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent),
  }));
  check(overflow.page <= 0, 'no horizontal scrolling at 768 px: ' + overflow.page + ' px too wide');
  check(overflow.labels.length === 0, 'tile labels fit at 768 px: ' + JSON.stringify(overflow.labels));

  step('at 768 px an order opens in a dialog that fits; "Anrufen" is on the card');
  await tablet.locator('[data-testid="order"][data-number="AB-50001"] [data-testid="doc-link"]').first().click();
  const tabletDlg = tablet.getByTestId('doc-dialog');
  await tabletDlg.getByTestId('doc-line').first().waitFor();
  const dlgFit = await tablet.evaluate(() => {
    const d = document.getElementById('doc-dialog');
    const r = d.getBoundingClientRect();
    return { left: r.left, right: r.right, width: window.innerWidth, page: document.documentElement.scrollWidth - document.documentElement.clientWidth };
  });
  check(dlgFit.left >= 0 && dlgFit.right <= dlgFit.width && dlgFit.page <= 0, 'the dialog fits at 768 px: ' + JSON.stringify(dlgFit));
  await tablet.keyboard.press('Escape');
  await tabletDlg.waitFor({ state: 'hidden' });
  check((await tablet.locator('.card-head').getByTestId('dial-button').count()) >= 1, '"Anrufen" on the tablet card');

  step('an unknown number');
  await tablet.goto(base + '/anruf?nummer=030%2099887766');
  await tablet.getByTestId('pop-unknown').filter({ hasText: 'Unbekannte Nummer' }).waitFor();
  const searchHref = await tablet.getByTestId('pop-search').getAttribute('href');
  check(searchHref === '/?q=030%2099887766', '"Kunde suchen" carries the number: ' + searchHref);

  step('a number typed without area code is offered with the company\'s own ([cti] default_area_code)');
  await tablet.goto(base + '/anruf?nummer=4711-0');
  await tablet.getByTestId('pop-suggestion-link').filter({ hasText: '0221 4711-0' }).click();
  await tablet.getByTestId('pop-customer').filter({ hasText: 'Müller & Söhne GmbH' }).waitFor();

  // --- item search --------------------------------------------------------------------------
  step('Zahlungsmoral: a customer who paid late shows how late, on the card');
  await page.goto(base + '/?q=00047');
  await page.getByTestId('search-hit').first().click();
  await page.getByTestId('kpi-payment').waitFor();
  const payment = await text(page.getByTestId('kpi-payment'));
  check(/Ø \d+ Tage zu spät/.test(payment) && /100 % von 1 Rechnung verspätet/.test(payment), 'how late the customer paid: ' + payment);

  step('Berichte: complaints per category with a bar chart and per item, never per person');
  await page.getByTestId('nav-reports').click();
  await page.waitForURL(/\/berichte$/);
  await page.getByTestId('report-row').first().waitFor();
  const reportText = await text(page.getByTestId('report-table'));
  check(/Lieferung/.test(reportText), 'grouped by category, in German: ' + reportText);
  check((await page.getByTestId('report-chart').locator('rect').count()) >= 2, 'a bar chart');
  await page.screenshot({ path: path.join(shots, 'screenshot-bericht.png') });
  check(/des Teams vertrieb-nord/.test(await text(page.getByTestId('report-status'))), 'a salesperson sees the own team\'s complaints: ' + (await text(page.getByTestId('report-status'))));
  const delivery = page.getByTestId('report-row').filter({ hasText: 'Lieferung' });
  check((await text(delivery.getByTestId('report-cost'))) === '1.370,50 €', 'the recorded cost of the group: ' + (await text(delivery)));
  check((await text(delivery.getByTestId('report-expected-cost'))) === '105,00 €', 'and what the steps were expected to cost: ' + (await text(delivery)));
  check(!/Person|Mitarbeiter|anna/i.test(reportText), 'no per-person figure: ' + reportText);
  await page.getByTestId('report-group').selectOption('item');
  await page.getByTestId('report-submit').click();
  await page.getByTestId('report-row').filter({ hasText: '0815-A' }).waitFor();
  check(new URL(page.url()).search.includes('nach=item'), 'the choice is in the address: ' + page.url());

  step('item search: stock of 0815-A per warehouse');
  await page.getByTestId('nav-items').click();
  await page.waitForURL(/\/artikel$/);
  await page.getByTestId('item-input').fill('Spannzange');
  await page.getByTestId('item-submit').click();
  const item = page.getByTestId('item-hit').filter({ hasText: '0815-A' });
  await item.waitFor();
  check(new URL(page.url()).search === '?q=Spannzange', 'the query is in the address: ' + page.url());
  const itemText = await text(item);
  check(/verfügbar/.test(itemText) && (await item.getByTestId('item-warehouse').filter({ hasText: 'HAUPT' }).count()) === 1, 'stock per warehouse: ' + itemText);
  check(/am Lager/.test(await text(item.getByTestId('availability-explained'))), 'availability explained: ' + itemText);
  const waiting = item.getByTestId('item-waiting-order');
  check((await waiting.count()) === 2, 'two open orders wait for 0815-A: ' + itemText);
  check(/AB-50001.*Müller & Söhne GmbH.*20 Stk offen/.test(await text(waiting.first())), 'which order, whose, how many: ' + (await text(waiting.first())));
  await page.goto(base + '/artikel?q=gibt%20es%20nicht');
  await page.getByTestId('item-status').filter({ hasText: 'Kein Artikel' }).waitFor();

  // --- CSRF and sign-out ------------------------------------------------------------------
  step('a state-changing request with the cookie but without the CSRF token: 403');
  const forged = await page.evaluate(async () => {
    const res = await fetch('/api/v1/reminders', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ customer_id: 1, title: 'untergeschoben' }),
    });
    return { status: res.status, body: await res.json() };
  });
  check(forged.status === 403 && forged.body.error.code === 'csrf', 'no CSRF token → 403: ' + JSON.stringify(forged));

  step('a note typed before signing out is still there after signing in again');
  await page.goto(cardUrl);
  await tid('customer-name').filter({ hasText: 'Müller & Söhne GmbH' }).waitFor();
  await tid('activity-text').fill('Entwurf: Rückruf wegen Skonto');
  await tid('logout').click();
  await tid('login-message').filter({ hasText: 'Sie sind abgemeldet.' }).waitFor();
  const after = await page.evaluate(async () => (await fetch('/api/v1/session', { credentials: 'same-origin' })).status);
  check(after === 401, 'the session has ended: ' + after);
  const kept = await page.evaluate(() => Object.keys(localStorage));
  check(
    kept.filter((k) => k.startsWith('kontor-draft:')).length === 1 && kept.every((k) => k.startsWith('kontor-draft:') || k === 'kontor-herkunft'),
    'only the draft (and the Herkunft switch) is kept in localStorage, no session: ' + JSON.stringify(kept),
  );
  await page.goto(cardUrl);
  await tid('login-user').fill(user);
  await tid('login-password').fill(password);
  await tid('login-submit').click();
  await tid('customer-name').filter({ hasText: 'Müller & Söhne GmbH' }).waitFor();
  check((await tid('activity-text').inputValue()) === 'Entwurf: Rückruf wegen Skonto', 'the draft is restored');
  check(/Entwurf wiederhergestellt/.test(await text(tid('activity-message'))), 'the form says the draft was restored');
  await tid('activity-submit').click();
  await tid('activity-message').filter({ hasText: 'Kontakt gespeichert.' }).waitFor();
  check((await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('kontor-draft:')).length)) === 0, 'a saved form leaves no draft');

  step('Abmelden: back to the login, the cookie no longer works');
  await tid('logout').click();
  await tid('login-message').filter({ hasText: 'Sie sind abgemeldet.' }).waitFor();
  await page.goto(base + '/?q=Mueller');
  await tid('login-user').waitFor();
  check((await page.evaluate(() => Object.keys(localStorage).filter((k) => k !== 'kontor-herkunft').length)) === 0, 'still nothing in localStorage (but the Herkunft switch)');

  check(problems.length === 0, 'no script errors in the page:\n  ' + problems.join('\n  '));
  step('all steps passed');
} catch (e) {
  failed = true;
  console.error('FAILED: ' + (e && e.stack ? e.stack : e));
  try {
    for (const [i, p] of context.pages().entries()) {
      await p.screenshot({ path: path.join(shots, `failure-${i}.png`), fullPage: true });
      console.error(`page ${i} (${p.url()}), screenshot in ${path.join(shots, `failure-${i}.png`)}`);
    }
  } catch (_) {
    /* the browser may be gone */
  }
  if (problems.length) console.error('page problems:\n  ' + problems.join('\n  '));
} finally {
  await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
