/**
 * The dashboard's health charts, browser JavaScript drawing SVG bar charts, one bar (or stack) per
 * day, from `/api/health` (the numbers of `phasegate health --json`). Uses `el` and `x` of the views
 * script. A day no tick sampled has no gauge bar (a gap, not a zero).
 */
export const HEALTH_SCRIPT = `
const PALETTE = ['#c62828', '#6a1b9a', '#ef6c00', '#00838f', '#558b2f', '#4e342e', '#283593', '#ad1457'];

function barChart(id, title, days, series) {
  const W = 220;
  const H = 90;
  const sampled = series.some((s) => s.values.some((v) => v !== null && v !== undefined));
  const total = (d) => series.reduce((sum, s) => sum + (s.values[d] ?? 0), 0);
  const max = Math.max(1, ...days.map((_, d) => total(d)));
  const step = W / Math.max(1, days.length);
  const bars = days.flatMap((day, d) => {
    let base = H;
    return series.map((s) => {
      const v = s.values[d];
      if (v === null || v === undefined) return '';
      const h = (v / max) * (H - 4);
      base -= h;
      return el('rect', { x: d * step + 1, y: base, width: Math.max(1, step - 2), height: h, fill: s.color,
        'data-day': day, 'data-series': s.name, 'data-value': v }, el('title', {}, x(day + ' · ' + s.name + ': ' + v)));
    });
  });
  const legend = series.length > 1
    ? '<div class="legend">' + series.map((s) =>
        '<span><i style="background:' + s.color + '"></i>' + x(s.name) + '</span>').join('') + '</div>'
    : '';
  const scale = !sampled ? 'no samples yet' : 'highest ' + Math.max(...days.map((_, d) => total(d)));
  return '<figure class="chart" data-figure="' + x(id) + '"><figcaption>' + x(title) +
    ' <span class="muted">' + x(scale) + '</span></figcaption>' +
    el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'data-chart': id }, bars.join('')) +
    legend + '</figure>';
}

function renderHealth(h) {
  const days = h.daily.map((d) => d.day);
  const processors = [...new Set(h.daily.flatMap((d) => Object.keys(d.failures)))].sort();
  const phases = [...new Set(h.daily.flatMap((d) => Object.keys(d.phaseSeconds)))];
  const pick = (f) => h.daily.map(f);
  const dlq = h.controlDlq && !h.controlDlq.error ? h.controlDlq.count : null;
  const charts = [
    barChart('failures', 'failures per processor', days, processors.map((p, i) =>
      ({ name: p, color: PALETTE[i % PALETTE.length], values: pick((d) => d.failures[p] ?? 0) }))),
    barChart('queue-depth', 'queue depth (highest)', days,
      [{ name: 'open entries', color: '#1565c0', values: pick((d) => d.queueDepthMax) }]),
    barChart('oldest-open', 'oldest open entry, hours (highest)', days, [{ name: 'hours', color: '#e69500',
      values: pick((d) => d.oldestOpenAgeSecondsMax === null ? null : +(d.oldestOpenAgeSecondsMax / 3600).toFixed(2)) }]),
    ...phases.map((p) => barChart('phase-' + p, p + ' duration s (p50, p95)', days, [
      { name: 'p50', color: '#2e7d32', values: pick((d) => d.phaseSeconds[p]?.p50 ?? null) },
      { name: 'p95 - p50', color: '#a5d6a7',
        values: pick((d) => d.phaseSeconds[p] ? +(d.phaseSeconds[p].p95 - d.phaseSeconds[p].p50).toFixed(1) : null) },
    ])),
    barChart('dead-letters', 'dead letters', days,
      [{ name: 'dead letters', color: '#c62828', values: pick((d) => d.deadLetters) }]),
    barChart('control-dlq', 'control-dlq depth (highest; now ' + (dlq ?? '?') + ')', days,
      [{ name: 'control-dlq', color: '#6d4c41', values: pick((d) => d.controlDlqMax) }]),
  ];
  document.getElementById('health').innerHTML = charts.join('');
}
`;
