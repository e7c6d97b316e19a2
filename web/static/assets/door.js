// door.js: the door page. One input keeps the focus and submits on Enter,
// as handheld scanners in keyboard mode type; the camera scans through
// BarcodeDetector where the browser has one. Every scan carries a nonce, and
// a scan the appliance did not answer is retried with the same nonce, so a
// retry can never redeem a ticket twice. The answer fills the screen.

import {api, start, el, setText, errorText, reasonTitle, reasonWords, fmtTime, fmtAgo, laneName, isZeroTime} from './common.js';

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

start('/door', door);

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

  function showReady() {
    const l = currentLane();
    status.className = 'status';
    setText(status, `Ready: ${l.name || l.id}, ${direction === 'in' ? 'entering' : 'leaving'}. Scan a ticket.`);
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
    fill('pending', 'Checking…', note || s.barcode, '', '', s.barcode, {});
    answer.hidden = false;
  }

  function showDecision(d) {
    const admit = !!d.admit;
    const verdict = admit ? (d.reason === 'exit' ? 'EXIT' : 'ADMIT') : 'DENIED';
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
    } else if (d.detail) {
      detail = d.detail;
    }
    if (d.event) detail = (detail ? detail + ' ' : '') + `Event: ${d.event}.`;
    if (d.replayed) detail = (detail ? detail + ' ' : '') + '(This scan had been decided already; the same answer again.)';
    const t = d.ticket;
    const price = t ? (t.price_type_name || t.price_type || '') : '';
    fill(admit ? 'admit' : 'deny', verdict, `${reasonTitle(d.reason)}. ${reasonWords(d.reason)}`, price, detail, d.barcode, data);
    answer.hidden = false;
    if (!admit) beep([[330, 0.18], [262, 0.3]]);
    hideAfter(admit ? SHOW_ADMIT_MS : SHOW_DENY_MS);
    addRecent(admit ? 'admit' : 'deny', reasonTitle(d.reason), d.barcode, price, d.at);
  }

  function showProblem(s, err, retryable) {
    let words = errorText(err);
    if (retryable) words += ' Scan the ticket again: the retry cannot count it twice.';
    if (err.status === 401) words += ' Sign in again.';
    fill('problem', 'NOT CHECKED', `Do not admit yet. ${words}`, '', '', s.barcode, {code: err.code || ''});
    answer.hidden = false;
    beep([[200, 0.4]]);
    hideAfter(SHOW_DENY_MS);
    addRecent('problem', 'Not checked', s.barcode, '', new Date().toISOString());
    if (err.status === 401) setTimeout(() => location.reload(), 2500);
  }

  function fill(kind, verdict, reason, price, detail, barcode, data) {
    answer.className = 'answer answer-' + kind;
    for (const k of Object.keys(answer.dataset)) delete answer.dataset[k];
    Object.assign(answer.dataset, data);
    setText($('answer-verdict'), verdict);
    setText($('answer-reason'), reason);
    const p = $('answer-price');
    setText(p, price);
    p.hidden = !price;
    setText($('answer-detail'), detail);
    setText($('answer-barcode'), barcode);
  }

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

  setDirection(currentLane().direction || 'in');
  refocus();
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
