import { FULL_STATE_EVERY_MS } from './state-version.ts';

/**
 * The dashboard page's script, plain browser JavaScript: it polls /api/state every 1.5 s while the tab
 * is visible and re-renders the runs, the queue and the selected run's timeline in place. While a run
 * it shows is RUNNING it reads the whole state each time (live progress); otherwise it sends the version
 * of what it shows, the server answers `unchanged` after three reads, and only a change (or
 * FULL_STATE_EVERY_MS without one, or a click) reads and renders it all again. `__CAN_ACT__` is replaced
 * by `true` or `false` when the page is served: whether to offer the queue actions.
 */
export const DASHBOARD_SCRIPT = `
const canAct = __CAN_ACT__;
const FULL_STATE_EVERY_MS = ${FULL_STATE_EVERY_MS};
let selected = null;
let version = null;
let fullAt = 0;
let live = true;
const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);

async function getJson(url, init) {
  const r = await fetch(url, init);
  const body = await r.json();
  if (!r.ok) throw new Error(body.message || r.status);
  return body;
}

const phaseBadge = (p) =>
  '<span class="phase ' + esc(p.status) + '" data-phase="' + esc(p.id) + '">' +
  esc(p.id) + ' ' + p.done + '/' + p.expected + '</span>';

function renderRuns(runs) {
  const rows = runs.map((r) =>
    '<tr class="run' + (r.runId === selected ? ' selected' : '') + '" data-run="' + esc(r.runId) + '">' +
    '<td>' + esc(r.partition) + '</td>' +
    '<td class="muted">' + esc(r.runId) + '</td>' +
    '<td><span class="status ' + esc(r.status) + '" data-testid="run-status">' +
    esc(r.status) + '</span></td>' +
    '<td>' + r.phases.map(phaseBadge).join('') + '</td>' +
    '<td>' + esc(r.triggerSource) + '</td>' +
    '<td class="err">' + esc(r.lastError) + '</td></tr>');
  document.querySelector('#runs tbody').innerHTML =
    rows.join('') || '<tr><td colspan="6" class="muted">no runs yet</td></tr>';
}

const ACTIONS =
  '<input class="note" placeholder="note (why)">' +
  '<button data-do="retry">retry</button>' +
  '<button data-do="resolve">resolve</button>' +
  '<button data-do="discard">discard</button>';

function renderQueue(queue, open) {
  const rows = queue.map((e) =>
    '<tr data-entry="' + esc(e.requestId) + '">' +
    '<td class="muted">' + esc(e.requestId) + '</td>' +
    '<td>' + esc(e.partition) + '</td>' +
    '<td>' + esc(e.phase) + ' / ' + esc(e.processor) + '</td>' +
    '<td data-testid="entry-status">' + esc(e.status) + '</td>' +
    '<td class="action ' + (e.action === 'NEEDS MANUAL FIX' ? 'NEEDS' : '') +
    '" data-testid="entry-action">' + esc(e.action) + '</td>' +
    '<td>' + e.retryCount + '</td>' +
    '<td class="err">' + esc(e.errorType) + ': ' + esc(e.lastError) + '</td>' +
    '<td>' + (canAct ? ACTIONS : '') + '</td></tr>');
  document.querySelector('#queue tbody').innerHTML =
    rows.join('') || '<tr><td colspan="8" class="muted">the queue is empty</td></tr>';
  document.getElementById('queue-count').textContent =
    open > queue.length ? 'showing the oldest ' + queue.length + ' of ' + open + ' open' : '';
}

const TIMELINE_HEAD =
  '<table><thead><tr><th>at</th><th>event</th><th>phase</th><th>processor</th>' +
  '<th>attempt</th><th>detail</th></tr></thead><tbody>';

async function renderTimeline() {
  const el = document.getElementById('timeline');
  if (!selected) {
    el.innerHTML = '';
    return;
  }
  const { events, waterfall } = await getJson('/api/runs/' + encodeURIComponent(selected));
  const byRequest = {};
  for (const e of events) (byRequest[e.requestId || e.phase] ||= []).push(e);
  const chain = (e) =>
    e.requestId && byRequest[e.requestId].length > 1
      ? ' <span class="muted">(' + byRequest[e.requestId].length + ' in chain)</span>'
      : '';
  const rows = events.map((e) =>
    '<tr><td class="muted">' + esc(e.at) + '</td>' +
    '<td>' + esc(e.type) + '</td>' +
    '<td>' + esc(e.phase) + '</td>' +
    '<td>' + esc(e.processor) + '</td>' +
    '<td>' + esc(e.attempt) + chain(e) + '</td>' +
    '<td class="err">' + esc([e.errorType, e.message].filter(Boolean).join(': ')) + '</td></tr>');
  el.innerHTML = '<h2>Run ' + esc(selected) + '</h2><div id="waterfall"></div>' +
    '<h3>Timeline of ' + esc(selected) + '</h3>' + TIMELINE_HEAD + rows.join('') + '</tbody></table>';
  renderWaterfall(waterfall);
}

/** The grid of the range typed in (both ends), else of the newest runs' partitions. */
async function refreshGrid() {
  const from = document.getElementById('grid-from').value.trim();
  const to = document.getElementById('grid-to').value.trim();
  const query = from && to ? '?' + new URLSearchParams({ from, to }) : '';
  try {
    renderGrid(await getJson('/api/grid' + query), selected);
  } catch (e) {
    document.getElementById('grid').textContent = 'grid: ' + e.message;
  }
}

const HEALTH_EVERY_MS = 15000;
let healthAt = 0;
/** The charts read a week of events: at most every HEALTH_EVERY_MS, or on a click. */
async function refreshHealth(force) {
  if (!force && Date.now() - healthAt < HEALTH_EVERY_MS) return;
  healthAt = Date.now();
  try {
    renderHealth(await getJson('/api/health'));
  } catch (e) {
    document.getElementById('health').textContent = 'health: ' + e.message;
  }
}

function pauseNotice(control) {
  if (!control || !control.paused) return '';
  return 'PAUSED since ' + new Date(control.since).toLocaleString() + ' by ' + control.by + ': ' + control.note +
    ' · held: ' + control.held.runRequests + ' run request(s), ' + control.held.triggers + ' phase trigger(s)';
}

function heldNotice(held) {
  if (!held) return '';
  if (held.error) return held.error;
  return held.count > 0 ? 'control-dlq: ' + held.message : '';
}

// force: a click or a new filter reads the whole state now; a poll first asks whether anything changed.
async function refresh(force) {
  if (document.hidden && !force) return;
  try {
    const params = new URLSearchParams();
    const partition = document.getElementById('partition').value.trim();
    if (partition) params.set('partition', partition);
    if (!force && !live && version && Date.now() - fullAt < FULL_STATE_EVERY_MS) params.set('since', version);
    const query = params.toString();
    const state = await getJson('/api/state' + (query ? '?' + query : ''));
    document.getElementById('controldlq').textContent = heldNotice(state.controlDlq);
    if (!state.unchanged) {
      version = state.version;
      fullAt = Date.now();
      live = state.runs.some((r) => r.status === 'RUNNING');
      renderRuns(state.runs);
      renderQueue(state.queue, state.queueOpen);
      renderBackfills(state.backfills);
      document.getElementById('paused').textContent = pauseNotice(state.control);
      renderControls(state.control, state.runs.find((r) => r.runId === selected));
      await Promise.all([renderTimeline(), refreshGrid()]);
    }
    await refreshHealth(force);
    document.getElementById('updated').textContent = new Date(state.generatedAt).toLocaleTimeString();
  } catch (e) {
    document.getElementById('updated').textContent = 'error: ' + e.message;
  }
}

document.getElementById('runs').addEventListener('click', (ev) => {
  const row = ev.target.closest('tr[data-run]');
  if (row) {
    selected = row.dataset.run;
    refresh(true);
  }
});

document.getElementById('queue').addEventListener('click', async (ev) => {
  const button = ev.target.closest('button[data-do]');
  if (!button) return;
  const row = button.closest('tr');
  const note = row.querySelector('input.note').value.trim();
  if (!note) {
    alert('Write a note saying why.');
    return;
  }
  try {
    await getJson('/api/queue/' + encodeURIComponent(row.dataset.entry) + '/' + button.dataset.do, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note }),
    });
  } catch (e) {
    alert(e.message);
  }
  refresh(true);
});

document.getElementById('grid').addEventListener('click', (ev) => {
  const cell = ev.target.closest('rect[data-run]');
  if (cell && cell.dataset.run) {
    selected = cell.dataset.run;
    refresh(true);
  }
});

document.getElementById('partition').addEventListener('change', () => refresh(true));
for (const id of ['grid-from', 'grid-to']) document.getElementById(id).addEventListener('change', refreshGrid);
document.addEventListener('visibilitychange', () => refresh(false));
refresh(true);
setInterval(() => refresh(false), 1500);
`;
