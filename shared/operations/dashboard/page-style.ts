/** The dashboard page's stylesheet: statuses are class names (`.status.FAILED`, `.phase.RUNNING`). */
export const DASHBOARD_STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2329; background: #fafafa }
h1 { font-size: 1.3rem; margin: 0 0 .2rem }
h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem }
table { border-collapse: collapse; width: 100%; background: #fff }
th, td { padding: .35rem .5rem; border-bottom: 1px solid #e3e6ea; text-align: left; vertical-align: top }
th { font-weight: 600; background: #f0f2f4 }
tr.run { cursor: pointer }
tr.run:hover { background: #f5f8ff }
tr.selected { background: #eaf1ff }
.status { font-weight: 600; padding: .1rem .45rem; border-radius: .3rem; color: #fff; white-space: nowrap }
.status.SUCCESS { background: #2e7d32 }
.status.PARTIAL { background: #e69500 }
.status.FAILED { background: #c62828 }
.status.RUNNING { background: #1565c0 }
.status.NOT_STARTED { background: #78909c }
.status.SUPERSEDED { background: #9e9e9e }
.status.CANCELLED { background: #6d4c41 }
.status.running { background: #1565c0 }
.status.finished { background: #2e7d32 }
.status.interrupted, .status.quiet { background: #ef6c00 }
.phase { display: inline-block; margin-right: .5rem; white-space: nowrap }
.phase.SUCCEEDED { color: #2e7d32 }
.phase.GATE_FAILED { color: #c62828; font-weight: 600 }
.phase.RUNNING { color: #1565c0 }
.phase.PENDING { color: #90a4ae }
.action { font-weight: 600 }
.NEEDS { color: #c62828 }
.muted { color: #6b7680 }
.err { color: #8a1c1c; max-width: 40rem }
input.note { width: 11rem }
button { margin-left: .2rem }
.held {
  background: #fdecea;
  border: 1px solid #c62828;
  color: #8a1c1c;
  padding: .5rem .8rem;
  border-radius: .3rem;
  margin: .8rem 0;
  font-weight: 600;
}
.held:empty { display: none }
h3 { font-size: .95rem; margin: 1rem 0 .4rem }
svg { background: #fff; display: block }
svg text.axis { font-size: 10px; fill: #4a545e }
rect.cell { cursor: pointer; stroke: #fff }
rect.cell.chosen { stroke: #1d2329; stroke-width: 2 }
.cell.succeeded, .bar.succeeded { fill: #2e7d32 }
.cell.running, .bar.running { fill: #1565c0 }
.cell.waiting, .bar.waiting { fill: #f2c94c }
.cell.gate_failed { fill: #e65100 }
.cell.failed, .bar.failed { fill: #c62828 }
.cell.not_run { fill: #cfd8dc }
.bar.queued { fill: #b0bec5 }
.bar.retried { fill: #ef6c00 }
.bar.dead_lettered { fill: #4a0000 }
line.marker { stroke-width: 2 }
line.marker.gate_passed { stroke: #2e7d32 }
line.marker.gate_failed { stroke: #e65100; stroke-dasharray: 3 2 }
.key { display: inline-block; padding: 0 .4rem; margin-left: .3rem; border-radius: .2rem; color: #fff }
.key.succeeded { background: #2e7d32 }
.key.running { background: #1565c0 }
.key.waiting { background: #f2c94c; color: #1d2329 }
.key.gate_failed { background: #e65100 }
.key.failed { background: #c62828 }
.key.not_run { background: #cfd8dc; color: #1d2329 }
.charts { display: flex; flex-wrap: wrap; gap: 1rem }
figure.chart { margin: 0; background: #fff; padding: .4rem; border: 1px solid #e3e6ea }
figure.chart figcaption { font-size: 12px; margin-bottom: .2rem }
.legend span { font-size: 11px; margin-right: .5rem }
.legend i { display: inline-block; width: .7rem; height: .7rem; margin-right: .2rem }
.backfill { margin: .3rem 0 .6rem }
.progress { height: .7rem; max-width: 40rem; background: #cfd8dc; border-radius: .2rem; overflow: hidden }
.progress .done { height: 100%; background: #2e7d32 }
.backfill.running .progress .done { background: #1565c0 }
.backfill.quiet .progress .done, .backfill.interrupted .progress .done { background: #ef6c00 }
`;
