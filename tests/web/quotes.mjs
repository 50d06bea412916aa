// The browser test's steps for quotes on the customer card (called by e2e.mjs with its page and
// helpers): the open quotes of Müller & Söhne from the demo's WaWi export (dated around today:
// AN-0318 expires in 3 days) and the openTRANS RFQ; a quote opens with its validity; the
// accepted AN-0290 in the timeline leads to its order AB-50001 and back.

export async function openQuotes({ page, tid, step, check, text, dlg }) {
  step('open quotes: the one about to expire says so and opens with its validity; the accepted one leads to its order');
  const quotes = tid('quotes').getByTestId('quote');
  check((await quotes.count()) === 3, 'two open quotes and the customer\'s request: ' + (await text(tid('quotes'))));
  const soon = quotes.filter({ hasText: 'AN-0318' });
  check((await text(soon.getByTestId('quote-expiry'))).includes('läuft in 3 Tagen ab'), 'expires in 3 days: ' + (await text(soon)));
  check(/4\.280,00 €/.test(await text(soon)), 'its total: ' + (await text(soon)));
  check(/angefragt, noch kein Angebot/.test(await text(quotes.filter({ hasText: 'ANF-2026-81' }))), 'the customer\'s request (openTRANS RFQ)');
  check(!/AN-0290|AN-0299/.test(await text(tid('quotes'))), 'accepted and rejected quotes are not open');
  await soon.getByTestId('doc-link').click();
  await dlg.getByTestId('doc-valid').waitFor();
  check(/^\d\d\.\d\d\.\d{4}$/.test(await text(dlg.getByTestId('doc-valid'))) && (await text(dlg.getByTestId('doc-status'))) === 'offen', 'valid until and status: ' + (await text(dlg)));
  await page.keyboard.press('Escape');
  await dlg.waitFor({ state: 'hidden' });
  await tid('timeline').getByTestId('timeline-chip').filter({ hasText: 'Angebot' }).click();
  const accepted = tid('timeline-items').getByTestId('timeline-item').filter({ hasText: 'Angebot AN-0290' });
  await accepted.waitFor();
  check(/angenommen → Auftrag AB-50001/.test(await text(accepted)), 'the accepted quote in the timeline: ' + (await text(accepted)));
  await accepted.getByTestId('doc-link').click();
  await dlg.getByTestId('doc-related').waitFor();
  check(/beauftragt mit: Auftrag AB-50001/.test(await text(dlg.getByTestId('doc-related'))) && (await text(dlg.getByTestId('doc-status'))) === 'angenommen', 'the quote leads to its order: ' + (await text(dlg)));
  await dlg.getByTestId('doc-related-link').filter({ hasText: 'AB-50001' }).click();
  await dlg.locator('h2', { hasText: 'Auftrag AB-50001' }).waitFor();
  check(/aus Angebot: Angebot AN-0290/.test(await text(dlg.getByTestId('doc-related'))), 'and back: ' + (await text(dlg.getByTestId('doc-related'))));
  await page.keyboard.press('Escape');
  await dlg.waitFor({ state: 'hidden' });
  await tid('timeline').getByTestId('timeline-chip').filter({ hasText: 'Alle' }).click();
  await page.waitForFunction(() => Array.from(document.querySelectorAll('[data-testid="timeline-item"]')).some((i) => i.dataset.kind !== 'quote'));
}
