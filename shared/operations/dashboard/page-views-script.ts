/**
 * The dashboard's pictures, plain browser JavaScript drawing SVG (no library, no network): the
 * partition grid and a run's waterfall. Loaded before the page script, which calls `renderGrid`
 * and `renderWaterfall` with what `/api/grid` and `/api/runs/<id>` return. Colours are CSS classes
 * (page-style.ts): a cell's and a bar's state is also its `data-state`, for tests and for people.
 */
export const VIEWS_SCRIPT = `
const SVG_ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const x = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => SVG_ESC[c]);
const attrs = (a) => Object.entries(a).map(([k, v]) => ' ' + k + '="' + x(v) + '"').join('');
const el = (tag, a, inner) => '<' + tag + attrs(a) + '>' + (inner ?? '') + '</' + tag + '>';
const CELL = 22;
const LABEL = 96;
const HEAD = 64;

function renderGrid(grid, selectedRun) {
  const target = document.getElementById('grid');
  if (!grid.rows.length) {
    target.innerHTML = '<p class="muted">no partitions to show</p>';
    return;
  }
  // Phase names slanted above their column, whole: two phases may share a prefix.
  const head = grid.phases.map((p, i) => {
    const cx = LABEL + i * CELL + CELL / 2;
    return el('text', { x: cx, y: HEAD - 4, transform: 'rotate(-40 ' + cx + ' ' + (HEAD - 4) + ')', class: 'axis' }, x(p));
  });
  const rows = grid.rows.map((row, r) => {
    const y = HEAD + r * CELL;
    const cells = row.cells.map((c, i) =>
      el('rect', {
        x: LABEL + i * CELL, y, width: CELL - 2, height: CELL - 2, rx: 2,
        class: 'cell ' + c.state + (row.runId && row.runId === selectedRun ? ' chosen' : ''),
        'data-state': c.state, 'data-partition': row.partition, 'data-phase': c.phase,
        'data-run': row.runId ?? '',
      }, el('title', {}, x(row.partition + ' · ' + c.phase + ': ' + c.state.replace('_', ' ')))));
    return el('text', { x: 0, y: y + 14, class: 'axis' }, x(row.partition)) + cells.join('');
  });
  const width = LABEL + grid.phases.length * CELL + 80;
  const height = HEAD + 2 + grid.rows.length * CELL;
  target.innerHTML = el('svg', { width, height, viewBox: '0 0 ' + width + ' ' + height, 'data-testid': 'grid' },
    head.join('') + rows.join(''));
}

function renderWaterfall(w) {
  const target = document.getElementById('waterfall');
  if (!w || !w.bars.length) {
    target.innerHTML = '<p class="muted">no attempts yet</p>';
    return;
  }
  const t0 = Date.parse(w.startAt);
  const span = Math.max(1, Date.parse(w.endAt) - t0);
  const WIDTH = 640;
  const ROW = 16;
  const at = (iso) => LABEL * 2 + ((Date.parse(iso ?? w.endAt) - t0) / span) * WIDTH;
  const lanes = [...new Set(w.bars.map((b) => b.requestId))];
  const lane = (b) => lanes.indexOf(b.requestId);
  const labels = lanes.map((id, i) => {
    const b = w.bars.find((bar) => bar.requestId === id);
    return el('text', { x: 0, y: 24 + i * ROW + 10, class: 'axis' }, x(b.phase + ' / ' + b.processor));
  });
  const bars = w.bars.map((b) =>
    el('rect', {
      x: at(b.from), y: 24 + lane(b) * ROW, width: Math.max(2, at(b.to) - at(b.from)), height: ROW - 4,
      class: 'bar ' + b.state, 'data-state': b.state, 'data-processor': b.processor, 'data-attempt': b.attempt,
    }, el('title', {}, x(b.processor + (b.attempt ? ' attempt ' + b.attempt : ' queued') + ': ' +
      b.state.replace('_', ' ') + (b.detail ? ' (' + b.detail + ')' : '')))));
  const markers = w.markers.map((m) =>
    el('line', { x1: at(m.at), x2: at(m.at), y1: 14, y2: 24 + lanes.length * ROW, class: 'marker ' + m.kind,
      'data-kind': m.kind, 'data-phase': m.phase }, el('title', {}, x(m.phase + ' ' + m.kind.replace('_', ' ')))));
  const seconds = (span / 1000).toFixed(1) + ' s';
  const axis = el('text', { x: LABEL * 2, y: 10, class: 'axis' }, '0 s') +
    el('text', { x: LABEL * 2 + WIDTH, y: 10, class: 'axis', 'text-anchor': 'end' }, seconds);
  const height = 30 + lanes.length * ROW;
  const width = LABEL * 2 + WIDTH + 8;
  const slowest = w.slowest
    ? 'slowest step: ' + w.slowest.phase + ' / ' + w.slowest.processor + ' attempt ' + w.slowest.attempt +
      ', ' + (w.slowest.ms / 1000).toFixed(1) + ' s'
    : '';
  target.innerHTML = '<div class="muted" data-testid="slowest">' + x(slowest) + '</div>' +
    el('svg', { width, height, viewBox: '0 0 ' + width + ' ' + height, 'data-testid': 'waterfall' },
      axis + labels.join('') + bars.join('') + markers.join(''));
}
`;
