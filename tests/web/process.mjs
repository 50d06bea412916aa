// The browser test's steps for a complaint's service process on the customer card (called by
// e2e.mjs with its page and helpers): the steps with due dates and expected cost, a step done
// and taken back, an overdue step, the cost typed the German way, forwarding with a note.
//
// Expects the complaint „Spannzangen beim Auspacken beschädigt" (category lieferung, the demo's
// process of three steps) open on the card and „Teillieferung AB-50001 unvollständig" with its
// first step overdue (tests/web_e2e.rs).

export async function serviceProcess({ page, tid, step, check, text, freshItem, tlItem }) {
  step('Serviceprozess: the new complaint shows its steps with due dates and the expected cost');
  const freshSteps = () => freshItem().getByTestId('complaint-step');
  check((await freshSteps().count()) === 3, 'the three steps of the Lieferung process: ' + (await text(freshItem())));
  const firstStep = await text(freshSteps().first());
  check(/Schaden mit Fotos dokumentieren/.test(firstStep) && /fällig am \d\d\.\d\d\.20\d\d/.test(firstStep) && /offen/.test(firstStep), 'step, due date, status: ' + firstStep);
  check(/Ersatzlieferung versenden.*35,00 €/.test(await text(freshSteps().nth(1))), 'a step\'s expected cost: ' + (await text(freshSteps().nth(1))));
  check((await text(freshItem().getByTestId('complaint-expected-cost'))) === 'Erwartete Kosten 35,00 €', 'the expected cost up front');
  const stepStatus = (n) =>
    page.evaluate((n) => {
      const item = [...document.querySelectorAll('[data-testid="complaint"]')].find((e) => e.textContent.includes('Spannzangen beim Auspacken'));
      const s = item && item.querySelectorAll('[data-testid="complaint-step"]')[n];
      return s ? s.dataset.status : null;
    }, n);

  step('a step marked done from the card; "Rückgängig" opens it again; done for good');
  await freshSteps().first().getByTestId('step-done').click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="complaint"]')].some((e) => e.textContent.includes('Spannzangen beim Auspacken') && e.querySelector('[data-testid="complaint-step"]').dataset.status === 'done'));
  check(/erledigt am \d\d\.\d\d\.20\d\d/.test(await text(freshSteps().first())), 'done, with the day: ' + (await text(freshSteps().first())));
  await tid('undo-button').click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="complaint"]')].some((e) => e.textContent.includes('Spannzangen beim Auspacken') && e.querySelector('[data-testid="complaint-step"]').dataset.status === 'open'));
  await freshSteps().first().getByTestId('step-done').click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="complaint"]')].some((e) => e.textContent.includes('Spannzangen beim Auspacken') && e.querySelector('[data-testid="complaint-step"]').dataset.status === 'done'));
  check((await stepStatus(1)) === 'open', 'the next step is still open');

  step('a step past its due date shows as "überfällig"');
  const lateStep = tid('complaints').getByTestId('complaint').filter({ hasText: 'Teillieferung AB-50001 unvollständig' }).getByTestId('complaint-step').first();
  check((await lateStep.getAttribute('data-status')) === 'overdue', 'overdue step');
  check((await text(lateStep.getByTestId('step-status'))) === 'überfällig', 'in German: ' + (await text(lateStep)));

  step('Kosten erfassen: typed the German way, shown on the complaint');
  await freshItem().getByTestId('complaint-cost-edit').click();
  await freshItem().getByTestId('complaint-cost-input').fill('1.250,50');
  await freshItem().getByTestId('complaint-cost-save').click();
  await freshItem().getByTestId('complaint-cost').filter({ hasText: 'Kosten 1.250,50 €' }).waitFor();

  step('Weiterleiten: to product management with a note; both teams\' lists and the timeline show it');
  await freshItem().getByTestId('complaint-forward').click();
  await freshItem().getByTestId('forward-team').selectOption('produktmanagement');
  await freshItem().getByTestId('forward-note').fill('Bitte Verpackung der Charge prüfen');
  await freshItem().getByTestId('forward-submit').click();
  await freshItem().getByTestId('complaint-forwarded').filter({ hasText: 'Weitergeleitet an produktmanagement' }).waitFor();
  const forwards = await text(freshItem().getByTestId('complaint-forwards'));
  check(/von vertrieb-nord an produktmanagement – Bitte Verpackung der Charge prüfen/.test(forwards), 'who forwarded it to whom, with the note: ' + forwards);
  await tlItem('weitergeleitet an Team produktmanagement').waitFor();
  check(/Bitte Verpackung der Charge prüfen/.test(await text(tlItem('weitergeleitet an Team produktmanagement'))), 'the timeline shows the note');
  const lists = await page.evaluate(async () => {
    const ids = async (q) => (await (await fetch('/api/v1/complaints?' + q, { credentials: 'same-origin' })).json()).map((c) => c.title);
    return { own: await ids('mine=true'), product: await ids('team=produktmanagement') };
  });
  check(lists.own.includes('Spannzangen beim Auspacken beschädigt') && lists.product.includes('Spannzangen beim Auspacken beschädigt'), 'in both teams\' lists: ' + JSON.stringify(lists));
  check(!lists.product.includes('Teillieferung AB-50001 unvollständig'), 'not what was not forwarded: ' + JSON.stringify(lists));
}
