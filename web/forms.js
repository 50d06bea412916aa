// kontor web page – the forms on the customer card: contact, reminder, complaint.

import {
  ACTIVITY_KINDS, ApiError, CATEGORIES, CATEGORY_LABELS, COMPLAINT_STATUS, SIMILAR_WHY, addDays,
  api, describe, fmtDate, fmtDateTime, fmtDayDate, fmtMoney, h, inlineError, inlineOk, keepDraft, link, localToday, offerUndo, percent,
} from './lib.js';
import { loadTimeline, reloadCard } from './card.js';

// ---------------------------------------------------------------- forms

function field(label, control, hint) {
  return h('label', { class: 'form-field' }, h('span', { class: 'form-label' }, label), control, hint ? h('small', { class: 'muted' }, hint) : null);
}

function select(testid, options, value) {
  return h('select', { testid: testid, value: value }, options.map(([v, l]) => h('option', { value: v }, l)));
}

export function actionsPanel(card) {
  // [key, label, form, keyboard shortcut (app.js)]
  const tabs = [
    ['activity', 'Kontakt erfassen', activityForm(card), 'k'],
    ['reminder', 'Wiedervorlage anlegen', reminderForm(card), 'w'],
    ['complaint', 'Reklamation erfassen', complaintForm(card), 'r'],
  ];
  const buttons = tabs.map(([key, label, , shortcut]) =>
    h(
      'button',
      {
        type: 'button',
        role: 'tab',
        class: 'tab',
        id: 'tab-' + key,
        'aria-controls': 'pane-' + key,
        testid: 'tab-' + key,
        'aria-keyshortcuts': shortcut.toUpperCase(),
        'data-shortcut': shortcut,
        title: 'Taste ' + shortcut.toUpperCase(),
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
  const draft = keepDraft('activity:' + card.id, { kind, direction, subject, text }, ['subject', 'text']);
  if (draft.restored) inlineOk(msg, 'Entwurf wiederhergestellt – noch nicht gespeichert.');
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
      draft.clear();
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
  const today = card.view.as_of || localToday();
  const due = h('input', { type: 'date', required: true, testid: 'reminder-due-input', value: addDays(today, 1) });
  const dueText = h('small', { class: 'muted', testid: 'reminder-due-text', 'aria-live': 'polite' });
  const showDue = () => {
    const past = due.value && due.value < today;
    dueText.className = past ? 'warn-text' : 'muted';
    dueText.textContent = due.value ? fmtDayDate(due.value) + (past ? ' – liegt in der Vergangenheit!' : '') : '';
  };
  const quick = [
    ['morgen', 1],
    ['nächste Woche', 7],
    ['in 2 Wochen', 14],
  ].map(([label, days]) =>
    h('button', { type: 'button', class: 'chip-toggle', testid: 'reminder-quick', onclick: () => {
      due.value = addDays(today, days);
      due.dispatchEvent(new Event('change'));
    } }, label),
  );
  due.addEventListener('input', showDue);
  due.addEventListener('change', showDue);
  const msg = h('p', { class: 'form-message', testid: 'reminder-message', role: 'status' });
  const form = h(
    'form',
    { class: 'form', testid: 'form-reminder' },
    field('Titel', title),
    field('Fällig am', due, null),
    h('div', { class: 'chips' }, quick),
    dueText,
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'reminder-submit' }, 'Wiedervorlage anlegen'),
    msg,
  );
  const draft = keepDraft('reminder:' + card.id, { title, due }, ['title']);
  if (draft.restored) inlineOk(msg, 'Entwurf wiederhergestellt – noch nicht gespeichert.');
  showDue();
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
      draft.clear();
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

export function fillDatalists(card) {
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
  const draft = keepDraft('complaint:' + card.id, { category, title, text, invoice, order, sku }, ['title', 'text']);
  if (draft.restored) inlineOk(msg, 'Entwurf wiederhergestellt – noch nicht gespeichert.');
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
      const steps = (t.steps || []).length;
      const process = steps
        ? ' Serviceprozess: ' + steps + (steps === 1 ? ' Schritt' : ' Schritte') + ', der erste fällig am ' + fmtDate(t.steps[0].due) +
          (t.expected_cost ? ', erwartete Kosten ' + fmtMoney({ amount: t.expected_cost, currency: 'EUR' }) : '') + '.'
        : '';
      inlineOk(msg, 'Reklamation „' + t.title + '“ erfasst' + (t.deadline ? ', Frist bis ' + fmtDateTime(t.deadline) : '') + '.' + process);
      result.replaceChildren(h('h3', { testid: 'similar-cases' }, 'Ähnliche Fälle'), similarList(res.similar || [], card.id));
      for (const el of [title, text, invoice, order, sku]) el.value = '';
      draft.clear();
      reloadCard(card);
    } catch (err) {
      inlineError(msg, err);
    } finally {
      submitting(form, false);
    }
  });
  return form;
}

// ---------------------------------------------------------------- own contacts

/**
 * "Bearbeiten" and "Löschen" on a contact this person recorded (the server allows it for a
 * day); both can be taken back for ten seconds.
 */
export function ownContactActions(card, item) {
  const own = item.own;
  const box = h('span', { class: 'own-actions', testid: 'own-contact' });
  const edit = h('button', { type: 'button', class: 'btn btn-small', testid: 'contact-edit' }, 'Bearbeiten');
  const del = h('button', { type: 'button', class: 'btn btn-small', testid: 'contact-delete' }, 'Löschen');
  const path = '/api/v1/activities/' + own.id;
  const before = { subject: own.subject || '', text: own.text || '' };
  edit.addEventListener('click', () => {
    const subject = h('input', { type: 'text', testid: 'contact-edit-subject', maxlength: '200', value: before.subject, 'aria-label': 'Betreff' });
    const text = h('textarea', { testid: 'contact-edit-text', rows: '3', 'aria-label': 'Notiz' }, before.text);
    const msg = h('p', { class: 'form-message', role: 'status' });
    const cancel = h('button', { type: 'button', class: 'btn', onclick: () => box.replaceChildren(edit, ' ', del) }, 'Abbrechen');
    const form = h(
      'form',
      { class: 'form form-inline-edit', testid: 'contact-edit-form' },
      subject,
      text,
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'contact-edit-save' }, 'Speichern'),
      ' ',
      cancel,
      msg,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      submitting(form, true);
      try {
        await api('PATCH', path, { subject: subject.value.trim(), text: text.value.trim() });
        offerUndo('Kontakt geändert.', async () => {
          await api('PATCH', path, before);
          loadTimeline(card, true);
        });
        loadTimeline(card, true);
      } catch (err) {
        inlineError(msg, err);
        submitting(form, false);
      }
    });
    box.replaceChildren(form);
    subject.focus();
  });
  del.addEventListener('click', async () => {
    del.disabled = true;
    try {
      await api('DELETE', path);
      offerUndo('Kontakt gelöscht.', async () => {
        await api('POST', '/api/v1/customers/' + card.id + '/activities', {
          kind: item.kind,
          direction: own.direction || undefined,
          at: item.at,
          subject: own.subject || undefined,
          text: own.text || undefined,
        });
        loadTimeline(card, true);
      });
      loadTimeline(card, true);
    } catch (err) {
      del.disabled = false;
      offerUndo(describe(err), null);
    }
  });
  box.append(edit, ' ', del);
  return box;
}
