// common.js: what every admit page shares. The token (kept in sessionStorage
// for the browser session), calls to the /v1 API with it, the sign-in form,
// the navigation that follows the token's role, API errors in words, the
// reasons in words, times, and a confirm dialog.

const TOKEN_KEY = 'admit.token';
// A paired door device keeps its own token in localStorage, so it survives
// a restart of the browser or the kiosk (pairing: POST /v1/devices/pair).
const DEVICE_KEY = 'admit.device';

// The pages and the roles that may open them, in navigation order.
export const PAGES = [
  {path: '/', title: 'Operator', roles: ['admin', 'viewer', 'supervisor']},
  {path: '/door', title: 'Door', roles: ['admin', 'scanner', 'supervisor']},
  {path: '/admin', title: 'Admin', roles: ['admin']},
];

// token is the session's token, else a paired device's.
export function token() { return sessionStorage.getItem(TOKEN_KEY) || deviceToken(); }
export function setToken(t) { sessionStorage.setItem(TOKEN_KEY, t); }
export function clearToken() { sessionStorage.removeItem(TOKEN_KEY); }

// The paired device, as the pairing answered: {token, id, name}, or null.
export function pairedDevice() {
  try {
    const d = JSON.parse(localStorage.getItem(DEVICE_KEY) || 'null');
    return d && typeof d.token === 'string' ? d : null;
  } catch (e) {
    return null;
  }
}
function deviceToken() { return (pairedDevice() || {}).token || ''; }
export function forgetDevice() { localStorage.removeItem(DEVICE_KEY); }
// usingDevice reports whether the calls go with the paired device's token.
export function usingDevice() { return !sessionStorage.getItem(TOKEN_KEY) && !!deviceToken(); }

// PAIRING_CODE is a pairing code as shown or typed: 16 characters of
// Crockford's base 32, dashes or spaces anywhere.
export const PAIRING_CODE = /^[0-9A-Za-z]{4}[- ]?[0-9A-Za-z]{4}[- ]?[0-9A-Za-z]{4}[- ]?[0-9A-Za-z]{4}$/;

// pair exchanges a pairing code for this device's token and keeps it.
export async function pair(code) {
  const r = await api('POST', '/v1/devices/pair', {body: {code: code.trim()}, token: ''});
  localStorage.setItem(DEVICE_KEY, JSON.stringify({token: r.token, id: r.device.id, name: r.device.name}));
  sessionStorage.removeItem(TOKEN_KEY); // the device's token from now on
  return r.device;
}

// notify leaves a message for the sign-in form the page shows next (after
// a reload, say).
export function notify(message) { sessionStorage.setItem(NOTICE_KEY, message); }
const NOTICE_KEY = 'admit.notice';
function takeNotice() {
  const m = sessionStorage.getItem(NOTICE_KEY) || '';
  sessionStorage.removeItem(NOTICE_KEY);
  return m;
}

// UNPAIRED is what a device whose token stopped working is told.
export const UNPAIRED = 'This device was unpaired: its pairing is no longer valid. Ask an admin for a new pairing link or code.';

// ApiError is a failed call: the HTTP status (0 when the appliance did not
// answer at all), the API's error code and its message, fit to show.
export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

const STATUS_WORDS = {
  400: 'The request was refused',
  401: 'The token is not valid',
  403: 'This token may not do that',
  404: 'Not found',
  409: 'That change conflicts with the ticket’s state',
  413: 'Too large',
  422: 'Refused',
  500: 'The appliance had an internal error (see its log)',
  502: 'The appliance does not answer',
  503: 'The appliance is not ready (starting, or recovering)',
  504: 'The appliance does not answer',
};

// errorText turns any error from api() into one sentence for people.
export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return err.message;
    const words = STATUS_WORDS[err.status] || `Error ${err.status}`;
    if (!err.message || err.message === 'internal error') return words + '.';
    return `${words}: ${err.message}`;
  }
  return String(err && err.message || err);
}

// api calls the appliance. path starts with /v1; opts.body is sent as JSON
// unless opts.raw (a string or Blob sent as is); opts.timeout in ms (default
// 10 s). It resolves to the decoded JSON answer and rejects with ApiError.
export async function api(method, path, opts = {}) {
  const headers = {'Accept': 'application/json'};
  const t = opts.token !== undefined ? opts.token : token();
  if (t) headers['Authorization'] = 'Bearer ' + t;
  let body;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['Content-Type'] = opts.contentType || 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeout || 10000);
  let resp;
  try {
    resp = await fetch(path, {method, headers, body, signal: ctl.signal, cache: 'no-store', credentials: 'omit'});
  } catch (e) {
    throw new ApiError(0, 'network', ctl.signal.aborted
      ? 'The appliance did not answer in time.'
      : 'The appliance does not answer (network down, or it is restarting).');
  } finally {
    clearTimeout(timer);
  }
  return decodeAnswer(resp.status, await resp.text(), resp.headers.get('Content-Type') || '');
}

// decodeAnswer turns a status and body into the JSON value or an ApiError.
export function decodeAnswer(status, text, contentType) {
  let data = null;
  if (contentType.includes('json') && text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (status >= 200 && status < 300) {
    if (data === null && text && contentType.includes('json')) {
      throw new ApiError(status, 'bad_answer', 'The appliance sent an answer that cannot be read.');
    }
    return data;
  }
  const e = data && data.error;
  throw new ApiError(status, e && e.code || 'http_' + status, e && e.message || '', data);
}

// el builds an element: el('td', {class: 'num', text: '3'}, child, ...).
// Props: class, text, title, hidden, dataset (object), on<Event> handlers,
// anything else as an attribute. Children are nodes or strings.
export function el(tag, props = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') n.className = v;
    else if (k === 'text') n.textContent = v;
    else if (k === 'dataset') Object.assign(n.dataset, v);
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else if (v === true) n.setAttribute(k, '');
    else n.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    n.append(c instanceof Node ? c : String(c));
  }
  return n;
}

// setText changes a node's text only when it differs, so live updates never
// restart selections or animations.
export function setText(node, text) {
  text = String(text);
  if (node.textContent !== text) node.textContent = text;
}

// Reasons in words: a short verdict for the big screen, and a sentence.
export const REASONS = {
  ok: {title: 'Welcome', words: 'Valid ticket: entry counted.'},
  reentry: {title: 'Welcome back', words: 'Re-entry after an exit.'},
  exit: {title: 'Exit', words: 'Exit recorded.'},
  malformed: {title: 'Unreadable', words: 'Not a barcode admit can read. Scan again, or type it.'},
  unknown: {title: 'Unknown ticket', words: 'No ticket has this barcode.'},
  already_used: {title: 'Already used', words: 'This ticket has already been used.'},
  cancelled: {title: 'Cancelled', words: 'This ticket was cancelled (refunded).'},
  invalidated: {title: 'Invalidated', words: 'The ticketing system invalidated this ticket.'},
  revoked: {title: 'Replaced', words: 'This barcode was replaced by a reprint; only the new one is valid.'},
  blocked: {title: 'Blocked', words: 'An admin blocked this ticket. Call a supervisor.'},
  wrong_event: {title: 'Wrong event', words: 'The ticket is not for an event this entrance admits now.'},
  not_yet_valid: {title: 'Too early', words: 'The ticket’s event has not opened yet.'},
  expired: {title: 'Expired', words: 'The ticket’s event is over.'},
  lane_busy: {title: 'Lane busy', words: 'The lane still holds an admission; let that person pass first.'},
  error: {title: 'System fault', words: 'The appliance could not decide. Do not admit; call a supervisor.'},
  stale_code: {title: 'Old code', words: 'A rotating code that is not live: a screenshot, or a phone with the wrong time. Show the code in the app.'},
  offline: {title: 'No connection', words: 'The venue’s hub did not answer and this entrance does not admit offline. Try again, or call a supervisor.'},
  rule: {title: 'Not allowed', words: 'An entry rule of this event or entrance refuses this ticket now.'},
  zone_full: {title: 'Zone full', words: 'The area behind this entrance is full. Wait until someone leaves.'},
  stale_data: {title: 'Out of date', words: 'This appliance has not heard from the venue for too long to decide. Call a supervisor.'},
  override: {title: 'Let through', words: 'A supervisor let this guest through.'},
};

export function reasonTitle(r) { return (REASONS[r] || {title: r}).title; }
export function reasonWords(r) { return (REASONS[r] || {words: r}).words; }

// isEmergencyRefusal reports whether a decision is a turnstile's refusal
// during an emergency release (reason error): lanes says which lanes the
// release holds now (a Set of ids, from GET /v1/emergency), and the
// turnstile's detail names the release too.
export function isEmergencyRefusal(d, releasedLanes) {
  if (!d || d.reason !== 'error') return false;
  return (releasedLanes && releasedLanes.has(d.lane)) || /emergency release/i.test(d.detail || '');
}

// Words for an emergency refusal.
export const EMERGENCY = {title: 'Emergency release',
  words: 'The turnstiles are released: no ticket is checked here until an admin clears the release. Follow the emergency instructions.'};

// decisionWords says a decision for people: a title and a sentence, with
// the event by its name and times in the venue's zone. ctx: {events (a Map
// of id to event), timeZone, releasedLanes, laneEvents (the lane's event
// ids, null for every event open now)}.
export function decisionWords(d, ctx = {}) {
  if (isEmergencyRefusal(d, ctx.releasedLanes)) return {...EMERGENCY, emergency: true};
  const e = d.event && ctx.events ? ctx.events.get(d.event) : null;
  const title = reasonTitle(d.reason);
  let words = reasonWords(d.reason);
  if (d.reason === 'not_yet_valid' && e && !isZeroTime(e.opens_at)) {
    return {title: `Too early — opens at ${fmtVenueTime(e.opens_at, ctx.timeZone)}`,
      words: `${eventName(e)} opens at ${fmtVenueTime(e.opens_at, ctx.timeZone, true)}. Come back then.`};
  }
  if (d.reason === 'expired' && e && !isZeroTime(e.closes_at)) {
    words = `${eventName(e)} closed at ${fmtVenueTime(e.closes_at, ctx.timeZone, true)}.`;
  }
  if (d.reason === 'override' && d.override) {
    return {title, words: `${d.override.by} let this guest through: ${d.override.why}. Refused first: ${reasonTitle(d.override.refused)}.`};
  }
  if (d.reason === 'wrong_event' && ctx.laneEvents && ctx.laneEvents.length && ctx.events) {
    const names = ctx.laneEvents.map((id) => eventName(ctx.events.get(id) || {id}));
    words = `${words} This entrance admits: ${names.join(', ')}.`;
  }
  return {title, words};
}

// eventName is an event's name, else its id.
export function eventName(e) { return (e && (e.name || e.id)) || ''; }

// priceParts is a ticket's price type as {name, code}: the name to show
// large (Adult), the code small (ADU); a type without a name shows its code.
export function priceParts(t) {
  if (!t) return {name: '', code: ''};
  const code = t.price_type || '';
  const name = t.price_type_name || '';
  if (!name || name === code) return {name: code, code: ''};
  return {name, code};
}

// fmtVenueTime is a time in the venue's zone (tz, an IANA name; the
// browser's when empty), 24-hour: "18:30", with the day when it is not
// today there ("Sat 19 Dec, 18:30"); withZone adds the zone's short name
// when it differs from the browser's.
export function fmtVenueTime(iso, tz, withZone = false) {
  if (isZeroTime(iso)) return '';
  const d = new Date(iso);
  const zone = tz ? {timeZone: tz} : {};
  let time;
  let day;
  let today;
  try {
    time = d.toLocaleTimeString([], {...zone, ...shortFmt});
    day = d.toLocaleDateString([], {...zone, weekday: 'short', day: 'numeric', month: 'short'});
    today = new Date().toLocaleDateString([], {...zone, weekday: 'short', day: 'numeric', month: 'short'});
  } catch (e) { // an unknown zone name: the browser's own
    return fmtVenueTime(iso, '', withZone);
  }
  let s = day === today ? time : `${day}, ${time}`;
  if (withZone && tz && tz !== Intl.DateTimeFormat().resolvedOptions().timeZone) {
    const name = new Intl.DateTimeFormat([], {timeZone: tz, timeZoneName: 'short'}).formatToParts(d)
      .find((p) => p.type === 'timeZoneName');
    if (name) s += ` (${name.value})`;
  }
  return s;
}

// Times are shown in the browser's time zone, 24-hour.
const timeFmt = {hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23'};
const shortFmt = {hour: '2-digit', minute: '2-digit', hourCycle: 'h23'};

export function isZeroTime(iso) { return !iso || iso.startsWith('0001-01-01'); }

export function fmtTime(iso) {
  if (isZeroTime(iso)) return '';
  return new Date(iso).toLocaleTimeString([], timeFmt);
}

export function fmtShortTime(d) { return d.toLocaleTimeString([], shortFmt); }

export function fmtDateTime(iso) {
  if (isZeroTime(iso)) return '';
  const d = new Date(iso);
  const today = new Date();
  const time = d.toLocaleTimeString([], timeFmt);
  if (d.toDateString() === today.toDateString()) return time;
  return d.toLocaleDateString([], {year: 'numeric', month: 'short', day: 'numeric'}) + ' ' + time;
}

// fmtAgo says how long ago iso was, in words ("3 min ago").
export function fmtAgo(iso, now = Date.now()) {
  if (isZeroTime(iso)) return 'never';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 172800) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

export function fmtNum(n) { return (n || 0).toLocaleString(); }

// laneName returns a lane's name from the session, or its id.
export function laneName(session, id) {
  if (id === 'upstream') return 'the ticketing system (used before)';
  const l = (session && session.lanes || []).find((x) => x.id === id);
  return l && l.name ? l.name : id;
}

// confirmDialog asks before a destructive action. With opts.input it asks
// for a value too and resolves to it, or to null when cancelled; otherwise
// it resolves to true or false.
export function confirmDialog(message, opts = {}) {
  return new Promise((resolve) => {
    const input = opts.input ? el('input', {type: 'text', id: 'confirm-input', autocomplete: 'off',
      spellcheck: 'false', 'aria-label': opts.input}) : null;
    const ok = el('button', {type: 'submit', class: opts.danger ? 'danger' : 'primary', id: 'confirm-ok',
      text: opts.ok || 'OK'});
    const cancel = el('button', {type: 'button', id: 'confirm-cancel', text: 'Cancel'});
    const form = el('form', {method: 'dialog'},
      el('p', {class: 'confirm-message', text: message}),
      input ? el('label', {for: 'confirm-input', text: opts.input}) : null, input,
      el('div', {class: 'actions'}, cancel, ok));
    const dlg = el('dialog', {class: 'confirm', id: 'confirm'}, form);
    let answered = false;
    const done = (v) => {
      if (answered) return;
      answered = true;
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    cancel.addEventListener('click', () => done(opts.input ? null : false));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      done(opts.input ? input.value : true);
    });
    dlg.addEventListener('cancel', () => done(opts.input ? null : false));
    document.body.append(dlg);
    dlg.showModal();
    (input || cancel).focus();
  });
}

// start runs a page: it asks for the token when the session has none,
// checks it with GET /v1/session, shows the navigation the role allows and,
// when the role may use this page, calls onReady(session). A role that may
// not use the page sees where it may go instead.
export async function start(pagePath, onReady) {
  const page = PAGES.find((p) => p.path === pagePath);
  const main = document.querySelector('main');
  main.hidden = true;
  if (!token()) {
    showLogin(pagePath, onReady, takeNotice());
    return;
  }
  let session;
  try {
    session = await api('GET', '/v1/session');
  } catch (e) {
    if (e.status === 401) {
      const device = usingDevice();
      if (device) forgetDevice();
      else clearToken();
      showLogin(pagePath, onReady, device ? UNPAIRED : errorText(e));
      return;
    }
    showBlocked(errorText(e) + ' Retrying…');
    setTimeout(() => start(pagePath, onReady), 3000);
    return;
  }
  hideLogin();
  showHeader(session, pagePath);
  if (!page.roles.includes(session.role)) {
    const allowed = PAGES.filter((p) => p.roles.includes(session.role));
    if (pagePath === '/' && allowed.length > 0) {
      location.replace(allowed[0].path);
      return;
    }
    showBlocked(`The token “${session.name}” (${session.role}) may not open the ${page.title.toLowerCase()} page.`, allowed);
    return;
  }
  document.getElementById('blocked')?.remove();
  main.hidden = false;
  onReady(session);
}

function showHeader(session, pagePath) {
  const nav = document.getElementById('nav');
  nav.replaceChildren(...PAGES.filter((p) => p.roles.includes(session.role)).map((p) =>
    el('a', {href: p.path, class: p.path === pagePath ? 'current' : '', 'aria-current': p.path === pagePath ? 'page' : null,
      text: p.title})));
  const who = document.getElementById('who');
  // A paired device forgets its pairing (after a confirmation) instead of
  // signing out; an admin unpairs it for good on the admin page.
  const logout = session.device
    ? el('button', {type: 'button', id: 'logout', class: 'link', text: 'Forget pairing',
      onclick: async () => {
        if (await confirmDialog('Forget this device’s pairing? It then needs a new pairing link or code, or a token, to scan.',
          {ok: 'Forget', danger: true})) {
          forgetDevice();
          location.reload();
        }
      }})
    : el('button', {type: 'button', id: 'logout', class: 'link', text: 'Sign out',
      onclick: () => { clearToken(); location.reload(); }});
  who.replaceChildren(el('span', {class: 'who-name', text: session.name}), ' ',
    el('span', {class: 'role role-' + session.role, text: session.device ? 'paired device' : session.role}), ' ', logout);
}

function showBlocked(message, links) {
  let box = document.getElementById('blocked');
  if (!box) {
    box = el('section', {id: 'blocked', class: 'blocked', role: 'alert'});
    document.body.append(box);
  }
  box.replaceChildren(el('p', {text: message}));
  if (links && links.length) {
    box.append(el('p', {}, 'Open: ', ...links.flatMap((p, i) => [i ? ', ' : '', el('a', {href: p.path, text: p.title + ' page'})])));
  }
  if (links) {
    box.append(el('p', {}, el('button', {type: 'button', class: 'primary', id: 'switch-token', text: 'Sign in with another token',
      onclick: () => { clearToken(); location.reload(); }})));
  }
}

function hideLogin() { document.getElementById('login')?.remove(); }

function showLogin(pagePath, onReady, message) {
  document.getElementById('blocked')?.remove();
  hideLogin();
  const input = el('input', {id: 'token', name: 'token', type: 'password', autocomplete: 'current-password',
    required: true, spellcheck: 'false', autocapitalize: 'off'});
  const err = el('p', {id: 'login-error', class: 'error', role: 'alert', text: message || ''});
  const button = el('button', {type: 'submit', class: 'primary', id: 'login-submit', text: 'Sign in'});
  const door = pagePath === '/door';
  const form = el('form', {id: 'login-form'},
    el('h1', {text: 'admit'}),
    el('p', {class: 'muted', text: door
      ? 'Enter your access token (kept for this browser session only), or the pairing code an admin gave this device (kept on it).'
      : 'Enter your access token. It is kept for this browser session only.'}),
    el('label', {for: 'token', text: door ? 'Access token or pairing code' : 'Access token'}), input, button, err);
  const box = el('section', {id: 'login', class: 'login'}, form);
  document.body.append(box);
  input.focus();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const t = input.value.trim();
    if (!t) return;
    button.disabled = true;
    setText(err, '');
    try {
      try {
        await api('GET', '/v1/session', {token: t});
        setToken(t);
      } catch (ex) {
        // Not a token: on the door page, perhaps a pairing code (tried
        // second, since a token may look like one).
        if (!door || ex.status !== 401 || !PAIRING_CODE.test(t)) throw ex;
        await pair(t);
      }
      box.remove();
      start(pagePath, onReady);
    } catch (ex) {
      setText(err, errorText(ex));
      input.select();
    } finally {
      button.disabled = false;
    }
  });
}

// Poller calls fn every interval ms, one call at a time. After a failure it
// waits a little longer each time (up to 5 s) and reports the error to
// onError; a success reports to onOK.
export class Poller {
  constructor(fn, interval, {onOK, onError} = {}) {
    this.fn = fn;
    this.interval = interval;
    this.onOK = onOK || (() => {});
    this.onError = onError || (() => {});
    this.failures = 0;
    this.timer = null;
    this.running = false;
  }
  // start polls now, or first after delay ms.
  start(delay = 0) {
    this.running = true;
    if (delay > 0) this.timer = setTimeout(() => this.tick(), delay);
    else this.tick();
  }
  // now runs the next poll at once (after a change the user made).
  now() {
    if (!this.running) return;
    clearTimeout(this.timer);
    if (!this.busy) this.tick();
    else this.again = true;
  }
  async tick() {
    this.busy = true;
    try {
      await this.fn();
      this.failures = 0;
      this.onOK();
    } catch (e) {
      this.failures++;
      this.onError(e);
    } finally {
      this.busy = false;
    }
    if (!this.running) return;
    if (this.again) {
      this.again = false;
      this.timer = setTimeout(() => this.tick(), 0);
      return;
    }
    const wait = this.failures ? Math.min(this.interval * (1 + this.failures), 5000) : this.interval;
    this.timer = setTimeout(() => this.tick(), wait);
  }
}
