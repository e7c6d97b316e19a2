// door.js: the door page. One input keeps the focus and submits on Enter,
// as handheld scanners in keyboard mode type; the camera scans through
// BarcodeDetector where the browser has one. Every scan carries a nonce, and
// a scan the appliance did not answer is retried with the same nonce, so a
// retry can never redeem a ticket twice. The answer fills the screen, in
// words: the event by its name, "too early — opens at 18:30" in the venue's
// time, an emergency release as such, the price type by name.
//
// A door device is paired by opening the link (or QR code) an admin made:
// /door#pair=CODE. The page exchanges the code for the device's own token
// and keeps it in localStorage, so a kiosk that restarts scans again by
// itself. In kiosk mode the page is full screen, keeps the screen on (the
// Wake Lock API, where the browser has it) and shows READY large when idle.
//
// A supervisor's token (role supervisor) sees, on a refusal, a button that
// lets the refused guest through: it asks why and calls
// POST /v1/lanes/{id}/override, and the answer shows who let whom through.
// An override made by a supervisor card scanned at the lane shows the same.

import {api, start, el, setText, errorText, fmtTime, fmtAgo, laneName, isZeroTime, decisionWords, priceParts,
  eventName, fmtVenueTime, pair, notify, usingDevice, forgetDevice, UNPAIRED, confirmDialog} from './common.js';

const RETRIES = 3; // after the first attempt, for a scan that got no answer
const SHOW_ADMIT_MS = 3000;
const SHOW_DENY_MS = 8000;
const RECENT = 15;

// newNonce returns a random UUID. crypto.randomUUID exists only in secure
// contexts (HTTPS, localhost); an appliance reached over plain HTTP on the
// LAN is not one, so fall back to getRandomValues, which exists everywhere.
export function newNonce() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

pairFromLink().then(() => start('/door', door));

// pairFromLink exchanges the pairing code of a pairing link (#pair=CODE)
// for this device's token. The code leaves the address bar at once, so it
// is not bookmarked, shared or shown again.
async function pairFromLink() {
  const m = /^#pair=([0-9A-Za-z-]{16,24})$/.exec(location.hash);
  if (!m) return;
  history.replaceState(null, '', location.pathname + location.search);
  try {
    const d = await pair(m[1]);
    sessionStorage.setItem('admit.door.paired', d.name);
  } catch (e) {
    notify(e.status === 401 ? `This pairing link does not work: ${e.message}` : `Pairing failed: ${errorText(e)}`);
  }
}

function door(session) {
  const $ = (id) => document.getElementById(id);
  const input = $('barcode');
  const laneSel = $('lane');
  const dirIn = $('dir-in');
  const dirOut = $('dir-out');
  const status = $('door-status');
  const answer = $('answer');
  const recent = $('recent');
  const lanes = session.lanes || [];
  const timeZone = session.timezone || '';
  let events = new Map(); // by id, from GET /v1/events
  let released = new Set(); // lanes an emergency release holds now
  let emergency = null;
  let offline = false;
  let direction = 'in';
  let soundOn = localStorage.getItem('admit.door.sound') !== 'off';
  let hideKeyboard = localStorage.getItem('admit.door.keyboard') === 'hidden';
  let hideTimer = null;
  let showTimer = null;
  const queue = [];
  let busy = false;
  // The last scan that got no answer: scanning the same barcode again at the
  // same lane and direction resends its nonce, so if the first attempt did
  // redeem, the appliance answers that decision again instead of "already used".
  let unanswered = null;

  // Lanes and direction.
  if (lanes.length === 0) {
    input.disabled = true;
    $('scan-submit').disabled = true;
    setText(status, 'No lane is configured for this token: ask an admin to add lanes to the appliance’s configuration.');
    status.className = 'status error';
    return;
  }
  laneSel.replaceChildren(...lanes.map((l) => el('option', {value: l.id, text: l.name ? `${l.name} (${l.id})` : l.id})));
  const saved = localStorage.getItem('admit.door.lane');
  if (lanes.some((l) => l.id === saved)) laneSel.value = saved;
  const currentLane = () => lanes.find((l) => l.id === laneSel.value) || lanes[0];
  const setDirection = (d) => {
    direction = d;
    dirIn.setAttribute('aria-pressed', String(d === 'in'));
    dirOut.setAttribute('aria-pressed', String(d === 'out'));
    document.body.classList.toggle('dir-out', d === 'out');
    showReady();
  };
  laneSel.addEventListener('change', () => {
    localStorage.setItem('admit.door.lane', laneSel.value);
    setDirection(currentLane().direction || 'in');
    refocus();
  });
  dirIn.addEventListener('click', () => { setDirection('in'); refocus(); });
  dirOut.addEventListener('click', () => { setDirection('out'); refocus(); });

  // READY: the lane, the direction and the events it admits, large; or
  // the emergency release, or that the appliance does not answer.
  function showReady() {
    const l = currentLane();
    const ready = $('ready');
    let word = 'READY';
    let kind = 'ready';
    let note = '';
    if (released.has(l.id)) {
      word = 'EMERGENCY RELEASE';
      kind = 'emergency';
      note = `Since ${fmtVenueTime(emergency.since, timeZone)}. No ticket is checked here until an admin clears the release.`;
    } else if (offline) {
      word = 'NO CONNECTION';
      kind = 'offline';
      note = 'The appliance does not answer. Scans are tried again; do not admit without an answer.';
    } else if (kiosk && wake !== 'on' && wake !== '') {
      note = 'This browser cannot keep the screen on: set the device’s screen timeout to “never”.';
    }
    ready.className = 'ready ready-' + kind;
    ready.dataset.state = kind;
    setText($('ready-word'), word);
    setText($('ready-lane'), `${l.name || l.id} · ${direction === 'in' ? 'entering' : 'leaving'}`);
    setText($('ready-events'), direction === 'out' ? '' : admitsWords(l));
    setText($('ready-note'), note);
  }

  // admitsWords names the events the lane admits now (or opens next).
  function admitsWords(l) {
    const now = Date.now();
    const open = (e) => (isZeroTime(e.opens_at) || new Date(e.opens_at).getTime() <= now) &&
      (isZeroTime(e.closes_at) || now < new Date(e.closes_at).getTime());
    const list = l.events && l.events.length ? l.events.map((id) => events.get(id) || {id}) : [...events.values()].filter(open);
    if (!list.length) return events.size ? 'No event is open now.' : '';
    return list.map((e) => {
      if (!isZeroTime(e.opens_at) && new Date(e.opens_at).getTime() > now) return `${eventName(e)} (opens ${fmtVenueTime(e.opens_at, timeZone)})`;
      return eventName(e);
    }).join(' · ');
  }

  // The events by name and the emergency release: the events once and every
  // five minutes, the release every five seconds (which also tells whether
  // the appliance answers).
  async function loadEvents() {
    try {
      const r = await api('GET', '/v1/events');
      events = new Map(r.events.map((e) => [e.id, e]));
      showReady();
    } catch (e) { /* the answers then show event ids */ }
  }
  async function loadEmergency() {
    try {
      emergency = await api('GET', '/v1/emergency', {timeout: 4000});
      released = new Set(emergency.active ? (emergency.lanes || []).map((x) => x.id) : []);
      offline = false;
    } catch (e) {
      if (e.status === 401) {
        unpaired(e);
        return;
      }
      offline = e.status === 0 || e.status >= 502;
    }
    showReady();
  }

  // A token that stops working: a device's was unpaired (said on the
  // sign-in form after the reload); anyone else signs in again.
  let leaving = false;
  function unpaired() {
    if (leaving) return;
    leaving = true;
    if (usingDevice()) {
      forgetDevice();
      notify(UNPAIRED);
    }
    setTimeout(() => location.reload(), 2500);
  }

  // Kiosk: full screen (at a tap: browsers allow it only after a gesture),
  // the screen kept on where the browser can, and READY large. The choice
  // is kept, so a kiosk that restarts is a kiosk again.
  const kioskBtn = $('kiosk-toggle');
  let kiosk = localStorage.getItem('admit.door.kiosk') === 'on';
  let wakeLock = null;
  let wake = ''; // on, unsupported, refused, released; '' outside kiosk mode
  async function keepAwake() {
    if (!navigator.wakeLock || typeof navigator.wakeLock.request !== 'function') {
      wake = 'unsupported';
    } else if (!wakeLock && document.visibilityState === 'visible') {
      try {
        wakeLock = await navigator.wakeLock.request('screen');
        wake = 'on';
        wakeLock.addEventListener('release', () => {
          wakeLock = null;
          wake = kiosk ? 'released' : '';
          document.body.dataset.wakeLock = wake;
          showReady();
        });
      } catch (e) {
        wake = 'refused';
      }
    }
    document.body.dataset.wakeLock = wake;
    showReady();
  }
  function fullScreen() {
    const d = document.documentElement;
    if (kiosk && !document.fullscreenElement && d.requestFullscreen) d.requestFullscreen({navigationUI: 'hide'}).catch(() => {});
  }
  function setKiosk(on, gesture) {
    kiosk = on;
    localStorage.setItem('admit.door.kiosk', on ? 'on' : 'off');
    document.body.classList.toggle('kiosk', on);
    kioskBtn.setAttribute('aria-pressed', String(on));
    setText(kioskBtn, on ? 'Leave kiosk' : 'Kiosk');
    if (on) {
      if (gesture) fullScreen();
      keepAwake();
      return;
    }
    if (wakeLock) wakeLock.release().catch(() => {});
    wakeLock = null;
    wake = '';
    document.body.dataset.wakeLock = '';
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    showReady();
  }

  // Sound on deny: a WebAudio beep, no files. The context is made on the
  // first key or tap (browsers allow sound only after a user gesture; a
  // scanner typing counts).
  let audio = null;
  const unlockAudio = () => {
    if (!audio && window.AudioContext) audio = new AudioContext();
    if (audio && audio.state === 'suspended') audio.resume();
  };
  document.addEventListener('keydown', unlockAudio, {capture: true});
  document.addEventListener('pointerdown', unlockAudio, {capture: true});
  function beep(tones) {
    if (!soundOn || !audio) return;
    let t = audio.currentTime + 0.01;
    for (const [freq, dur] of tones) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'square';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.3, t + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + dur);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + dur + 0.02);
      t += dur + 0.08;
    }
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
  }
  const soundBtn = $('sound-toggle');
  const showSound = () => {
    soundBtn.setAttribute('aria-pressed', String(soundOn));
    setText(soundBtn, soundOn ? 'Sound on' : 'Sound off');
  };
  soundBtn.addEventListener('click', () => {
    soundOn = !soundOn;
    localStorage.setItem('admit.door.sound', soundOn ? 'on' : 'off');
    showSound();
    refocus();
  });
  showSound();

  // Handhelds that type scans do not need the on-screen keyboard.
  const kbdBtn = $('keyboard-toggle');
  const showKeyboard = () => {
    input.setAttribute('inputmode', hideKeyboard ? 'none' : 'text');
    kbdBtn.setAttribute('aria-pressed', String(hideKeyboard));
    setText(kbdBtn, hideKeyboard ? 'Show keyboard' : 'Hide keyboard');
  };
  kbdBtn.addEventListener('click', () => {
    hideKeyboard = !hideKeyboard;
    localStorage.setItem('admit.door.keyboard', hideKeyboard ? 'hidden' : 'shown');
    showKeyboard();
    input.blur();
    refocus();
  });
  showKeyboard();

  // The input keeps the focus: whatever takes it (a button, a tap on the
  // page, the answer) gives it back, except a lane list being chosen from.
  function refocus() {
    const a = document.activeElement;
    if (a === input || document.querySelector('dialog[open]')) return;
    if (a && (a.tagName === 'SELECT' || (a.tagName === 'INPUT' && a !== input))) return;
    input.focus({preventScroll: true});
  }
  input.addEventListener('blur', () => setTimeout(refocus, 150));
  window.addEventListener('focus', refocus);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refocus(); });
  document.addEventListener('keydown', (e) => {
    // A scanner typing while something else has the focus: send it to the input.
    if (document.activeElement !== input && e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey &&
        !['SELECT', 'INPUT', 'TEXTAREA'].includes(document.activeElement?.tagName)) {
      input.focus({preventScroll: true});
    }
  });

  // Scanning.
  $('scan-form').addEventListener('submit', (e) => {
    e.preventDefault();
    submit(input.value);
  });
  input.addEventListener('keydown', (e) => {
    // Some scanners end a read with Tab instead of Enter.
    if (e.key === 'Tab' && input.value.trim() !== '') {
      e.preventDefault();
      submit(input.value);
    }
  });

  function submit(raw) {
    input.value = '';
    const barcode = raw.replace(/^[\s]+|[\s]+$/g, '');
    if (!barcode) return;
    const lane = currentLane().id;
    let nonce = newNonce();
    if (unanswered && unanswered.barcode === barcode && unanswered.lane === lane && unanswered.direction === direction &&
        Date.now() - unanswered.at < 10 * 60 * 1000) {
      nonce = unanswered.nonce;
    }
    queue.push({barcode, lane, direction, nonce});
    pump();
  }

  async function pump() {
    if (busy) return;
    busy = true;
    try {
      while (queue.length) await send(queue.shift());
    } finally {
      busy = false;
    }
  }

  async function send(s) {
    clearTimeout(showTimer);
    showTimer = setTimeout(() => showPending(s, ''), 250);
    let lastErr = null;
    for (let attempt = 0; attempt <= RETRIES; attempt++) {
      if (attempt > 0) {
        showPending(s, `No answer yet, trying again (${attempt} of ${RETRIES})…`);
        await sleep(600 * attempt);
      }
      try {
        const d = await api('POST', '/v1/scan', {body: {barcode: s.barcode, lane: s.lane, direction: s.direction, nonce: s.nonce},
          timeout: 6000});
        clearTimeout(showTimer);
        if (unanswered && unanswered.nonce === s.nonce) unanswered = null;
        showDecision(d);
        return;
      } catch (e) {
        lastErr = e;
        const retryable = e.status === 0 || e.status === 502 || e.status === 503 || e.status === 504;
        if (!retryable) break;
      }
    }
    clearTimeout(showTimer);
    const retryable = lastErr.status === 0 || lastErr.status >= 502;
    if (retryable) unanswered = {...s, at: Date.now()};
    showProblem(s, lastErr, retryable);
  }

  function showPending(s, note) {
    overrideBtn.hidden = true;
    fill('pending', 'Checking…', note || s.barcode, null, '', s.barcode, {});
    answer.hidden = false;
  }

  function showDecision(d) {
    const admit = !!d.admit;
    const l = lanes.find((x) => x.id === d.lane) || currentLane();
    const w = decisionWords(d, {events, timeZone, releasedLanes: released, laneEvents: l.events});
    if (d.event && !events.has(d.event)) loadEvents(); // an event made since: its name for the next answers
    if (w.emergency && !released.has(d.lane)) loadEmergency();
    const verdict = admit ? (d.reason === 'exit' ? 'EXIT' : d.reason === 'override' ? 'LET THROUGH' : 'ADMIT') :
      (w.emergency ? 'EMERGENCY' : 'DENIED');
    let detail = '';
    const data = {reason: d.reason, admit: String(admit), seq: String(d.seq || 0)};
    if (d.reason === 'already_used' && d.first_used) {
      const fu = d.first_used;
      const where = laneName(session, fu.lane);
      if (isZeroTime(fu.at)) {
        detail = `Used before: ${where}.`;
      } else {
        detail = `First used at ${fmtTime(fu.at)} at ${where} (${fmtAgo(fu.at)}).`;
        data.firstUsed = fu.at;
      }
      data.firstUsedLane = fu.lane;
    } else if (d.detail && !w.emergency) {
      detail = d.detail;
    }
    if (d.event) {
      const e = events.get(d.event);
      detail = (detail ? detail + ' ' : '') + `Event: ${e ? eventName(e) : d.event}.`;
      data.event = d.event;
    }
    if (d.replayed) detail = (detail ? detail + ' ' : '') + '(This scan had been decided already; the same answer again.)';
    if (w.emergency) data.emergency = 'true';
    if (d.override) data.overrideBy = d.override.by;
    const price = priceParts(d.ticket);
    fill(admit ? 'admit' : (w.emergency ? 'emergency' : 'deny'), verdict, `${w.title}. ${w.words}`, price, detail, d.barcode, data);
    offerOverride(d, w);
    answer.hidden = false;
    if (!admit) beep([[330, 0.18], [262, 0.3]]);
    hideAfter(admit ? SHOW_ADMIT_MS : SHOW_DENY_MS);
    addRecent(admit ? 'admit' : 'deny', w.title, d.barcode, price.name, d.at);
  }

  function showProblem(s, err, retryable) {
    let words = errorText(err);
    if (retryable) words += ' Scan the ticket again: the retry cannot count it twice.';
    if (err.status === 401) words += ' Sign in again.';
    if (err.status === 401 && usingDevice()) words = UNPAIRED;
    overrideBtn.hidden = true;
    fill('problem', 'NOT CHECKED', `Do not admit yet. ${words}`, null, '', s.barcode, {code: err.code || ''});
    answer.hidden = false;
    beep([[200, 0.4]]);
    hideAfter(SHOW_DENY_MS);
    addRecent('problem', 'Not checked', s.barcode, '', new Date().toISOString());
    if (err.status === 401) unpaired(err);
  }

  function fill(kind, verdict, reason, price, detail, barcode, data) {
    answer.className = 'answer answer-' + kind;
    for (const k of Object.keys(answer.dataset)) delete answer.dataset[k];
    Object.assign(answer.dataset, data);
    setText($('answer-verdict'), verdict);
    setText($('answer-reason'), reason);
    setText($('answer-price'), price ? price.name : '');
    setText($('answer-price-code'), price ? price.code : '');
    $('answer-price-code').hidden = !price || !price.code;
    $('answer-price-box').hidden = !price || !price.name;
    setText($('answer-detail'), detail);
    setText($('answer-barcode'), barcode);
  }

  // A supervisor may let the guest of a refusal through (not a lane that
  // was busy or faulted: the guest scans again then).
  const overrideBtn = $('answer-override');
  let refusedAt = null;
  function offerOverride(d, w) {
    const can = session.role === 'supervisor' && !d.admit && !w.emergency && d.seq > 0 &&
      d.reason !== 'lane_busy' && d.reason !== 'error';
    overrideBtn.hidden = !can;
    refusedAt = can ? d : null;
  }
  overrideBtn.addEventListener('click', async (e) => {
    e.stopPropagation(); // the answer box closes on a tap; this tap is the button's
    const d = refusedAt;
    if (!d) return;
    clearTimeout(hideTimer);
    const why = await confirmDialog(`Let ${d.barcode} through at ${laneName(session, d.lane)}? The journal keeps your name and ` +
      'your reason.', {ok: 'Let through', input: 'Reason'});
    if (why === null || !why.trim()) {
      hideAfter(SHOW_DENY_MS);
      return;
    }
    try {
      showDecision(await api('POST', `/v1/lanes/${encodeURIComponent(d.lane)}/override`, {body: {reason: why.trim()}}));
    } catch (err) {
      fill('problem', 'NOT LET THROUGH', errorText(err), null, '', d.barcode, {code: err.code || ''});
      overrideBtn.hidden = true;
      answer.hidden = false;
      hideAfter(SHOW_DENY_MS);
    }
  });

  function hideAfter(ms) {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(() => { answer.hidden = true; refocus(); }, ms);
  }
  answer.addEventListener('click', () => {
    clearTimeout(hideTimer);
    answer.hidden = true;
    refocus();
  });

  function addRecent(kind, title, barcode, price, at) {
    const li = el('li', {class: 'recent-' + kind},
      el('span', {class: 'recent-time', text: fmtTime(at)}),
      el('span', {class: 'recent-reason', text: title}),
      el('span', {class: 'recent-barcode', text: barcode}),
      price ? el('span', {class: 'recent-price', text: price}) : null);
    recent.prepend(li);
    while (recent.children.length > RECENT) recent.lastChild.remove();
  }

  // The camera, where the browser has BarcodeDetector (feature-detected:
  // the button stays hidden otherwise).
  const camBtn = $('camera-toggle');
  const camBox = $('camera-box');
  const video = $('camera');
  const camStatus = $('camera-status');
  let stream = null;
  let detector = null;
  let lastRead = {value: '', at: 0};
  if ('BarcodeDetector' in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    camBtn.hidden = false;
    camBtn.addEventListener('click', () => (stream ? stopCamera() : startCamera()));
  }
  async function startCamera() {
    camBox.hidden = false;
    setText(camStatus, 'Starting the camera…');
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (!formats.length) throw new Error('this browser’s barcode detector reads no format');
      detector = new window.BarcodeDetector({formats});
      stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: {ideal: 'environment'}}, audio: false});
      video.srcObject = stream;
      await video.play();
      camBtn.setAttribute('aria-pressed', 'true');
      setText(camStatus, 'Hold the barcode in front of the camera.');
      detectLoop();
    } catch (e) {
      const why = e && e.name === 'NotAllowedError' ? 'the browser was not allowed to use the camera' : (e.message || String(e));
      setText(camStatus, `The camera cannot scan: ${why}.`);
      stopCamera(true);
    }
    refocus();
  }
  function stopCamera(keepMessage) {
    if (stream) for (const tr of stream.getTracks()) tr.stop();
    stream = null;
    video.srcObject = null;
    camBtn.setAttribute('aria-pressed', 'false');
    if (!keepMessage) camBox.hidden = true;
  }
  async function detectLoop() {
    while (stream) {
      try {
        if (video.readyState >= 2) {
          const codes = await detector.detect(video);
          const v = codes.length ? codes[0].rawValue : '';
          const now = Date.now();
          // A code held in view is read once, not every frame.
          if (v && (v !== lastRead.value || now - lastRead.at > 4000)) {
            submit(v);
            lastRead = {value: v, at: now};
          } else if (v) {
            lastRead.at = now;
          }
        }
      } catch (e) {
        setText(camStatus, `The camera cannot scan: ${e.message || e}.`);
      }
      await sleep(200);
    }
  }

  kioskBtn.addEventListener('click', () => {
    setKiosk(!kiosk, true);
    refocus();
  });
  document.addEventListener('pointerdown', (e) => { if (e.target !== kioskBtn) fullScreen(); }, {capture: true});
  document.addEventListener('fullscreenchange', () => {
    if (!kiosk && document.fullscreenElement) document.exitFullscreen().catch(() => {});
  });
  document.addEventListener('visibilitychange', () => { if (kiosk && document.visibilityState === 'visible') keepAwake(); });
  setKiosk(kiosk, false);
  loadEvents();
  setInterval(loadEvents, 5 * 60 * 1000);
  loadEmergency();
  setInterval(loadEmergency, 5000);

  setDirection(currentLane().direction || 'in');
  const paired = sessionStorage.getItem('admit.door.paired');
  if (paired) {
    sessionStorage.removeItem('admit.door.paired');
    status.className = 'status ok';
    setText(status, `This device is paired as “${paired}”: it keeps its pairing when it restarts.`);
  }
  refocus();
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
