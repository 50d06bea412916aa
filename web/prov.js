// kontor web page – provenance ("Herkunft"): what people call each source, where a record is
// in it, and the switch that shows it (the card shows no system, connector or URL without it).

import { fmtDateTime, fmtValue, h } from './lib.js';

let sourceLabels = {};

/** What people call each source of the current view (connector → label). */
export function setSourceLabels(labels) {
  sourceLabels = Object.assign({}, sourceLabels, labels || {});
}

export function sourceName(connector) {
  return sourceLabels[connector] || connector;
}

/** Where a record is in its source, for people: a file and line, or the record's number. */
function humanPosition(source) {
  const p = String(source.position || '');
  if (p && !/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) {
    // `file:line`, or `file:line:column` (XML)
    const m = /^(.*?):(\d+)(?::\d+)?$/.exec(p);
    const file = (m ? m[1] : p).split(/[\\/]/).pop();
    if (m) return 'Datei ' + file + ', Zeile ' + m[2];
    if (/\.[a-z0-9]{2,4}$/i.test(file)) return 'Datei ' + file;
  }
  return source.external_id ? 'Datensatz ' + source.external_id : '';
}

/** A source as people read it: `Warenwirtschaft, Datei op.csv, Zeile 12` — never a URL. */
export function where(source) {
  if (!source) return '';
  const pos = humanPosition(source);
  return sourceName(source.connector) + (pos ? ', ' + pos : '');
}

/** Text that is shown only while "Herkunft" is switched on. */
export function provNote(text, testid) {
  if (!text) return null;
  return h('small', { class: 'prov-only prov-note block', testid: testid || 'prov-note' }, text);
}

const PROV_KEY = 'kontor-herkunft';

function applyProvenance(on) {
  document.body.classList.toggle('show-prov', on);
  const b = document.getElementById('prov-toggle');
  if (b) b.setAttribute('aria-pressed', String(on));
}

{
  let on = false;
  try {
    on = localStorage.getItem(PROV_KEY) === '1';
  } catch (_) {}
  applyProvenance(on);
  const b = document.getElementById('prov-toggle');
  if (b) {
    b.addEventListener('click', () => {
      const now = !document.body.classList.contains('show-prov');
      applyProvenance(now);
      try {
        localStorage.setItem(PROV_KEY, now ? '1' : '0');
      } catch (_) {}
    });
  }
}

/** Where a value comes from, as of when, what other sources say. */
export function provenance(source, syncedAt, others, key) {
  let t = 'Quelle: ' + where(source);
  if (syncedAt) t += ', Stand ' + fmtDateTime(syncedAt);
  if (others && others.length) {
    t += '\nAndere Werte: ' + others.map((o) => fmtValue(key, o.value) + ' (' + sourceName(o.source.connector) + ', Stand ' + fmtDateTime(o.synced_at) + ')').join('; ');
  }
  return t;
}

export function docSource(doc) {
  let t = 'Quelle: ' + where(doc.source);
  if (doc.also_in && doc.also_in.length) t += '\nAuch in: ' + doc.also_in.map(where).join('; ');
  return t;
}
