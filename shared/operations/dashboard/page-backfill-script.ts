/**
 * Browser JavaScript: the backfills panel. Each backfill as its command last wrote it, with the
 * figures its progress bar shows (computed by the server: operations/backfill-progress.ts), as a bar
 * and a line: done of total, failed, blocked, ETA, the last partition, and a warning when a running
 * one has gone quiet (its command may have died: the same command again resumes it).
 */
export const BACKFILL_SCRIPT = `
function renderBackfills(backfills) {
  const box = document.getElementById('backfills');
  document.getElementById('backfills-title').hidden = backfills.length === 0;
  box.innerHTML = backfills.map((b) => {
    const status = b.quiet ? 'quiet' : b.status;
    const line = b.done + '/' + b.total + ' partitions · ' + b.failed + ' failed' +
      (b.blocked > 0 ? ' · ' + b.blocked + ' blocked' : '') +
      (b.status === 'running' ? ' · ETA ' + b.eta : ' · ' + b.status) +
      (b.last ? ' · last: ' + b.last : '') +
      (b.quiet ? ' · no update since ' + new Date(b.updatedAt).toLocaleTimeString() +
        ': is its command still running? the same command again resumes it' : '');
    const failures = b.failures.map((f) => esc(f.partition) + ' ' + esc(f.status)).join(', ');
    return '<div class="backfill ' + esc(status) + '" data-backfill="' + esc(b.backfillId) + '">' +
      '<div><b>' + esc(b.from) + ' … ' + esc(b.to) + '</b> <span class="status ' + esc(status) + '">' +
      esc(status) + '</span></div>' +
      '<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="' + b.total +
      '" aria-valuenow="' + b.done + '"><div class="done" style="width:' + b.percent + '%"></div></div>' +
      '<div class="muted" data-testid="backfill-line">' + esc(line) + '</div>' +
      (failures ? '<div class="muted">failed: ' + failures + '</div>' : '') + '</div>';
  }).join('');
}
`;
