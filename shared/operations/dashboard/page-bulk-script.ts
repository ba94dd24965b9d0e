/**
 * Browser JavaScript, loaded after the page script (it uses `getJson`, `esc`, `refresh`, `canAct`):
 * the queue's bulk actions. A filter (status, phase, processor, error type and reason, partitions),
 * then "preview" (a dry run: how many match, the first ten), or an action: it previews first, asks
 * to confirm the count, then acts with the note; the answer (done, skipped and why) is shown as the
 * server words it.
 */
export const BULK_SCRIPT = `
const BULK_FIELDS = ['status', 'phase', 'processor', 'errorType', 'errorReason', 'from', 'to'];

function bulkFilter() {
  const filter = {};
  for (const name of BULK_FIELDS) filter[name] = document.getElementById('bulk-' + name).value.trim();
  return filter;
}

async function bulk(action, dryRun) {
  const out = document.getElementById('bulk-result');
  const note = document.getElementById('bulk-note').value.trim();
  const post = (body) => getJson('/api/queue/bulk', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  try {
    const preview = await post({ action, dryRun: true, filter: bulkFilter() });
    const sample = preview.sample.map((e) => esc(e.requestId) + ' (' + esc(e.status) + ')').join(', ');
    out.innerHTML = preview.matched + ' entries match for ' + esc(action) +
      (sample ? '; the first ' + preview.sample.length + ': ' + sample : '');
    if (dryRun || preview.matched === 0) return;
    if (!note) {
      alert('Write a note saying why.');
      return;
    }
    if (!confirm(action + ' ' + preview.matched + ' entries?')) return;
    const done = await post({ action, dryRun: false, filter: bulkFilter(), note, expected: preview.matched });
    out.innerHTML = esc(action) + ': ' + done.done.length + ' done' +
      (done.superseded.length ? ', ' + done.superseded.length + ' closed as superseded' : '') +
      (done.skipped.length ? ', ' + done.skipped.length + ' skipped: ' +
        done.skipped.map((s) => esc(s.requestId) + ': ' + esc(s.reason)).join('; ') : '');
    document.getElementById('bulk-note').value = '';
  } catch (e) {
    out.textContent = e.message;
  }
  refresh(true);
}

document.getElementById('bulk').hidden = !canAct;
document.getElementById('bulk').addEventListener('click', (ev) => {
  const button = ev.target.closest('button[data-bulk]');
  if (button) bulk(button.dataset.bulk, button.dataset.dry === 'true');
});
`;
