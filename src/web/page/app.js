// The web console's page: plain DOM, xterm.js for the serial console, noVNC
// for the screen. Bundled by scripts/bundle-web.mjs; talks only to its own origin
// (the session cookie rides along on every request and websocket).
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import RFB from '@novnc/novnc';

const $ = (sel, el = document) => el.querySelector(sel);
const h = (tag, attrs = {}, ...kids) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== false) el.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k !== undefined && k !== null) el.append(k instanceof Node ? k : String(k));
  return el;
};
const mib = (b) => (b === undefined || b === null ? '–' : `${Math.round(b / 1048576)} MiB`);
const pct = (p) => (p === undefined || p === null ? '–' : `${p.toFixed(1)} %`);
const active = (s) => s === 'running' || s === 'paused';

function toast(text, error = false) {
  const t = h('div', { class: `toast${error ? ' error' : ''}` }, text);
  $('#toasts').append(t);
  setTimeout(() => t.remove(), error ? 9000 : 4000);
}

async function api(method, path, body) {
  const res = await fetch(path, { method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error ? `${data.error}${data.hint ? ` (${data.hint})` : ''}` : `${res.status} ${res.statusText}`);
  return data;
}

const ui = { guests: [], selected: undefined, tab: 'serial', term: undefined, serialWs: undefined, rfb: undefined, shownState: undefined };

// ---- the lists ---------------------------------------------------------------

function renderGuests() {
  const body = $('#guests tbody');
  body.replaceChildren(...ui.guests.map((g) => {
    const mem = g.memoryBytes;
    const used = g.balloonBytes ?? mem;
    return h('tr', { 'data-guest': g.name, 'data-state': g.state, class: g.name === ui.selected ? 'selected' : '', onclick: () => select(g.name) },
      h('td', {}, h('b', {}, g.name)),
      h('td', {}, h('span', { class: `pill ${g.state.replace(/\s+/g, '-')}`, title: g.reason ?? '' }, g.state)),
      h('td', { class: 'num' }, pct(g.cpuPercent), g.cpuPercent !== undefined ? h('div', { class: 'bar' }, h('i', { style: `width:${Math.min(100, g.cpuPercent)}%` })) : null),
      h('td', { class: 'num' }, mib(mem)),
      h('td', { class: 'num' }, g.balloonBytes !== undefined ? mib(g.balloonBytes) : '–', g.balloonBytes !== undefined && mem ? h('div', { class: 'bar' }, h('i', { style: `width:${Math.min(100, (100 * used) / mem)}%` })) : null));
  }));
  if (!ui.guests.length) body.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'no guests defined: qkvm create NAME --template demo')));
}

function renderNetworks(nets) {
  const body = $('#networks tbody');
  body.replaceChildren(...nets.map((n) => h('tr', { 'data-network': n.name },
    h('td', {}, h('b', {}, n.name)), h('td', {}, n.mode),
    h('td', {}, h('span', { class: `pill ${n.active ? 'running' : ''}` }, n.active ? 'active' : 'inactive')),
    h('td', {}, n.bridge ?? '–'), h('td', {}, n.subnet ?? '–'))));
  if (!nets.length) body.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'no networks defined')));
}

// LAB GRAPH HOOK: /api/overview's `labs` is [{ name, svg }]; src/web/state.ts
// fills it once src/lab/graph.ts (labGraphSvg, inline SVG, no URLs) is merged.
// The SVG is made by qkvm from the lab file (graph.ts escapes its text), not by a guest.
function renderLabs(labs) {
  const el = $('#lab-graph');
  if (!labs?.length) { el.textContent = 'no lab is up'; el.className = 'muted'; return; }
  el.className = '';
  el.replaceChildren(...labs.map((l) => {
    const box = h('div', { 'data-lab': l.name, class: 'lab' }, h('b', {}, l.name));
    const pic = h('div', { class: 'lab-svg' });
    pic.innerHTML = l.svg ?? '';
    box.append(pic);
    return box;
  }));
}

async function refresh() {
  try {
    const o = await api('GET', '/api/overview');
    ui.guests = o.guests;
    renderGuests();
    renderNetworks(o.networks);
    renderLabs(o.labs);
    $('#status').textContent = `updated ${new Date(o.time).toLocaleTimeString()}`;
    if (ui.selected) renderHead();
  } catch (e) {
    $('#status').textContent = `cannot reach qkvm web: ${e.message}`;
  }
}

// ---- one guest ---------------------------------------------------------------

const guest = () => ui.guests.find((g) => g.name === ui.selected);

async function select(name) {
  if (ui.selected === name) return;
  if (!ui.guests.some((g) => g.name === name)) await refresh();
  closeConsoles();
  ui.selected = name;
  ui.shownState = undefined;
  history.replaceState(null, '', `#guest=${encodeURIComponent(name)}`);
  renderGuests();
  const d = $('#detail');
  d.replaceChildren(
    h('div', { class: 'head' }, h('h3', {}, name), h('span', { id: 'g-state' }), h('span', { id: 'g-facts', class: 'facts' })),
    h('div', { class: 'actions', id: 'actions' }),
    h('div', { class: 'tabs' }, ...[['serial', 'Serial console'], ['screen', 'Screen'], ['cmdline', 'Command line'], ['snapshots', 'Snapshots']]
      .map(([k, label]) => h('button', { 'data-tab': k, onclick: () => showTab(k) }, label))),
    h('div', { id: 'pane' }));
  renderHead();
  showTab(ui.tab);
}

function actionButton(label, act, enabled, opts = {}) {
  return h('button', { 'data-action': act, class: opts.danger ? 'danger' : '', disabled: !enabled, onclick: () => doAction(act, opts.body?.()) }, label);
}

function renderHead() {
  const g = guest();
  if (!g) return;
  $('#g-state').replaceChildren(h('span', { class: `pill ${g.state.replace(/\s+/g, '-')}` }, g.state));
  $('#g-facts').textContent = [g.vcpus && `${g.vcpus} vCPU`, g.memoryBytes && mib(g.memoryBytes), g.accel, g.pid && `pid ${g.pid}`, g.vnc && `VNC ${g.vnc}`].filter(Boolean).join(' · ');
  if (ui.shownState === g.state) return;
  const changed = ui.shownState !== undefined;
  ui.shownState = g.state;
  const on = active(g.state);
  const paused = g.state === 'paused';
  $('#actions').replaceChildren(
    actionButton('Start', 'start', !on),
    actionButton('Shut down', 'shutdown', on),
    actionButton('Reboot', 'reboot', on && !paused),
    actionButton(paused ? 'Resume' : 'Suspend', paused ? 'resume' : 'suspend', on),
    actionButton('Destroy', 'destroy', on, { danger: true }),
    h('span', { class: 'sep' }),
    h('input', { id: 'balloon-size', placeholder: '128M', title: 'balloon target' }),
    actionButton('Balloon', 'balloon', on, { body: () => ({ size: $('#balloon-size').value }) }),
    h('span', { class: 'sep' }),
    h('input', { id: 'snap-name', placeholder: 'snapshot', title: 'snapshot name (empty: a generated one / the current one)' }),
    actionButton('Snapshot', 'snapshot-create', true, { body: () => ({ snapshot: $('#snap-name').value }) }),
    actionButton('Revert', 'snapshot-revert', true, { body: () => ({ snapshot: $('#snap-name').value }) }));
  // The guest came up or went down: reopen what the tab shows.
  if (changed) showTab(ui.tab);
}

async function doAction(act, body) {
  const name = ui.selected;
  const buttons = [...document.querySelectorAll('#actions button')];
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const r = await api('POST', `/api/guests/${encodeURIComponent(name)}/${act}`, body ?? {});
    toast(`${name}: ${act} done${r.notes?.length ? ` — ${r.notes.join('; ')}` : ''}`);
  } catch (e) {
    toast(`${name}: ${act}: ${e.message}`, true);
  }
  ui.shownState = undefined;
  await refresh();
  if (act === 'snapshot-create' || act === 'snapshot-revert') if (ui.tab === 'snapshots') showTab('snapshots');
}

function closeConsoles() {
  ui.serialWs?.close();
  ui.serialWs = undefined;
  ui.term?.dispose();
  ui.term = undefined;
  ui.rfb?.disconnect();
  ui.rfb = undefined;
  window.removeEventListener('resize', fitTerm);
}

function fitTerm() { ui.fit?.fit(); }

function showTab(tab) {
  closeConsoles();
  ui.tab = tab;
  document.querySelectorAll('.tabs button').forEach((b) => b.classList.toggle('active', b.dataset.tab === tab));
  const pane = $('#pane');
  pane.replaceChildren();
  const g = guest();
  if (tab === 'serial') openSerial(pane, g);
  else if (tab === 'screen') openScreen(pane, g);
  else if (tab === 'cmdline') showCmdline(pane, g);
  else showSnapshots(pane, g);
}

const wsUrl = (kind, name) => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/${kind}/${encodeURIComponent(name)}`;

function openSerial(pane, g) {
  if (!g || !active(g.state)) { pane.append(h('div', { id: 'screen', class: 'off' }, 'The guest is not running: start it to see its serial console.')); return; }
  if (!g.serial) { pane.append(h('div', { id: 'screen', class: 'off' }, 'This guest has no serial console (serial: false).')); return; }
  const box = h('div', { id: 'serial' });
  pane.append(box);
  const term = new Terminal({ convertEol: false, cursorBlink: true, scrollback: 5000, fontSize: 13, theme: { background: '#111111' } });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();
  ui.term = term; ui.fit = fit;
  window.addEventListener('resize', fitTerm);
  const ws = new WebSocket(wsUrl('serial', g.name));
  ws.binaryType = 'arraybuffer';
  ui.serialWs = ws;
  ws.onmessage = (ev) => {
    if (typeof ev.data === 'string') {
      const m = JSON.parse(ev.data);
      if (m.notice) term.write(`\r\n\x1b[33m[qkvm] ${m.notice}\x1b[0m\r\n`);
    } else term.write(new Uint8Array(ev.data));
  };
  ws.onclose = () => { if (ui.serialWs === ws) term.write('\r\n\x1b[33m[qkvm] disconnected\x1b[0m\r\n'); };
  term.onData((d) => { if (ws.readyState === WebSocket.OPEN) ws.send(new TextEncoder().encode(d)); });
  term.focus();
}

async function openScreen(pane, g) {
  const off = (text) => pane.replaceChildren(h('div', { id: 'screen', class: 'off', 'data-no-display': '' }, text));
  if (!g || !active(g.state)) return off('The guest is not running: start it to see its screen.');
  let s;
  try { s = await api('POST', `/api/guests/${encodeURIComponent(g.name)}/screen`); } catch (e) { return off(e.message); }
  if (ui.tab !== 'screen' || ui.selected !== g.name) return;
  if (!s.available) return off(s.reason);
  const box = h('div', { id: 'screen' });
  pane.replaceChildren(box, h('p', { class: 'facts' }, `noVNC through qkvm to QEMU's VNC server on ${s.host}:${s.port}${s.password ? ', with a password set for this session over QMP' : ''}.`));
  const rfb = new RFB(box, wsUrl('screen', g.name), s.password ? { credentials: { password: s.password } } : {});
  rfb.scaleViewport = true;
  rfb.resizeSession = false;
  rfb.addEventListener('credentialsrequired', () => rfb.sendCredentials({ password: s.password ?? '' }));
  rfb.addEventListener('connect', () => box.setAttribute('data-connected', ''));
  rfb.addEventListener('disconnect', (ev) => { if (ui.rfb === rfb) { box.removeAttribute('data-connected'); toast(`${g.name}: screen ${ev.detail.clean ? 'closed' : 'connection lost'}`, !ev.detail.clean); } });
  ui.rfb = rfb;
}

async function showCmdline(pane, g) {
  let c;
  try { c = await api('GET', `/api/guests/${encodeURIComponent(g.name)}/cmdline`); } catch (e) { pane.append(h('p', { class: 'muted' }, e.message)); return; }
  const quote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  pane.append(h('div', { class: 'cmd', id: 'cmdline' },
    h('p', { class: 'muted' }, c.source === 'started' ? 'The command this guest was started with (qkvm cmdline --explain), one option per line:' : 'The command `qkvm start` would run (qkvm cmdline --explain), one option per line:'),
    h('div', { class: 'opt' }, h('code', {}, quote(c.binary))),
    ...c.options.map((o) => h('div', { class: 'opt' }, h('code', {}, quote(o.opt), o.value !== undefined ? ` ${quote(o.value)}` : ''), h('div', { class: 'why' }, o.explain))),
    c.running ? h('details', {}, h('summary', {}, 'the running QEMU\'s argv (/proc/PID/cmdline)'), h('pre', {}, c.running.map(quote).join(' '))) : null));
}

async function showSnapshots(pane, g) {
  let list;
  try { list = await api('GET', `/api/guests/${encodeURIComponent(g.name)}/snapshots`); } catch (e) { pane.append(h('p', { class: 'muted' }, e.message)); return; }
  if (!list.length) { pane.append(h('p', { class: 'muted' }, 'No snapshots. Name one above and press Snapshot (needs qcow2 disks).')); return; }
  pane.append(h('table', { class: 'list' }, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Created'), h('th', {}, 'RAM'), h('th', {}, ''))),
    h('tbody', {}, ...list.map((s) => h('tr', {}, h('td', {}, s.name, s.current ? ' (current)' : ''), h('td', {}, s.created ?? '–'), h('td', {}, s.vmState ? mib(s.vmStateSize) : 'disks only'),
      h('td', {}, h('button', { onclick: () => { $('#snap-name').value = s.name; doAction('snapshot-revert', { snapshot: s.name }); } }, 'Revert')))))));
}

// #guest=NAME picks a guest (a link to one guest's console).
const hashGuest = () => new URLSearchParams(location.hash.slice(1)).get('guest') ?? undefined;
window.addEventListener('hashchange', () => { const g = hashGuest(); if (g) select(g); });
refresh().then(() => {
  const first = hashGuest() ?? ui.guests.find((g) => active(g.state))?.name ?? ui.guests[0]?.name;
  if (first) select(first);
});
setInterval(refresh, 2000);
