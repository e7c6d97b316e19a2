// devices.js: the admin page's door devices. An admin names a device and
// chooses its lanes; the appliance answers a one-time pairing code, shown
// as a QR code (drawn here, assets/qr.js), a link and the code to type. The
// device opens the link and keeps its own scanner token; the list shows
// each device's state and last request, and unpairs one (its next request
// is 401) or gives it a new pairing code.

import {api, el, setText, errorText, confirmDialog, fmtDateTime, fmtAgo, isZeroTime} from './common.js';
import {encode, toSVG} from './qr.js';

const POLL_MS = 3000;

export function devicesPanel(session) {
  const $ = (id) => document.getElementById(id);
  const form = $('device-form');
  const msg = $('device-message');
  const lanesBox = $('dev-lanes');
  const box = $('pairing');
  let devices = [];
  let shown = null; // the device whose pairing code is on screen
  let timer = null;

  const laneName = (id) => {
    const l = (session.lanes || []).find((x) => x.id === id);
    return l && l.name ? l.name : id;
  };
  lanesBox.replaceChildren(...(session.lanes || []).map((l) => el('label', {class: 'radio'},
    el('input', {type: 'checkbox', name: 'dev-lane', value: l.id}), ` ${l.name ? `${l.name} (${l.id})` : l.id}`)));
  if (!(session.lanes || []).length) lanesBox.append(el('p', {class: 'empty', text: 'No lane is configured: a device needs one to scan at.'}));

  async function load() {
    try {
      devices = (await api('GET', '/v1/devices')).devices;
      render();
    } catch (e) {
      msg.className = 'message error';
      setText(msg, errorText(e));
    }
  }

  function render() {
    $('devices-empty').hidden = devices.length > 0;
    $('devices').hidden = devices.length === 0;
    $('devices').tBodies[0].replaceChildren(...devices.map((d) => el('tr', {dataset: {device: d.id, state: d.state}},
      el('td', {class: 'device-name', text: d.name}),
      el('td', {text: d.lanes.map(laneName).join(', ')}),
      el('td', {}, el('span', {class: 'badge device-state state-' + d.state, text: stateWords(d)})),
      el('td', {text: isZeroTime(d.last_seen) || !d.last_seen ? '—' : fmtAgo(d.last_seen)}),
      el('td', {text: `${fmtDateTime(d.created_at)} by ${d.created_by}`}),
      el('td', {class: 'actions-cell'},
        el('button', {type: 'button', class: 'small device-repair', text: d.state === 'paired' ? 'Pair again' : 'New code',
          onclick: () => repair(d)}), ' ',
        el('button', {type: 'button', class: 'small danger device-unpair', text: 'Unpair', onclick: () => unpair(d)})))));
    if (shown) {
      const d = devices.find((x) => x.id === shown.id);
      if (d && d.state === 'paired' && d.paired_at !== shown.pairedAt) {
        box.dataset.paired = 'true';
        setText($('pairing-status'), `Paired ✓ “${d.name}” is scanning with its own token.`);
        $('pairing-status').className = 'message ok';
        stopPolling();
      }
    }
  }

  function stateWords(d) {
    switch (d.state) {
      case 'paired': return 'paired';
      case 'waiting': return 'waiting to pair';
      default: return 'code expired';
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const lanes = [...lanesBox.querySelectorAll('input[name="dev-lane"]:checked')].map((i) => i.value);
    const name = $('dev-name').value.trim();
    if (!lanes.length) {
      msg.className = 'message error';
      setText(msg, 'Choose at least one lane the device may scan at.');
      return;
    }
    try {
      const r = await api('POST', '/v1/devices', {body: {name, lanes}});
      msg.className = 'message ok';
      setText(msg, `Device “${r.device.name}” made: pair it now.`);
      form.reset();
      showPairing(r);
      load();
    } catch (ex) {
      msg.className = 'message error';
      setText(msg, errorText(ex));
    }
  });

  async function repair(d) {
    const q = d.state === 'paired'
      ? `Make a new pairing code for “${d.name}”? Its current pairing keeps working until the new code is used, which replaces it.`
      : `Make a new pairing code for “${d.name}”?`;
    if (!await confirmDialog(q, {ok: 'New code'})) return;
    try {
      showPairing(await api('POST', `/v1/devices/${encodeURIComponent(d.id)}/pairing`));
      load();
    } catch (ex) {
      msg.className = 'message error';
      setText(msg, errorText(ex));
    }
  }

  async function unpair(d) {
    if (!await confirmDialog(`Unpair “${d.name}”? It stops scanning at once and needs a new pairing to scan again.`,
      {ok: 'Unpair', danger: true})) return;
    try {
      await api('DELETE', `/v1/devices/${encodeURIComponent(d.id)}`);
      msg.className = 'message ok';
      setText(msg, `“${d.name}” is unpaired: its next request is refused.`);
      if (shown && shown.id === d.id) hidePairing();
      load();
    } catch (ex) {
      msg.className = 'message error';
      setText(msg, errorText(ex));
    }
  }

  // showPairing shows a pairing code as a QR code, a link and the code, and
  // watches the list until the device pairs or the code expires.
  function showPairing(r) {
    const link = location.origin + r.pairing.path;
    shown = {id: r.device.id, pairedAt: r.device.paired_at || '', expires: new Date(r.pairing.expires_at).getTime()};
    box.hidden = false;
    box.dataset.paired = 'false';
    box.dataset.device = r.device.id;
    const qrBox = $('pairing-qr');
    try {
      const code = encode(link);
      // Whole pixels per module, so every module is as wide as the next.
      const px = (code.size + 8) * Math.max(4, Math.floor(288 / (code.size + 8)));
      const svg = toSVG(code, px);
      svg.setAttribute('aria-label', `QR code of the pairing link for ${r.device.name}`);
      svg.id = 'pairing-svg';
      qrBox.replaceChildren(svg);
    } catch (ex) {
      qrBox.replaceChildren(el('p', {class: 'error', text: `No QR code: ${ex.message}. Use the link or the code.`}));
    }
    setText($('pairing-title'), `Pair “${r.device.name}”`);
    const a = $('pairing-link');
    a.href = link;
    setText(a, link);
    setText($('pairing-code'), r.pairing.code);
    const local = /^(localhost|127\.|\[::1\])/.test(location.host);
    $('pairing-local').hidden = !local;
    $('pairing-status').className = 'message';
    setText($('pairing-status'), 'Waiting for the device…');
    tick();
    stopPolling();
    timer = setInterval(() => {
      tick();
      load();
    }, POLL_MS);
    box.scrollIntoView({block: 'nearest'});
  }

  function tick() {
    if (!shown) return;
    const left = Math.round((shown.expires - Date.now()) / 1000);
    if (left <= 0) {
      setText($('pairing-expiry'), 'The code expired: make a new one from the list.');
      $('pairing-qr').classList.add('expired');
      stopPolling();
      return;
    }
    $('pairing-qr').classList.remove('expired');
    setText($('pairing-expiry'), `The code works once, for ${Math.floor(left / 60)} min ${String(left % 60).padStart(2, '0')} s more.`);
  }

  function stopPolling() {
    clearInterval(timer);
    timer = null;
  }

  function hidePairing() {
    stopPolling();
    shown = null;
    box.hidden = true;
    $('pairing-qr').replaceChildren();
  }
  $('pairing-done').addEventListener('click', hidePairing);
  $('pairing-copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('pairing-link').href);
      setText($('pairing-copy'), 'Copied');
    } catch (e) {
      setText($('pairing-copy'), 'Copy it by hand');
    }
  });

  load();
}
