/** The dashboard page: plain HTML and a small script that polls /api/state and re-renders in place. */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>phasegate</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d2329;background:#fafafa}
 h1{font-size:1.3rem;margin:0 0 .2rem} h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
 table{border-collapse:collapse;width:100%;background:#fff} th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
 th{font-weight:600;background:#f0f2f4} tr.run{cursor:pointer} tr.run:hover{background:#f5f8ff} tr.selected{background:#eaf1ff}
 .status{font-weight:600;padding:.1rem .45rem;border-radius:.3rem;color:#fff;white-space:nowrap}
 .SUCCESS{background:#2e7d32} .PARTIAL{background:#e69500} .FAILED{background:#c62828} .RUNNING{background:#1565c0} .NOT_STARTED{background:#78909c} .SUPERSEDED{background:#9e9e9e}
 .phase{display:inline-block;margin-right:.5rem;white-space:nowrap} .phase.SUCCEEDED{color:#2e7d32} .phase.GATE_FAILED{color:#c62828;font-weight:600} .phase.RUNNING{color:#1565c0} .phase.PENDING{color:#90a4ae}
 .action{font-weight:600} .NEEDS{color:#c62828} .muted{color:#6b7680} .err{color:#8a1c1c;max-width:40rem}
 input.note{width:11rem} button{margin-left:.2rem}
 .held{background:#fdecea;border:1px solid #c62828;color:#8a1c1c;padding:.5rem .8rem;border-radius:.3rem;margin:.8rem 0;font-weight:600} .held:empty{display:none}
</style></head>
<body>
<h1>phasegate</h1><div class="muted">updated <span id="updated">…</span> · <label>partition <input id="partition" placeholder="all partitions" size="12"></label></div>
<div id="controldlq" class="held" data-testid="control-dlq"></div>
<h2>Runs</h2>
<table id="runs"><thead><tr><th>partition</th><th>run</th><th>status</th><th>phases (done/expected)</th><th>trigger</th><th>last error</th></tr></thead><tbody></tbody></table>
<div id="timeline"></div>
<h2>Failed-processor queue</h2>
<table id="queue"><thead><tr><th>entry</th><th>partition</th><th>phase / processor</th><th>status</th><th>action needed</th><th>retries</th><th>error</th><th></th></tr></thead><tbody></tbody></table>
<script>
const canAct = __CAN_ACT__;
let selected = null;
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
async function getJson(url, init) { const r = await fetch(url, init); const body = await r.json(); if (!r.ok) throw new Error(body.message || r.status); return body; }
function renderRuns(runs) {
  document.querySelector('#runs tbody').innerHTML = runs.map((r) => '<tr class="run' + (r.runId === selected ? ' selected' : '') + '" data-run="' + esc(r.runId) + '">' +
    '<td>' + esc(r.partition) + '</td><td class="muted">' + esc(r.runId) + '</td><td><span class="status ' + esc(r.status) + '" data-testid="run-status">' + esc(r.status) + '</span></td>' +
    '<td>' + r.phases.map((p) => '<span class="phase ' + esc(p.status) + '" data-phase="' + esc(p.id) + '">' + esc(p.id) + ' ' + p.done + '/' + p.expected + '</span>').join('') + '</td>' +
    '<td>' + esc(r.triggerSource) + '</td><td class="err">' + esc(r.lastError) + '</td></tr>').join('') || '<tr><td colspan="6" class="muted">no runs yet</td></tr>';
}
function renderQueue(queue) {
  document.querySelector('#queue tbody').innerHTML = queue.map((e) => '<tr data-entry="' + esc(e.requestId) + '">' +
    '<td class="muted">' + esc(e.requestId) + '</td><td>' + esc(e.partition) + '</td><td>' + esc(e.phase) + ' / ' + esc(e.processor) + '</td><td data-testid="entry-status">' + esc(e.status) + '</td>' +
    '<td class="action ' + (e.action === 'NEEDS MANUAL FIX' ? 'NEEDS' : '') + '" data-testid="entry-action">' + esc(e.action) + '</td><td>' + e.retryCount + '</td><td class="err">' + esc(e.errorType) + ': ' + esc(e.lastError) + '</td>' +
    '<td>' + (canAct ? '<input class="note" placeholder="note (why)"><button data-do="retry">retry</button><button data-do="resolve">resolve</button><button data-do="discard">discard</button>' : '') + '</td></tr>').join('') || '<tr><td colspan="8" class="muted">the queue is empty</td></tr>';
}
async function renderTimeline() {
  const el = document.getElementById('timeline');
  if (!selected) { el.innerHTML = ''; return; }
  const { events } = await getJson('/api/runs/' + encodeURIComponent(selected));
  const byRequest = {};
  for (const e of events) (byRequest[e.requestId || e.phase] ||= []).push(e);
  el.innerHTML = '<h2>Timeline of ' + esc(selected) + '</h2><table><thead><tr><th>at</th><th>event</th><th>phase</th><th>processor</th><th>attempt</th><th>detail</th></tr></thead><tbody>' +
    events.map((e) => '<tr><td class="muted">' + esc(e.at) + '</td><td>' + esc(e.type) + '</td><td>' + esc(e.phase) + '</td><td>' + esc(e.processor) + '</td><td>' + esc(e.attempt) + (e.requestId && byRequest[e.requestId].length > 1 ? ' <span class="muted">(' + byRequest[e.requestId].length + ' in chain)</span>' : '') + '</td><td class="err">' + esc([e.errorType, e.message].filter(Boolean).join(': ')) + '</td></tr>').join('') + '</tbody></table>';
}
async function refresh() {
  try {
    const partition = document.getElementById('partition').value.trim();
    const state = await getJson('/api/state' + (partition ? '?partition=' + encodeURIComponent(partition) : ''));
    const held = state.controlDlq;
    document.getElementById('controldlq').textContent = !held ? '' : held.error ? held.error : held.count > 0 ? 'control-dlq: ' + held.message : '';
    renderRuns(state.runs);
    renderQueue(state.queue);
    await renderTimeline();
    document.getElementById('updated').textContent = new Date(state.generatedAt).toLocaleTimeString();
  } catch (e) { document.getElementById('updated').textContent = 'error: ' + e.message; }
}
document.getElementById('runs').addEventListener('click', (ev) => { const row = ev.target.closest('tr[data-run]'); if (row) { selected = row.dataset.run; refresh(); } });
document.getElementById('queue').addEventListener('click', async (ev) => {
  const button = ev.target.closest('button[data-do]'); if (!button) return;
  const row = button.closest('tr'); const note = row.querySelector('input.note').value.trim();
  if (!note) { alert('Write a note saying why.'); return; }
  try { await getJson('/api/queue/' + encodeURIComponent(row.dataset.entry) + '/' + button.dataset.do, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ note }) }); }
  catch (e) { alert(e.message); }
  refresh();
});
document.getElementById('partition').addEventListener('change', refresh);
refresh(); setInterval(refresh, 1500);
</script></body></html>`;
