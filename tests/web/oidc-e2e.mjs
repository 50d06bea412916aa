// Sign-in through OpenID Connect in headless Chromium: kontor's login page → the provider's
// login and consent (tests/web/oidc-provider.mjs) → back at kontor, signed in with the role
// and team from the provider's claims, no token in localStorage.
//
//   node tests/web/oidc-e2e.mjs <base url> <login name>
//
// Prints the session (JSON) as its last line when every step passed.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [base, login] = process.argv.slice(2);
const executablePath = process.env.KONTOR_CHROMIUM || '/usr/bin/chromium';
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-oidc-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  locale: 'de-DE',
});
context.setDefaultTimeout(15_000);
let code = 0;
try {
  const page = context.pages()[0] || (await context.newPage());
  console.log('open the page, choose the company account');
  await page.goto(base + '/');
  await page.getByTestId('login-oidc').click();
  console.log('the provider asks for the login: ' + page.url());
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('egal');
  await page.locator('button[type="submit"]').click();
  // Consent (the first time), then back to kontor.
  await page.waitForURL((u) => u.href.startsWith(base) || /\/interaction\//.test(u.pathname));
  if (!page.url().startsWith(base)) {
    console.log('consent');
    await page.locator('button[type="submit"]').click();
  }
  await page.waitForURL((u) => u.href.startsWith(base));
  console.log('back at kontor: ' + page.url());
  const body = await page.textContent('body');
  if (!(await page.getByTestId('search-input').count())) {
    await page.getByTestId('search-input').waitFor({ timeout: 5000 }).catch(() => {});
  }
  const session = await page.evaluate(async () => {
    const r = await fetch('/api/v1/session', { credentials: 'same-origin' });
    return { status: r.status, body: await r.json(), local: localStorage.length };
  });
  if (session.status === 200) {
    await page.getByTestId('search-input').waitFor();
    await page.getByTestId('search-input').fill('Mueller');
    await page.getByTestId('search-hit').filter({ hasText: 'Müller & Söhne GmbH' }).first().waitFor();
  } else {
    session.page = (body || '').slice(0, 400);
  }
  console.log(JSON.stringify(session));
} catch (e) {
  code = 1;
  console.error('FAILED: ' + (e && e.stack ? e.stack : e));
} finally {
  await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(code);
