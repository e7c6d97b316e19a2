// operator.js: the live operator page. It polls the API (reports and lanes
// every 2 s, the catalog and imports every 15 s) and updates the page in
// place, element by element, so nothing flickers; when the appliance stops
// answering (a restart) the last figures stay up, marked stale, until it
// answers again. A strip at the top sums the lanes up ("3 of 4 lanes OK ·
// 1 faulted: North 1 relay"); a lane is judged by what it has by design,
// so a door whose scans come over the API is not missing a scanner. Zones
// show their occupancy against their capacity with the last hours drawn
// small, and each event card lists the overrides: who let whom through,
// and why. On an appliance of a venue a venue strip shows every appliance
// up or down, this one's offline admissions waiting for the hub, the double
// entries and how old its copy of the venue's data is; each lane says what
// the venue does to it (online, offline, stale data, catching up).

import {api, start, el, setText, errorText, reasonTitle, fmtTime, fmtShortTime, fmtDateTime, fmtAgo, fmtNum, isZeroTime, Poller,
  confirmDialog, decisionWords, eventName, priceParts} from './common.js';

const FAST_MS = 2000;
const SLOW_MS = 15000;
const CHART_W = 720;
const CHART_H = 200;

start('/', operator);

function operator(session) {
  const $ = (id) => document.getElementById(id);
  const st = {
    events: [], providers: [], imports: [], lanes: [], zones: [], reports: new Map(),
    selected: null, hours: Number(localStorage.getItem('admit.operator.hours')) || 3,
    lastOK: 0, catalogLoaded: false,
  };
  try {
    const saved = JSON.parse(localStorage.getItem('admit.operator.events') || 'null');
    if (Array.isArray(saved)) st.selected = new Set(saved);
  } catch (e) { /* a bad saved value: use the default selection */ }

  // Chart range.
  const range = $('range');
  const showRange = () => {
    for (const b of range.querySelectorAll('button')) b.setAttribute('aria-pressed', String(Number(b.dataset.hours) === st.hours));
  };
  range.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    st.hours = Number(b.dataset.hours);
    localStorage.setItem('admit.operator.hours', String(st.hours));
    showRange();
    renderCards();
  });
  showRange();

  // The live indicator.
  const live = $('live');
  const liveText = $('live-text');
  function showLive(err) {
    if (!err) {
      live.className = 'live live-ok';
      setText(liveText, `Live · ${fmtTime(new Date().toISOString())}`);
      document.body.classList.remove('stale');
      return;
    }
    if (err.status === 401) {
      location.reload(); // the token was withdrawn: sign in again
      return;
    }
    live.className = 'live live-down';
    const since = st.lastOK ? ` Showing figures from ${fmtTime(new Date(st.lastOK).toISOString())}.` : '';
    setText(liveText, `${errorText(err)}${since} Retrying…`);
    document.body.classList.add('stale');
  }

  async function loadCatalog() {
    const [ev, pv, im] = await Promise.all([
      api('GET', '/v1/events'), api('GET', '/v1/providers'), api('GET', '/v1/imports')]);
    st.events = ev.events.slice().sort(eventOrder);
    st.providers = pv.providers;
    st.imports = im.imports;
    if (!st.selected || ![...st.selected].some((id) => st.events.some((e) => e.id === id))) {
      st.selected = new Set(defaultEvents(st.events));
    }
    st.catalogLoaded = true;
    renderPicker();
    renderProviders();
  }

  async function loadLive() {
    if (!st.catalogLoaded) await loadCatalog();
    const ids = st.events.filter((e) => st.selected.has(e.id)).map((e) => e.id);
    const [lanes, emergency, zones, venue, ...reports] = await Promise.all([
      api('GET', '/v1/lanes'),
      api('GET', '/v1/emergency'),
      api('GET', '/v1/zones?series=1'),
      session.venue ? api('GET', '/v1/venue') : Promise.resolve(null),
      ...ids.map((id) => api('GET', '/v1/report?event=' + encodeURIComponent(id))),
    ]);
    st.venue = venue;
    st.lanes = lanes.lanes;
    st.zones = zones.zones || [];
    st.emergency = emergency;
    st.reports = new Map(ids.map((id, i) => [id, reports[i]]));
    st.lastOK = Date.now();
    renderCards();
    renderZones();
    renderLanes();
    renderProviders();
    renderEmergency();
    renderStrip();
    renderVenue();
  }

  // The venue strip: each appliance up or down, what this one holds for
  // the hub, the double entries, and the age of its data.
  function renderVenue() {
    const v = st.venue;
    const box = $('venue');
    box.hidden = !v;
    if (!v) return;
    const link = v.link || {};
    const hub = v.hub || {};
    const reachable = !!link.hub_reachable;
    box.dataset.reachable = String(reachable);
    const hubEl = $('venue-hub');
    if (reachable) {
      setText(hubEl, `· hub reachable${hub.leader ? ` (leader ${hub.leader})` : ''}`);
    } else {
      const why = link.refused || link.last_error || `the link is ${link.state || 'down'}`;
      setText(hubEl, `· hub not reachable: ${why}`);
    }
    hubEl.className = reachable ? 'ok' : 'bad';
    keyed($('venue-appliances'), v.appliances || [], (a) => a.id, () => el('li', {class: 'venue-appliance'},
      el('span', {class: 'dot'}), el('span', {class: 'va-name'}), el('span', {class: 'va-note muted'})), (li, a) => {
      li.dataset.appliance = a.id;
      li.dataset.up = String(!!a.up);
      li.className = 'venue-appliance ' + (a.up ? 'up' : 'down') + (a.this ? ' this' : '');
      setText(li.querySelector('.va-name'), a.this ? `${a.id} (this one)` : a.id);
      const note = a.up ? 'up' : isZeroTime(a.last_heard) ? 'down' : `down · last heard ${fmtAgo(a.last_heard)}`;
      setText(li.querySelector('.va-note'), a.stale ? `${note}, as the hub last said` : note);
    });
    const waiting = (v.offline && v.offline.waiting) || 0;
    const off = $('venue-offline');
    setText(off, waiting ? `${fmtNum(waiting)} offline ${waiting === 1 ? 'admission' : 'admissions'} waiting for the hub`
      : 'No offline admission waiting');
    off.className = waiting ? 'warn' : '';
    box.dataset.waiting = String(waiting);
    const doubles = (v.double_entries && v.double_entries.total) || 0;
    const de = $('venue-doubles');
    setText(de, doubles ? `${fmtNum(doubles)} double ${doubles === 1 ? 'entry' : 'entries'} in the venue` : 'No double entry');
    de.className = doubles ? 'bad' : '';
    box.dataset.doubles = String(doubles);
    const ch = v.changes || {};
    const age = ch.data_age_seconds || 0;
    const ageEl = $('venue-age');
    setText(ageEl, `Venue data ${ageWords(age)} old`);
    ageEl.className = age > 300 ? 'bad' : age > 30 ? 'warn' : '';
    box.dataset.age = String(Math.round(age));
    const chEl = $('venue-changes');
    const failing = (v.redemptions && v.redemptions.failing) || '';
    chEl.hidden = !(ch.stopped || ch.state === 'catching_up' || failing);
    if (failing) {
      setText(chEl, `Failing closed: ${failing}`);
    } else if (ch.stopped) {
      setText(chEl, `Changes stopped at ${ch.stopped.position}: ${ch.stopped.error}`);
    } else if (ch.state === 'catching_up') {
      setText(chEl, ch.catch_up || 'Catching up with the venue');
    }
    chEl.className = failing || ch.stopped ? 'bad' : 'warn';
    const down = (v.appliances || []).some((a) => !a.up);
    const bad = !reachable || doubles > 0 || failing || ch.stopped;
    box.className = 'venue-strip ' + (bad ? 'venue-bad' : down || waiting || ch.state === 'catching_up' ? 'venue-warn' : 'venue-ok');
  }
  const ageWords = (s) => (s < 90 ? `${Math.max(0, Math.round(s))} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`);

  // Zones: occupancy against capacity, pending admissions, the last
  // emptying, and the occupancy of the last hours as a small line.
  function renderZones() {
    $('zones-panel').hidden = st.zones.length === 0;
    keyed($('zones'), st.zones, (z) => z.id, () => {
      const fill = el('span', {class: 'meter-fill'});
      const n = el('article', {class: 'card zone'},
        el('header', {class: 'card-head'}, el('h3', {class: 'zone-name'}), el('span', {class: 'badge zone-state'})),
        el('div', {class: 'zone-count'}), el('span', {class: 'meter'}, fill),
        el('p', {class: 'zone-note muted'}), el('div', {class: 'zone-series'}));
      n._fill = fill;
      return n;
    }, (n, z) => {
      const q = (s) => n.querySelector(s);
      n.dataset.zone = z.id;
      n.dataset.occupancy = String(z.occupancy);
      n.classList.toggle('zone-full', !!z.full);
      setText(q('.zone-name'), z.name || z.id);
      const state = q('.zone-state');
      setText(state, z.full ? 'full' : 'open');
      state.className = 'badge zone-state ' + (z.full ? 'state-faulted' : 'state-idle');
      setText(q('.zone-count'), z.capacity ? `${fmtNum(z.occupancy)} / ${fmtNum(z.capacity)}` : fmtNum(z.occupancy));
      n._fill.style.width = z.capacity ? `${Math.min(100, (100 * z.occupancy) / z.capacity)}%` : '0';
      const notes = [z.capacity ? `${fmtNum(Math.max(0, z.capacity - z.occupancy - (z.pending || 0)))} places free` : 'no capacity set'];
      if (z.pending) notes.push(`${fmtNum(z.pending)} being admitted`);
      if (z.no_passback) notes.push('no passback');
      if (z.exit_all_at) notes.push(`emptied daily at ${z.exit_all_at}`);
      setText(q('.zone-note'), notes.join(' · '));
      q('.zone-series').replaceChildren(sparkline(z.series || [], z.capacity, st.hours));
    });
  }

  // The status strip: how many lanes are fine, and what is wrong with the
  // others, by lane.
  function renderStrip() {
    const strip = $('strip');
    strip.hidden = st.lanes.length === 0;
    if (strip.hidden) return;
    const groups = {faulted: [], relay: [], scanner: [], emergency: []};
    let ok = 0;
    for (const l of st.lanes) {
      const ps = laneProblems(l);
      if (!ps.length) ok++;
      for (const p of ps) groups[p.kind].push(p.kind === 'faulted' ? `${laneLabel(l)} ${p.part}` : laneLabel(l));
    }
    const n = st.lanes.length;
    const parts = [n === 1 ? (ok ? 'The lane is OK' : 'The lane is not OK') : `${ok} of ${n} lanes OK`];
    const group = (list, words) => { if (list.length) parts.push(`${list.length} ${words}: ${list.join(', ')}`); };
    group(groups.faulted, 'faulted');
    group(groups.relay, list1(groups.relay, 'relay not answering', 'relays not answering'));
    group(groups.scanner, list1(groups.scanner, 'scanner disconnected', 'scanners disconnected'));
    group(groups.emergency, 'under the emergency release');
    setText($('strip-text'), parts.join(' · '));
    const bad = groups.faulted.length || groups.emergency.length;
    strip.className = 'strip ' + (ok === n ? 'strip-ok' : bad ? 'strip-bad' : 'strip-warn');
    strip.dataset.ok = String(ok);
    strip.dataset.lanes = String(n);
  }
  const list1 = (list, one, many) => (list.length === 1 ? one : many);

  // The emergency release of the turnstile lanes: its state for everyone,
  // release and clear for an admin, each after a confirmation.
  const isAdmin = session.role === 'admin';
  function renderEmergency() {
    const e = st.emergency;
    const box = $('emergency');
    box.hidden = !e || (!e.active && !(e.lanes || []).length);
    if (box.hidden) return;
    box.classList.toggle('emergency-active', !!e.active);
    box.dataset.active = String(!!e.active);
    if (e.active) {
      setText($('emergency-title'), 'EMERGENCY RELEASE ACTIVE.');
      setText($('emergency-detail'), `Since ${fmtTime(e.since)} (${fmtAgo(e.since)}), by ${e.by}.` +
        (e.input_active ? ' An emergency input is still on: reset it before clearing.' : '') +
        (e.input_fault ? ` Input fault: ${e.input_fault}.` : ''));
    } else {
      setText($('emergency-title'), 'Emergency release: off.');
      setText($('emergency-detail'), e.input_fault ? `Input fault: ${e.input_fault}.` : '');
    }
    // Per turnstile lane, apart: what the release does there (its mode)
    // and the state the lane is in now.
    keyed($('emergency-lanes'), e.lanes || [], (l) => l.id, () => el('li', {},
      el('strong', {class: 'em-lane'}), ' ', el('span', {class: 'em-mode'}), ' ', el('span', {class: 'em-state'})), (li, l) => {
      li.dataset.lane = l.id;
      li.dataset.mode = l.mode;
      li.dataset.state = l.state;
      const lane = st.lanes.find((x) => x.id === l.id);
      setText(li.querySelector('.em-lane'), lane ? laneLabel(lane) : l.id);
      setText(li.querySelector('.em-mode'), l.mode === 'hold'
        ? `mode: hold — ${e.active ? 'kept locked' : 'stays locked when released'}`
        : `mode: open — ${e.active ? 'held unlocked' : 'unlocks when released'}`);
      setText(li.querySelector('.em-state'), `state: ${stateWords(l.state)}`);
    });
    $('emergency-release').hidden = !isAdmin || e.active;
    $('emergency-clear').hidden = !isAdmin || !e.active;
  }
  async function emergencyAction(path, body, done) {
    const msg = $('emergency-message');
    try {
      st.emergency = await api('POST', path, body ? {body} : {});
      msg.className = 'message ok';
      setText(msg, done);
      renderEmergency();
    } catch (e) {
      msg.className = 'message error';
      setText(msg, errorText(e));
    }
  }
  $('emergency-release').addEventListener('click', async () => {
    const reason = await confirmDialog('Release every turnstile lane now? Open lanes unlock and stay unlocked until someone ' +
      'clears the release. Say why, for the record.', {ok: 'Release', danger: true, input: 'Reason'});
    if (reason !== null) emergencyAction('/v1/emergency/release', {reason: reason.trim()}, 'Released: the open lanes are unlocked.');
  });
  $('emergency-clear').addEventListener('click', async () => {
    if (await confirmDialog('Clear the emergency release? The turnstile lanes go back to checking tickets.', {ok: 'Clear'})) {
      emergencyAction('/v1/emergency/clear', null, 'Cleared: the lanes check tickets again.');
    }
  });

  const slow = new Poller(loadCatalog, SLOW_MS, {onError: showLive});
  const fast = new Poller(loadLive, FAST_MS, {onOK: () => showLive(null), onError: showLive});
  // Tests and a busy operator can ask for fresh figures now.
  document.addEventListener('admit:refresh', () => { slow.now(); fast.now(); });
  fast.start();
  slow.start(SLOW_MS); // the first fast poll loads the catalog

  // Events picker.
  function renderPicker() {
    const picker = $('event-picker');
    $('no-events').hidden = st.events.length > 0;
    keyed(picker, st.events, (e) => e.id, (e) => el('button', {type: 'button', class: 'chip', onclick: () => {
      if (st.selected.has(e.id)) st.selected.delete(e.id); else st.selected.add(e.id);
      localStorage.setItem('admit.operator.events', JSON.stringify([...st.selected]));
      renderPicker();
      fast.now();
    }}), (n, e) => {
      n.setAttribute('aria-pressed', String(st.selected.has(e.id)));
      n.dataset.window = windowOf(e);
      setText(n, `${e.name || e.id} · ${windowWords(e)}`);
    });
  }

  // Event cards.
  function renderCards() {
    const shown = st.events.filter((e) => st.selected.has(e.id) && st.reports.has(e.id));
    keyed($('event-cards'), shown, (e) => e.id, eventCard, (n, e) => updateCard(n, e, st.reports.get(e.id)));
  }

  function eventCard(e) {
    const stat = (name, label, extra) => el('div', {class: 'stat stat-' + name},
      el('div', {class: 'stat-value'}, el('span', {dataset: {stat: name}, text: '0'}), extra || null),
      el('div', {class: 'stat-label', text: label}));
    const bar = el('div', {class: 'meter-fill'});
    const card = el('article', {class: 'card event-card', dataset: {event: e.id}},
      el('header', {class: 'card-head'},
        el('h2', {class: 'event-name'}), el('span', {class: 'event-window'})),
      el('div', {class: 'stats'},
        stat('inside', 'inside now'),
        el('div', {class: 'stat stat-used'},
          el('div', {class: 'stat-value'}, el('span', {dataset: {stat: 'used'}, text: '0'}), ' / ',
            el('span', {dataset: {stat: 'sold'}, text: '0'})),
          el('div', {class: 'stat-label'}, 'used / sold · ', el('span', {dataset: {stat: 'percent'}, text: '0 %'})),
          el('div', {class: 'meter'}, bar)),
        stat('rate', 'entries / min (last 5 min)'),
        stat('exits', 'exits in the chart range'),
        stat('no_show', 'not yet used'),
        stat('cancelled', 'cancelled')),
      el('div', {class: 'card-grid'},
        el('div', {},
          el('h3', {text: 'By provider and price type'}),
          el('div', {class: 'scroll'}, el('table', {class: 'table rows'},
            el('thead', {}, el('tr', {},
              el('th', {text: 'Provider'}), el('th', {text: 'Price type'}), el('th', {class: 'num', text: 'Sold'}),
              el('th', {class: 'num', text: 'Used'}), el('th', {class: 'meter-col', text: ''}),
              el('th', {class: 'num', text: 'Inside'}), el('th', {class: 'num', text: 'Cancelled'}))),
            el('tbody', {}),
            el('tfoot', {})))),
        el('div', {},
          el('h3', {text: 'Denials by reason'}),
          el('ul', {class: 'denials'}),
          el('p', {class: 'empty denials-empty', text: 'No denial yet.'}),
          el('h3', {text: 'Overrides'}),
          el('ul', {class: 'overrides'}),
          el('p', {class: 'empty overrides-empty', text: 'No supervisor let anyone through.'}))),
      el('h3', {class: 'chart-title'}),
      el('div', {class: 'chart'}));
    card._bar = bar;
    return card;
  }

  function updateCard(card, e, r) {
    const q = (s) => card.querySelector(s);
    const stat = (name, v) => setText(q(`[data-stat="${name}"]`), v);
    setText(q('.event-name'), e.name || e.id);
    setText(q('.event-window'), `${e.id} · ${windowWords(e)}`);
    const t = r.total;
    stat('inside', fmtNum(t.inside));
    stat('used', fmtNum(t.used));
    stat('sold', fmtNum(t.sold));
    const pct = t.sold ? Math.round((100 * t.used) / t.sold) : 0;
    stat('percent', `${pct} %`);
    card._bar.style.width = `${Math.min(100, pct)}%`;
    stat('no_show', fmtNum(t.no_show));
    stat('cancelled', fmtNum(t.cancelled));
    card.dataset.inside = String(t.inside);
    card.dataset.used = String(t.used);
    card.dataset.sold = String(t.sold);

    // Rows by provider and price type.
    const names = new Map(st.providers.map((p) => [p.id, p.name || p.id]));
    keyed(q('table.rows tbody'), r.rows, (row) => row.provider + '\u0000' + row.price_type, () => rowEl(), (n, row) =>
      fillRow(n, names.get(row.provider) || row.provider, row.price_type_name || row.price_type, row));
    const foot = q('table.rows tfoot');
    if (!foot.firstChild) foot.append(rowEl());
    fillRow(foot.firstChild, 'Total', '', t);
    foot.hidden = r.rows.length < 2;

    // Denials.
    const denials = Object.entries(r.denials || {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const most = denials.length ? denials[0][1] : 1;
    keyed(q('.denials'), denials, ([reason]) => reason, () => {
      const fill = el('span', {class: 'hbar-fill'});
      const li = el('li', {}, el('span', {class: 'denial-reason'}), el('span', {class: 'hbar'}, fill),
        el('span', {class: 'denial-count num'}));
      li._fill = fill;
      return li;
    }, (li, [reason, n]) => {
      li.dataset.reason = reason;
      setText(li.querySelector('.denial-reason'), reasonTitle(reason));
      setText(li.querySelector('.denial-count'), fmtNum(n));
      li._fill.style.width = `${Math.max(2, (100 * n) / most)}%`;
    });
    q('.denials-empty').hidden = denials.length > 0;

    // Overrides, newest first.
    const overrides = (r.overrides || []).filter((o) => o.decision && o.decision.override).slice().reverse();
    keyed(q('.overrides'), overrides, (o) => o.seq, () => el('li', {}), (li, o) => {
      const d = o.decision;
      const ov = d.override;
      li.dataset.seq = String(o.seq);
      setText(li, [fmtTime(d.at), laneLabel(st.lanes.find((l) => l.id === d.lane) || {id: d.lane}), d.barcode,
        `${ov.by}: ${ov.why}`, `refused ${reasonTitle(ov.refused)}`, o.annulled ? 'annulled' : ''].filter(Boolean).join(' · '));
    });
    q('.overrides-empty').hidden = overrides.length > 0;

    // Movements.
    const now = new Date(r.at || Date.now()).getTime();
    const from = Math.floor(now / 60000) * 60000 - (st.hours * 60 - 1) * 60000;
    const minutes = (r.minutes || []).filter((m) => new Date(m.minute).getTime() >= from);
    const recent = (r.minutes || []).filter((m) => new Date(m.minute).getTime() > now - 5 * 60000);
    stat('rate', (recent.reduce((s, m) => s + m.entries, 0) / 5).toFixed(1));
    stat('exits', fmtNum(minutes.reduce((s, m) => s + m.exits, 0)));
    setText(q('.chart-title'), `Entries and exits per minute, last ${st.hours} h`);
    const box = q('.chart');
    // The drawing is as wide as its box, so its text stays legible on a phone.
    const width = Math.max(300, Math.min(1400, Math.round(box.clientWidth || CHART_W)));
    box.replaceChildren(chart(minutes, from, st.hours, width));
  }

  function rowEl() {
    const fill = el('span', {class: 'meter-fill'});
    const tr = el('tr', {}, el('td', {class: 'provider'}), el('td', {class: 'price-type'}), el('td', {class: 'num sold'}),
      el('td', {class: 'num used'}), el('td', {class: 'meter-col'}, el('span', {class: 'meter'}, fill)),
      el('td', {class: 'num inside'}), el('td', {class: 'num cancelled'}));
    tr._fill = fill;
    return tr;
  }

  function fillRow(tr, provider, priceType, row) {
    const c = tr.children;
    setText(c[0], provider);
    setText(c[1], priceType);
    setText(c[2], fmtNum(row.sold));
    setText(c[3], fmtNum(row.used));
    tr._fill.style.width = `${row.sold ? Math.min(100, (100 * row.used) / row.sold) : 0}%`;
    setText(c[5], fmtNum(row.inside));
    setText(c[6], fmtNum(row.cancelled));
  }

  // Lanes. What a lane lacks by design is no fault: a door whose scans
  // come over the API has no scanner or relay to miss.
  function laneProblems(l) {
    const out = [];
    if (l.emergency) out.push({kind: 'emergency'});
    if (l.state === 'faulted' || l.state === 'halted' || l.fault) {
      out.push({kind: 'faulted', part: faultPart(l)});
    } else if (l.has_relay && !l.relay_ok) {
      out.push({kind: 'relay'});
    }
    if (l.has_scanner && !l.scanner_connected) out.push({kind: 'scanner'});
    return out;
  }
  function faultPart(l) {
    if (l.state === 'halted') return 'halted';
    if (l.has_relay && !l.relay_ok) return 'relay';
    const f = (l.fault || '').toLowerCase();
    if (/sensor|passage/.test(f)) return 'passage sensor';
    if (/relay|board|channel/.test(f)) return 'relay';
    return l.fault || 'fault';
  }
  const laneLabel = (l) => l.name || l.id;
  const eventsByID = () => new Map(st.events.map((e) => [e.id, e]));
  function releasedLanes() {
    const e = st.emergency;
    return new Set(e && e.active ? (e.lanes || []).map((x) => x.id) : []);
  }

  function renderLanes() {
    $('no-lanes').hidden = st.lanes.length > 0;
    keyed($('lanes'), st.lanes, (l) => l.id, () => el('article', {class: 'card lane'},
      el('header', {class: 'card-head'}, el('h3', {class: 'lane-name'}), el('span', {class: 'lane-dir'}),
        el('span', {class: 'badge lane-state'})),
      el('ul', {class: 'checks'},
        el('li', {class: 'check-scanner'}), el('li', {class: 'check-relay'}), el('li', {class: 'check-emergency'})),
      el('p', {class: 'lane-fault'}),
      el('p', {class: 'lane-venue'}),
      el('p', {class: 'lane-last'}),
      el('p', {class: 'lane-counts muted'})), (n, l) => {
      const q = (s) => n.querySelector(s);
      n.dataset.lane = l.id;
      n.dataset.state = l.state;
      setText(q('.lane-name'), l.name || l.id);
      setText(q('.lane-dir'), l.direction === 'out' ? 'exit' : 'entry');
      const stateEl = q('.lane-state');
      setText(stateEl, stateWords(l.state));
      stateEl.className = 'badge lane-state state-' + (l.emergency || /^emergency/.test(l.state) ? 'emergency' : l.state);
      const sc = q('.check-scanner');
      if (!l.has_scanner) {
        setText(sc, 'Scans over the API (no scanner of its own)');
        sc.className = 'check-scanner none';
      } else {
        setText(sc, l.scanner_connected ? 'Scanner connected' : 'Scanner disconnected');
        sc.className = 'check-scanner ' + (l.scanner_connected ? 'ok' : 'warn');
      }
      const rl = q('.check-relay');
      if (!l.has_relay) {
        setText(rl, 'No turnstile: a door');
        rl.className = 'check-relay none';
      } else {
        setText(rl, l.relay_ok ? 'Relay OK' : 'Relay not answering');
        rl.className = 'check-relay ' + (l.relay_ok ? 'ok' : 'bad');
      }
      const em = q('.check-emergency');
      const eml = ((st.emergency && st.emergency.lanes) || []).find((x) => x.id === l.id);
      em.hidden = !eml && !l.emergency;
      if (l.emergency) {
        setText(em, `Emergency release: ${eml && eml.mode === 'hold' ? 'kept locked' : 'held unlocked'}`);
        em.className = 'check-emergency bad';
      } else if (eml) {
        setText(em, `Emergency mode: ${eml.mode === 'hold' ? 'stays locked' : 'unlocks'} when released`);
        em.className = 'check-emergency none';
      }
      const fault = q('.lane-fault');
      setText(fault, l.fault ? `Fault: ${l.fault}` : '');
      fault.hidden = !l.fault;
      const lv = q('.lane-venue');
      lv.hidden = !l.venue;
      if (l.venue) {
        const words = {online: 'Venue: online', offline: 'Venue: hub not answering', stale_data: 'Venue: data too old',
          catching_up: 'Venue: catching up', failing: 'Venue: failing closed'}[l.venue.state] || `Venue: ${l.venue.state}`;
        setText(lv, words + (l.venue.detail ? ` — ${l.venue.detail}` : ''));
        lv.className = 'lane-venue ' + (l.venue.state === 'online' ? 'ok' : l.venue.state === 'offline' && l.venue.offline === 'admit' ? 'warn' : 'bad');
        n.dataset.venue = l.venue.state;
      }
      const problems = laneProblems(l);
      n.dataset.problems = problems.map((p) => p.kind).join(',');
      n.classList.toggle('lane-bad', problems.some((p) => p.kind === 'faulted' || p.kind === 'emergency'));
      n.classList.toggle('lane-warn', problems.some((p) => p.kind === 'scanner' || p.kind === 'relay'));
      const last = q('.lane-last');
      if (l.last) {
        const d = l.last;
        const w = decisionWords(d, {events: eventsByID(), timeZone: session.timezone, releasedLanes: releasedLanes(), laneEvents: l.events});
        const ev = d.event ? eventName(eventsByID().get(d.event) || {id: d.event}) : '';
        const price = priceParts(d.ticket).name;
        setText(last, `Last: ${[w.title, ev, price, d.barcode, `${fmtTime(d.at)} (${fmtAgo(d.at)})`].filter(Boolean).join(' · ')}`);
        last.className = 'lane-last ' + (l.last.admit ? 'ok' : 'bad');
        last.dataset.reason = l.last.reason;
      } else {
        setText(last, 'No scan yet');
        last.className = 'lane-last muted';
      }
      setText(q('.lane-counts'), `${fmtNum(l.scans)} scans · ${fmtNum(l.admits)} admitted`);
    });
  }

  // Providers and the age of their last import.
  function renderProviders() {
    const lastBy = new Map();
    for (const r of st.imports) { // newest first
      if (!lastBy.has(r.provider)) lastBy.set(r.provider, r);
    }
    const ids = new Set([...st.providers.map((p) => p.id), ...lastBy.keys()]);
    const names = new Map(st.providers.map((p) => [p.id, p.name]));
    const rows = [...ids].sort().map((id) => ({id, name: names.get(id) || id, last: lastBy.get(id)}));
    const now = Date.now();
    keyed(document.querySelector('#providers tbody'), rows, (r) => r.id, () => el('tr', {},
      ...Array.from({length: 7}, (_, i) => el('td', {class: i >= 3 && i <= 5 ? 'num' : ''}))), (tr, r) => {
      const c = tr.children;
      tr.dataset.provider = r.id;
      setText(c[0], r.name === r.id ? r.id : `${r.name} (${r.id})`);
      const l = r.last;
      setText(c[1], l ? `${fmtAgo(l.at, now)} · ${fmtDateTime(l.at)}` : 'never');
      const ageH = l ? (now - new Date(l.at).getTime()) / 3600000 : Infinity;
      c[1].className = ageH > 24 ? 'warn' : '';
      setText(c[2], l ? l.source + (!isZeroTime(l.withdrawn_at) && l.withdrawn_at ? ' (withdrawn)' : '') : '');
      setText(c[3], l ? fmtNum(l.lines) : '');
      setText(c[4], l ? fmtNum(l.added) : '');
      setText(c[5], l ? fmtNum(l.updated) : '');
      setText(c[6], l ? l.by : '');
    });
  }
}

// keyed brings container's children in line with items: children are
// matched by key, created when missing, updated in place, reordered and
// removed when gone. Nodes are never rebuilt, so nothing flickers.
export function keyed(container, items, keyOf, create, update) {
  const existing = new Map();
  for (const n of [...container.children]) existing.set(n.dataset.key, n);
  let prev = null;
  for (const item of items) {
    const k = String(keyOf(item));
    let n = existing.get(k);
    if (n) existing.delete(k);
    else {
      n = create(item);
      n.dataset.key = k;
    }
    const want = prev ? prev.nextSibling : container.firstChild;
    if (n !== want) container.insertBefore(n, want);
    update(n, item); // in place, so it can measure itself
    prev = n;
  }
  for (const n of existing.values()) n.remove();
}

// stateWords says a lane's state in words.
function stateWords(s) {
  switch (s) {
    case 'awaiting_passage': return 'awaiting passage';
    case 'emergency_open': return 'emergency, held open';
    case 'emergency_hold': return 'emergency, held locked';
    default: return (s || 'idle').replace(/_/g, ' ');
  }
}

// windowOf says where now falls in an event's admission window.
function windowOf(e, now = Date.now()) {
  if (!isZeroTime(e.opens_at) && now < new Date(e.opens_at).getTime()) return 'before';
  if (!isZeroTime(e.closes_at) && now >= new Date(e.closes_at).getTime()) return 'after';
  return 'open';
}

function windowWords(e) {
  switch (windowOf(e)) {
    case 'before': return `opens ${fmtDateTime(e.opens_at)}`;
    case 'after': return `closed ${fmtDateTime(e.closes_at)}`;
  }
  return isZeroTime(e.closes_at) ? 'open now' : `open now, until ${fmtDateTime(e.closes_at)}`;
}

// eventOrder puts open events first, then upcoming ones (soonest first),
// then closed ones (latest first).
function eventOrder(a, b) {
  const rank = {open: 0, before: 1, after: 2};
  const wa = windowOf(a);
  const wb = windowOf(b);
  if (wa !== wb) return rank[wa] - rank[wb];
  const ta = new Date(isZeroTime(a.opens_at) ? 0 : a.opens_at).getTime();
  const tb = new Date(isZeroTime(b.opens_at) ? 0 : b.opens_at).getTime();
  if (ta !== tb) return wa === 'after' ? tb - ta : ta - tb;
  return a.id < b.id ? -1 : 1;
}

// defaultEvents are the events open now, else the next one to open, else
// the latest.
function defaultEvents(events) {
  const open = events.filter((e) => windowOf(e) === 'open').map((e) => e.id);
  if (open.length) return open;
  return events.length ? [events[0].id] : [];
}

// chart draws entries (up, green) and exits (down, blue) per minute from
// `from` for `hours` hours as SVG, with the hours marked.
function chart(minutes, from, hours, width = CHART_W) {
  const NS = 'http://www.w3.org/2000/svg';
  const s = (tag, attrs, text) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  };
  const n = hours * 60;
  const left = 34;
  const bottom = 18;
  const w = width - left;
  const mid = (CHART_H - bottom) / 2;
  const slot = w / n;
  const byMinute = new Map(minutes.map((m) => [Math.round((new Date(m.minute).getTime() - from) / 60000), m]));
  let max = 1;
  for (const m of minutes) max = Math.max(max, m.entries, m.exits);
  max = niceCeil(max);
  const svg = s('svg', {viewBox: `0 0 ${width} ${CHART_H}`, role: 'img', class: 'chart-svg',
    'aria-label': `Entries and exits per minute over the last ${hours} hours; at most ${max} a minute`});
  // Grid: the axis, the scale, a line per hour (or per quarter hour for 1 h).
  // Hours marked at least 48 px apart.
  const step = [15, 30, 60, 120, 180, 240, 360].find((m) => m * slot >= 48) || 720;
  for (let i = 0; i <= n; i++) {
    const t = new Date(from + i * 60000);
    if (t.getMinutes() % step !== 0) continue;
    const x = left + i * slot;
    svg.append(s('line', {x1: x, x2: x, y1: 4, y2: CHART_H - bottom, class: 'grid'}));
    if (x < width - 20) svg.append(s('text', {x, y: CHART_H - 4, class: 'tick', 'text-anchor': 'middle'}, fmtShortTime(t)));
  }
  svg.append(s('line', {x1: left, x2: width, y1: mid, y2: mid, class: 'axis'}));
  svg.append(s('text', {x: left - 4, y: 12, class: 'tick', 'text-anchor': 'end'}, String(max)));
  svg.append(s('text', {x: left - 4, y: mid + 4, class: 'tick', 'text-anchor': 'end'}, '0'));
  svg.append(s('text', {x: left - 4, y: CHART_H - bottom, class: 'tick', 'text-anchor': 'end'}, String(max)));
  const scale = (mid - 6) / max;
  let drawn = 0;
  for (const [i, m] of byMinute) {
    if (i < 0 || i >= n) continue;
    const x = left + i * slot + (slot > 2 ? 0.5 : 0);
    const bw = Math.max(slot - (slot > 2 ? 1 : 0), 0.8);
    const label = `${fmtShortTime(new Date(m.minute))}: ${m.entries} in, ${m.exits} out`;
    if (m.entries > 0) {
      const h = Math.max(1.5, m.entries * scale);
      const r = s('rect', {x, y: mid - h, width: bw, height: h, class: 'in'});
      r.append(s('title', {}, label));
      svg.append(r);
      drawn++;
    }
    if (m.exits > 0) {
      const h = Math.max(1.5, m.exits * scale);
      const r = s('rect', {x, y: mid, width: bw, height: h, class: 'out'});
      r.append(s('title', {}, label));
      svg.append(r);
      drawn++;
    }
  }
  svg.dataset.bars = String(drawn);
  svg.dataset.entries = String(minutes.reduce((n, m) => n + m.entries, 0));
  svg.dataset.exits = String(minutes.reduce((n, m) => n + m.exits, 0));
  if (!drawn) svg.append(s('text', {x: left + w / 2, y: mid - 8, class: 'chart-empty', 'text-anchor': 'middle'},
    `No movement in the last ${hours} h`));
  svg.append(s('text', {x: width - 4, y: 14, class: 'legend in-legend', 'text-anchor': 'end'}, '▲ entries'));
  svg.append(s('text', {x: width - 4, y: CHART_H - bottom - 4, class: 'legend out-legend', 'text-anchor': 'end'}, '▼ exits'));
  return svg;
}

// sparkline draws a zone's occupancy over the last hours (samples at the
// minutes it changed) as a small step line, against its capacity when it
// has one.
function sparkline(series, capacity, hours) {
  const svgNS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNS, 'svg');
  const W = 300;
  const H = 48;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('aria-hidden', 'true');
  const now = Date.now();
  const from = now - hours * 3600000;
  const pts = [];
  let last = 0;
  for (const s of series) {
    const t = new Date(s.at).getTime();
    if (t < from) { last = s.occupancy; continue; }
    pts.push([t, s.occupancy]);
  }
  const top = Math.max(capacity || 0, last, ...pts.map((p) => p[1]), 1);
  const x = (t) => ((t - from) / (now - from)) * W;
  const y = (v) => H - 2 - (v / top) * (H - 4);
  let d = `0,${y(last)}`;
  for (const [t, v] of pts) {
    d += ` ${x(t)},${y(last)} ${x(t)},${y(v)}`;
    last = v;
  }
  d += ` ${W},${y(last)}`;
  const line = document.createElementNS(svgNS, 'polyline');
  line.setAttribute('points', d);
  svg.append(line);
  return svg;
}

function niceCeil(v) {
  for (const n of [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000]) if (v <= n) return n;
  return Math.ceil(v / 10000) * 10000;
}
