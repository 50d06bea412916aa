// kontor web page – click-to-dial: next to a number, "Anrufen" lets the PBX ring this
// person's phone and then dial the number (POST /api/v1/calls/dial; shown only when
// [cti.dial] names a phone for them). The call then shows in the customer's timeline.

import { api, currentSession, describe, h, offerUndo, phoneLink } from './lib.js';

/** A number as a `tel:` link, with "Anrufen" through the PBX where it is set up. */
export function phoneWithDial(e164, display, customerId, onDialled, testid) {
  const a = phoneLink(e164, display, testid);
  const s = currentSession();
  if (!s || !s.click_to_dial) return a;
  const shown = (display && display[e164]) || e164;
  const button = h(
    'button',
    { type: 'button', class: 'btn btn-small dial', testid: 'dial-button', 'aria-label': shown + ' anrufen' },
    'Anrufen',
  );
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await api('POST', '/api/v1/calls/dial', { number: e164, customer_id: customerId || undefined });
      offerUndo('Ihr Telefon klingelt – danach wird ' + shown + ' gewählt.', null);
      if (onDialled) onDialled();
    } catch (e) {
      offerUndo('Anruf nicht möglich: ' + describe(e), null);
    } finally {
      button.disabled = false;
    }
  });
  return h('span', { class: 'phone-dial' }, a, ' ', button);
}
