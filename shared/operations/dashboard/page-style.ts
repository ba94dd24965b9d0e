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
.SUCCESS { background: #2e7d32 }
.PARTIAL { background: #e69500 }
.FAILED { background: #c62828 }
.RUNNING { background: #1565c0 }
.NOT_STARTED { background: #78909c }
.SUPERSEDED { background: #9e9e9e }
.CANCELLED { background: #6d4c41 }
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
`;
