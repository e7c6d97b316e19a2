// admin.js: the admin page. Load a barcode set (a file or pasted lines)
// after a dry-run preview of what it would add, update and reject; withdraw
// an import; look up a ticket with its redemptions and history and cancel,
// invalidate, block, unblock, reissue it, add or remove the events it admits
// to, or annul one of its admissions; keep the providers and events.
// Destructive actions (those that take access away) ask first. The door
// devices are devices.js's.

import {api, start, el, setText, errorText, decodeAnswer, ApiError, confirmDialog, reasonTitle, fmtDateTime, fmtNum,
  isZeroTime, laneName, token} from './common.js';
import {devicesPanel} from './devices.js';

start('/admin', admin);

function admin(session) {
  const $ = (id) => document.getElementById(id);
  let providers = [];
  let events = [];

  // Catalog: providers and events feed the import form too.
  async function loadCatalog() {
    const [pv, ev] = await Promise.all([api('GET', '/v1/providers'), api('GET', '/v1/events')]);
    providers = pv.providers;
    events = ev.events;
    fillSelect($('imp-provider'), providers.map((p) => [p.id, p.name && p.name !== p.id ? `${p.name} (${p.id})` : p.id]),
      providers.length ? null : 'Add a provider first (below)');
    fillSelect($('imp-event'), [['', 'Taken from the file'], ...events.map((e) => [e.id, e.name ? `${e.name} (${e.id})` : e.id])]);
    $('providers').tBodies[0].replaceChildren(...providers.map((p) => el('tr', {dataset: {provider: p.id}},
      el('td', {text: p.id}), el('td', {text: p.name || ''}))));
    $('events').tBodies[0].replaceChildren(...events.map((e) => el('tr', {dataset: {event: e.id}},
      el('td', {text: e.id}), el('td', {text: e.name || ''}), el('td', {text: fmtDateTime(e.opens_at) || '—'}),
      el('td', {text: fmtDateTime(e.closes_at) || '—'}), el('td', {text: e.reentry ? 'yes' : 'no'}),
      el('td', {class: 'num', text: String(e.entries || 1)}),
      el('td', {}, el('button', {type: 'button', class: 'link', text: 'Edit', onclick: () => editEvent(e)})))));
    // The looked-up ticket's "add event" choices follow the catalog.
    if (current) renderTicket(current);
  }

  function fillSelect(sel, options, emptyText) {
    const keep = sel.value;
    if (!options.length && emptyText) {
      sel.replaceChildren(el('option', {value: '', text: emptyText}));
      return;
    }
    sel.replaceChildren(...options.map(([v, t]) => el('option', {value: v, text: t})));
    if (options.some(([v]) => v === keep)) sel.value = keep;
  }

  // ---- Imports ------------------------------------------------------------
  const form = $('import-form');
  const applyBtn = $('imp-apply');
  const previewBtn = $('imp-preview');
  const result = $('imp-result');
  const note = $('imp-note');
  const progress = $('imp-progress');
  let previewed = null; // the inputs of the last successful dry run

  for (const r of document.querySelectorAll('input[name="imp-source"]')) {
    r.addEventListener('change', () => {
      const paste = $('imp-source-paste').checked;
      $('imp-paste-box').hidden = !paste;
      $('imp-file-box').hidden = paste;
      inputsChanged();
    });
  }
  form.addEventListener('input', inputsChanged);
  form.addEventListener('change', inputsChanged);

  function inputs() {
    const paste = $('imp-source-paste').checked;
    const file = $('imp-file').files[0] || null;
    return {
      provider: $('imp-provider').value, event: $('imp-event').value, priceType: $('imp-price').value.trim(),
      format: $('imp-format').value, onError: $('imp-onerror').value, paste,
      text: paste ? $('imp-paste').value : '', file: paste ? null : file,
    };
  }
  function signature(i) {
    const f = i.file ? `${i.file.name}|${i.file.size}|${i.file.lastModified}` : '';
    return JSON.stringify([i.provider, i.event, i.priceType, i.format, i.onError, i.paste, i.text, f]);
  }
  function inputsChanged() {
    if (previewed && previewed !== signature(inputs())) {
      previewed = null;
      applyBtn.disabled = true;
      setText(note, 'The form changed: preview again before applying.');
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    runImport(true);
  });
  applyBtn.addEventListener('click', () => runImport(false));

  async function runImport(dryRun) {
    const i = inputs();
    if (!i.provider) return showImportError('Choose a provider (add one below if there is none).');
    if (i.paste && !i.text.trim()) return showImportError('Paste at least one barcode.');
    if (!i.paste && !i.file) return showImportError('Choose a file to upload.');
    const q = new URLSearchParams({provider: i.provider});
    if (i.event) q.set('event', i.event);
    if (i.priceType) q.set('price_type', i.priceType);
    if (i.paste) q.set('format', i.format || 'lines');
    else if (i.format) q.set('format', i.format);
    q.set('on_error', i.onError);
    q.set('name', i.paste ? 'pasted' : i.file.name);
    if (dryRun) q.set('dry_run', 'true');
    const sig = signature(i);
    previewBtn.disabled = true;
    applyBtn.disabled = true;
    setText(note, dryRun ? 'Checking…' : 'Loading…');
    let res;
    try {
      res = await upload('/v1/imports?' + q.toString(), i.paste ? new Blob([i.text], {type: 'text/plain'}) : i.file);
    } catch (err) {
      previewBtn.disabled = false;
      showImportError(errorText(err), err.body);
      return;
    }
    previewBtn.disabled = false;
    showImportResult(res, dryRun);
    if (dryRun && res.dry_run) {
      previewed = sig;
      applyBtn.disabled = false;
      setText(note, 'Preview done: nothing changed yet. Apply to load it.');
    } else {
      previewed = null;
      setText(note, '');
      loadImports();
    }
  }

  // upload sends an import with XMLHttpRequest, which reports the upload's
  // progress (fetch does not), and resolves to the import result.
  function upload(path, body) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      xhr.setRequestHeader('Authorization', 'Bearer ' + token());
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.setRequestHeader('Accept', 'application/json');
      progress.hidden = false;
      progress.value = 0;
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress.value = (100 * e.loaded) / e.total; };
      xhr.onload = () => {
        progress.hidden = true;
        try {
          resolve(decodeAnswer(xhr.status, xhr.responseText, xhr.getResponseHeader('Content-Type') || ''));
        } catch (e) {
          reject(e);
        }
      };
      xhr.onerror = () => {
        progress.hidden = true;
        reject(new ApiError(0, 'network', 'The appliance does not answer (network down, or it is restarting). Nothing was loaded unless the imports list shows it.'));
      };
      xhr.send(body);
    });
  }

  function showImportError(message, body) {
    setText(note, '');
    result.className = 'result result-bad';
    result.replaceChildren(el('p', {class: 'error', id: 'imp-error', text: message}));
    if (body && body.lines !== undefined) result.append(...summary(body), ...rejectedLines(body));
    if (body && body.error && body.error.code === 'rejected' && $('imp-onerror').value === 'reject') {
      result.append(el('p', {class: 'muted', text: 'Fix the lines listed, or choose “Load the good lines, list the bad ones” and preview again.'}));
    }
  }

  function showImportResult(r, dryRun) {
    result.className = 'result ' + (r.rejected ? 'result-warn' : 'result-ok');
    const head = r.dry_run
      ? `Preview: ${fmtNum(r.lines)} lines read (${r.format}). Nothing has changed yet.`
      : `Loaded as import #${r.id}: ${fmtNum(r.lines)} lines read (${r.format}).`;
    result.replaceChildren(el('p', {id: 'imp-headline', class: 'headline', text: head}), ...summary(r), ...rejectedLines(r));
    result.dataset.dryRun = String(!!r.dry_run);
    result.dataset.applied = String(!!r.applied);
  }

  function summary(r) {
    const item = (name, label, n) => el('div', {class: 'stat stat-' + name},
      el('div', {class: 'stat-value', dataset: {count: name}, text: fmtNum(n)}), el('div', {class: 'stat-label', text: label}));
    return [el('div', {class: 'stats'},
      item('added', 'added', r.added), item('updated', 'updated', r.updated),
      item('unchanged', 'unchanged', r.unchanged), item('rejected', 'rejected', r.rejected))];
  }

  function rejectedLines(r) {
    if (!r.errors || !r.errors.length) return [];
    const more = r.rejected > r.errors.length ? ` (the first ${r.errors.length} of ${fmtNum(r.rejected)})` : '';
    return [el('h3', {text: 'Rejected lines' + more}),
      el('div', {class: 'scroll'}, el('table', {class: 'table', id: 'rejected'},
        el('thead', {}, el('tr', {}, el('th', {class: 'num', text: 'Line'}), el('th', {text: 'Barcode'}),
          el('th', {text: 'Reason'}), el('th', {text: 'Detail'}))),
        el('tbody', {}, ...r.errors.map((e) => el('tr', {},
          el('td', {class: 'num', text: String(e.line)}), el('td', {class: 'mono', text: e.barcode || ''}),
          el('td', {text: e.reason.replace(/_/g, ' ')}), el('td', {text: e.detail || ''}))))))];
  }

  async function loadImports() {
    let recs;
    try {
      recs = (await api('GET', '/v1/imports')).imports;
    } catch (e) {
      $('imports-empty').hidden = false;
      setText($('imports-empty'), errorText(e));
      return;
    }
    $('imports-empty').hidden = recs.length > 0;
    setText($('imports-empty'), 'No import yet.');
    $('imports').tBodies[0].replaceChildren(...recs.map((r) => {
      const withdrawn = !isZeroTime(r.withdrawn_at) && !!r.withdrawn_at;
      return el('tr', {dataset: {import: String(r.id)}, class: withdrawn ? 'withdrawn' : ''},
        el('td', {text: String(r.id)}), el('td', {text: fmtDateTime(r.at)}), el('td', {text: r.provider}),
        el('td', {text: r.event || ''}), el('td', {text: r.source}), el('td', {text: r.format}),
        el('td', {class: 'num', text: fmtNum(r.lines)}), el('td', {class: 'num', text: fmtNum(r.added)}),
        el('td', {class: 'num', text: fmtNum(r.updated)}), el('td', {class: 'num', text: fmtNum(r.unchanged)}),
        el('td', {class: 'num', text: fmtNum(r.rejected)}), el('td', {text: r.by}),
        el('td', {}, withdrawn
          ? el('span', {class: 'muted', text: `withdrawn by ${r.withdrawn_by} (${fmtNum(r.cancelled)} cancelled)`})
          : r.withdraw_pending
            // A withdrawal cut short (the appliance stopped, a disk error):
            // the next start finishes it, or this button does now.
            ? el('span', {}, el('span', {class: 'muted', text: `withdrawal by ${r.withdrawn_by} unfinished ` +
                `(${fmtNum(r.cancelled || 0)} cancelled so far) `}),
              el('button', {type: 'button', class: 'danger small', text: 'Finish withdrawal', onclick: () => withdraw(r)}))
            : el('button', {type: 'button', class: 'danger small', text: 'Withdraw', onclick: () => withdraw(r)})));
    }));
  }

  async function withdraw(r) {
    const ok = await confirmDialog(`Withdraw import #${r.id} (${r.source}, ${fmtNum(r.added)} added)? ` +
      'Its tickets that were never used are cancelled; used ones and every redemption stay. Nothing is deleted.',
    {ok: 'Withdraw', danger: true});
    if (!ok) return;
    try {
      const rec = await api('POST', `/v1/imports/${r.id}/withdraw`);
      setText(note, `Import #${rec.id} withdrawn: ${fmtNum(rec.cancelled)} tickets cancelled.`);
    } catch (e) {
      setText(note, errorText(e));
    }
    loadImports();
  }

  // ---- Tickets ------------------------------------------------------------
  const ticketMsg = $('ticket-message');
  const view = $('ticket-view');
  let current = null;
  $('ticket-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const b = $('ticket-barcode').value.replace(/^\s+|\s+$/g, '');
    if (b) lookup(b);
  });

  async function lookup(barcode, message) {
    ticketMsg.className = 'message';
    setText(ticketMsg, message || '');
    try {
      current = await api('GET', '/v1/tickets/' + encodeURIComponent(barcode));
    } catch (e) {
      current = null;
      view.replaceChildren();
      ticketMsg.className = 'message error';
      setText(ticketMsg, e.status === 404 ? `No ticket has the barcode “${barcode}”.` : errorText(e));
      return;
    }
    $('ticket-barcode').value = barcode;
    renderTicket(current);
  }

  function renderTicket(t) {
    const field = (label, value) => value ? [el('dt', {text: label}), el('dd', {text: value})] : [];
    const link = (label, barcode) => barcode ? [el('dt', {text: label}),
      el('dd', {}, el('button', {type: 'button', class: 'link mono', text: barcode, onclick: () => lookup(barcode)}))] : [];
    const period = t.period && !isZeroTime(t.period.from) ? `${fmtDateTime(t.period.from)} – ${fmtDateTime(t.period.until)}` : '';
    const actions = el('div', {class: 'actions ticket-actions'});
    const act = (id, label, danger, fn) => actions.append(el('button', {type: 'button', id, class: danger ? 'danger' : '', text: label,
      onclick: fn}));
    const s = t.state;
    if (s !== 'revoked') {
      if (s === 'valid' || s === 'blocked') act('act-cancel', 'Cancel', true, () => change('cancel', t,
        `Cancel ticket ${t.barcode}? It will be refused at every lane (a refund). This cannot be undone here.`));
      if (s === 'valid' || s === 'blocked') act('act-invalidate', 'Invalidate', true, () => change('invalidate', t,
        `Invalidate ticket ${t.barcode}? It will be refused at every lane. This cannot be undone here.`));
      if (s === 'valid') act('act-block', 'Block', true, () => change('block', t,
        `Block ticket ${t.barcode}? It will be refused until someone unblocks it.`));
      if (s === 'blocked') act('act-unblock', 'Unblock', false, () => change('unblock', t, null));
      act('act-reissue', 'Reissue…', true, () => reissue(t));
    }
    const redemptions = t.redemptions || [];
    const history = t.history || [];
    view.replaceChildren(
      el('div', {class: 'ticket-head'},
        el('span', {class: 'mono ticket-barcode', text: t.barcode}),
        el('span', {class: 'badge state-' + s, id: 'ticket-state', text: s})),
      el('dl', {class: 'fields'},
        ...field('Provider', t.provider),
        ...field('Period pass', period),
        ...field('Price type', t.price_type ? (t.price_type.name ? `${t.price_type.name} (${t.price_type.code})` : t.price_type.code) : ''),
        ...field('Product', t.product && t.product.code ? (t.product.name ? `${t.product.name} (${t.product.code})` : t.product.code) : ''),
        ...field('Holder', t.holder), ...field('Order', t.order), ...field('Contact', t.contact), ...field('Price', t.price),
        ...field('Valid on', fmtDateTime(t.validity_at)), ...field('Ordered', fmtDateTime(t.ordered_at)),
        ...field('Used upstream', t.used_upstream ? 'yes: the ticketing system reports it already controlled' : ''),
        ...link('Replaced by', t.replaced_by), ...link('Replaces', t.replaces),
        ...field('Import', t.import_id ? '#' + t.import_id : '')),
      actions,
      el('h3', {text: 'Events'}),
      ...eventsSection(t, period),
      el('h3', {text: 'Redemptions'}),
      redemptions.length ? el('div', {class: 'scroll'}, el('table', {class: 'table', id: 'redemptions'},
        el('thead', {}, el('tr', {}, ...['Event', 'Entries', 'Re-entries', 'Exits', 'Inside', 'First entry', 'Last movement']
          .map((h, i) => el('th', {class: i >= 1 && i <= 3 ? 'num' : '', text: h})))),
        el('tbody', {}, ...redemptions.map((r) => el('tr', {dataset: {event: r.event}},
          el('td', {text: r.event}), el('td', {class: 'num', text: String(r.admissions)}),
          el('td', {class: 'num', text: String(r.reentries)}), el('td', {class: 'num', text: String(r.exits)}),
          el('td', {text: r.inside ? 'yes' : 'no'}), el('td', {text: movement(r.first)}), el('td', {text: movement(r.last)}))))))
        : el('p', {class: 'empty', text: 'Never used.'}),
      el('h3', {text: 'History'}),
      history.length ? el('div', {class: 'scroll'}, el('table', {class: 'table', id: 'history'},
        el('thead', {}, el('tr', {}, ...['#', 'When', 'What', 'Lane', 'Way', 'By', ''].map((h) => el('th', {text: h})))),
        el('tbody', {}, ...history.map(historyRow))))
        : el('p', {class: 'empty', text: 'No scan recorded.'}));
  }

  // eventName is an event's name and id from the catalog.
  function eventName(id) {
    const e = events.find((x) => x.id === id);
    if (!e) return `${id} (not in the catalog)`;
    return e.name ? `${e.name} (${id})` : id;
  }

  // eventsSection lists the events the ticket admits to, each removable,
  // and offers the catalog's other events to add. A revoked ticket is
  // changed through its new barcode, so it only lists them.
  function eventsSection(t, period) {
    const mine = t.events || [];
    const editable = t.state !== 'revoked';
    // The index refuses a change that leaves a ticket with no event; a
    // period pass admits to its period's events without naming them.
    const onlyOne = mine.length === 1 && !period;
    const list = mine.length
      ? el('ul', {class: 'ticket-events', id: 'ticket-events'}, ...mine.map((id) => el('li', {dataset: {event: id}},
        el('span', {class: 'ticket-event', text: eventName(id)}),
        editable && !onlyOne ? el('button', {type: 'button', class: 'danger small', text: 'Remove', dataset: {removeEvent: id},
          'aria-label': `Remove ${eventName(id)}`, onclick: () => removeEvent(t, id)}) : null)))
      : el('p', {class: 'empty', id: 'ticket-events', text: period
        ? 'None by name: the period pass admits to every event in its period.' : 'None: this ticket admits to no event.'});
    const out = [list];
    if (!editable) return out;
    if (onlyOne) out.push(el('p', {class: 'muted', text: 'This is the ticket’s only event: add the right one before removing it.'}));
    const others = events.filter((e) => !mine.includes(e.id));
    if (!others.length) {
      out.push(el('p', {class: 'muted', id: 'add-event-none', text: events.length
        ? 'The ticket already admits to every event in the catalog.' : 'The catalog has no event yet (add one below).'}));
      return out;
    }
    const sel = el('select', {id: 'add-event', 'aria-label': 'Event to add'},
      ...others.map((e) => el('option', {value: e.id, text: eventName(e.id)})));
    out.push(el('form', {class: 'inline-form add-event', id: 'add-event-form', onsubmit: (ev) => {
      ev.preventDefault();
      addEvent(t, sel.value);
    }}, sel, el('button', {type: 'submit', id: 'act-add-event', text: 'Add event'})));
    return out;
  }

  async function addEvent(t, id) {
    if (!id) return;
    await changeEvents(t, {add: [id]}, `Added ${eventName(id)}: the ticket admits to it from now on, while it is open.`);
  }

  async function removeEvent(t, id) {
    if (!(await confirmDialog(`Remove ${eventName(id)} from ticket ${t.barcode}? It will be refused at that event’s lanes ` +
      '(its entries so far stay recorded).', {ok: 'Remove', danger: true}))) return;
    await changeEvents(t, {remove: [id]}, `Removed ${eventName(id)}: the ticket no longer admits to it.`);
  }

  // changeEvents applies the change and shows the ticket as it is now.
  async function changeEvents(t, body, done) {
    try {
      await api('POST', `/v1/tickets/${encodeURIComponent(t.barcode)}/events`, {body});
      await lookup(t.barcode, done);
    } catch (e) {
      // A refusal may come from a change made elsewhere meanwhile: show
      // the ticket as it is now, with the refusal in words.
      if (e.status === 400 || e.status === 409) await lookup(t.barcode);
      ticketMsg.className = 'message error';
      setText(ticketMsg, errorText(e));
    }
  }

  function movement(m) {
    if (!m || (!m.lane && isZeroTime(m.at))) return '';
    return `${fmtDateTime(m.at) || 'before'} · ${laneName(session, m.lane)}`;
  }

  function historyRow(h) {
    const d = h.decision || {};
    let what = h.kind === 'annulment' ? `Annulled admission #${d.seq}` : `${d.admit ? 'Admitted' : 'Refused'}: ${reasonTitle(d.reason)}`;
    if (h.annulled) what += ` (annulled by #${h.annulled})`;
    const canAnnul = h.kind === 'decision' && d.admit && d.reason !== 'exit' && !h.annulled;
    return el('tr', {dataset: {seq: String(h.seq)}, class: h.kind === 'annulment' || h.annulled ? 'muted' : (d.admit ? 'ok' : 'bad')},
      el('td', {text: String(h.seq)}), el('td', {text: fmtDateTime(d.at)}), el('td', {text: what}),
      el('td', {text: d.lane ? laneName(session, d.lane) : ''}), el('td', {text: d.direction || ''}),
      el('td', {text: h.by || h.source || ''}),
      el('td', {}, canAnnul ? el('button', {type: 'button', class: 'danger small', text: 'Annul', dataset: {annul: String(h.seq)},
        onclick: () => annul(h)}) : null));
  }

  async function change(action, t, question) {
    if (question && !(await confirmDialog(question, {ok: action[0].toUpperCase() + action.slice(1), danger: true}))) return;
    try {
      const nt = await api('POST', `/v1/tickets/${encodeURIComponent(t.barcode)}/${action}`);
      await lookup(t.barcode, `Done: the ticket is now ${nt.state}.`);
    } catch (e) {
      ticketMsg.className = 'message error';
      setText(ticketMsg, errorText(e));
    }
  }

  async function reissue(t) {
    const answer = await confirmDialog(`Reissue ${t.barcode}: the old barcode will be refused (replaced) and the new one ` +
      'inherits the ticket and its entries, so a reprint never buys a second entry.', {ok: 'Reissue', danger: true,
      input: 'New barcode'});
    const nb = (answer || '').replace(/^\s+|\s+$/g, '');
    if (!nb) return;
    try {
      await api('POST', `/v1/tickets/${encodeURIComponent(t.barcode)}/reissue`, {body: {barcode: nb}});
      await lookup(nb, `Reissued: ${t.barcode} is replaced by ${nb}.`);
    } catch (e) {
      ticketMsg.className = 'message error';
      setText(ticketMsg, errorText(e));
    }
  }

  async function annul(h) {
    const d = h.decision;
    if (!(await confirmDialog(`Annul admission #${h.seq} (${fmtDateTime(d.at)} at ${laneName(session, d.lane)})? ` +
      'Use this when the person did not go through: the entry is given back and the ticket can be used again.',
    {ok: 'Annul', danger: true}))) return;
    try {
      await api('POST', `/v1/scans/${h.seq}/annul`);
      await lookup(current.barcode, `Admission #${h.seq} annulled: the ticket can be used again.`);
    } catch (e) {
      ticketMsg.className = 'message error';
      setText(ticketMsg, errorText(e));
    }
  }

  // ---- Providers and events ------------------------------------------------
  $('provider-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const msg = $('provider-message');
    const id = $('prov-id').value.trim();
    try {
      await api('PUT', '/v1/providers/' + encodeURIComponent(id), {body: {name: $('prov-name').value.trim()}});
      msg.className = 'message ok';
      setText(msg, `Provider ${id} saved.`);
      await loadCatalog();
    } catch (ex) {
      msg.className = 'message error';
      setText(msg, errorText(ex));
    }
  });

  function editEvent(e) {
    $('ev-id').value = e.id;
    $('ev-name').value = e.name || '';
    $('ev-opens').value = toLocalInput(e.opens_at);
    $('ev-closes').value = toLocalInput(e.closes_at);
    $('ev-entries').value = String(e.entries || 1);
    $('ev-reentry').checked = !!e.reentry;
    $('ev-id').focus();
  }

  $('event-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const msg = $('event-message');
    const id = $('ev-id').value.trim();
    const body = {name: $('ev-name').value.trim(), reentry: $('ev-reentry').checked,
      entries: Number($('ev-entries').value) || 1};
    const opens = $('ev-opens').value;
    const closes = $('ev-closes').value;
    if (opens) body.opens_at = new Date(opens).toISOString();
    if (closes) body.closes_at = new Date(closes).toISOString();
    try {
      await api('PUT', '/v1/events/' + encodeURIComponent(id), {body});
      msg.className = 'message ok';
      setText(msg, `Event ${id} saved.`);
      await loadCatalog();
    } catch (ex) {
      msg.className = 'message error';
      setText(msg, errorText(ex));
    }
  });

  loadCatalog().catch((e) => showImportError(errorText(e)));
  loadImports();
  devicesPanel(session);
  const want = new URLSearchParams(location.search).get('ticket');
  if (want) lookup(want);
}

// toLocalInput turns an RFC 3339 time into a datetime-local value.
function toLocalInput(iso) {
  if (isZeroTime(iso)) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
