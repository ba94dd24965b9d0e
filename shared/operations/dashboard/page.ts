import { BACKFILL_SCRIPT } from './page-backfill-script.ts';
import { BULK_SCRIPT } from './page-bulk-script.ts';
import { HEALTH_SCRIPT } from './page-health-script.ts';
import { CONTROLS_SCRIPT } from './page-controls-script.ts';
import { DASHBOARD_SCRIPT } from './page-script.ts';
import { VIEWS_SCRIPT } from './page-views-script.ts';
import { DASHBOARD_STYLE } from './page-style.ts';

/** The dashboard page: plain HTML and a small script that polls /api/state and re-renders in place. */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>phasegate</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${DASHBOARD_STYLE}</style>
</head>
<body>
<h1>phasegate</h1>
<div class="muted">
updated <span id="updated">…</span> ·
<label>partition <input id="partition" placeholder="all partitions" size="12"></label>
</div>
<div id="paused" class="held" data-testid="paused"></div>
<div id="controls" data-testid="controls"></div>
<div id="controldlq" class="held" data-testid="control-dlq"></div>
<h2 id="backfills-title" hidden>Backfills</h2>
<div id="backfills" data-testid="backfills"></div>
<h2>Partitions</h2>
<div class="muted">
<label>from <input id="grid-from" placeholder="first partition" size="12"></label>
<label>to <input id="grid-to" placeholder="last partition" size="12"></label>
(empty: the partitions of the newest runs) ·
<span class="key succeeded">succeeded</span><span class="key running">running</span>
<span class="key waiting">waiting</span><span class="key gate_failed">gate failed</span>
<span class="key failed">failed</span><span class="key not_run">not run</span>
</div>
<div id="grid"></div>
<h2>Runs</h2>
<table id="runs">
<thead><tr>
<th>partition</th><th>run</th><th>status</th><th>phases (done/expected)</th>
<th>trigger</th><th>last error</th>
</tr></thead>
<tbody></tbody>
</table>
<div id="timeline"></div>
<h2>Health, per day (UTC)</h2>
<div id="health" class="charts"></div>
<h2>Failed-processor queue</h2>
<div id="queue-count" class="muted"></div>
<div id="bulk" class="muted" data-testid="bulk" hidden>
all entries with
<select id="bulk-status"><option value="">any open status</option><option>pending</option><option>waiting</option>
<option>retrying</option><option>failed_permanent</option></select>
<input id="bulk-phase" placeholder="phase" size="10">
<input id="bulk-processor" placeholder="processor" size="14">
<select id="bulk-errorType"><option value="">any error type</option><option>transient</option><option>not_ready</option>
<option>permanent</option><option>bug</option></select>
<input id="bulk-errorReason" placeholder="error reason" size="12">
<input id="bulk-from" placeholder="from partition" size="11">
<input id="bulk-to" placeholder="to partition" size="11">
<input class="note" id="bulk-note" placeholder="note (why)">
<button data-bulk="retry" data-dry="true">preview a retry</button>
<button data-bulk="retry">retry all</button><button data-bulk="resolve">resolve all</button>
<button data-bulk="discard">discard all</button>
<div id="bulk-result" data-testid="bulk-result"></div>
</div>
<table id="queue">
<thead><tr>
<th>entry</th><th>partition</th><th>phase / processor</th><th>status</th>
<th>action needed</th><th>retries</th><th>error</th><th></th>
</tr></thead>
<tbody></tbody>
</table>
<script>${VIEWS_SCRIPT}${HEALTH_SCRIPT}${BACKFILL_SCRIPT}${DASHBOARD_SCRIPT}${CONTROLS_SCRIPT}${BULK_SCRIPT}</script>
</body>
</html>`;
