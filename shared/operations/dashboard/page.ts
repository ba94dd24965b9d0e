import { DASHBOARD_SCRIPT } from './page-script.ts';
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
<div id="controldlq" class="held" data-testid="control-dlq"></div>
<h2>Runs</h2>
<table id="runs">
<thead><tr>
<th>partition</th><th>run</th><th>status</th><th>phases (done/expected)</th>
<th>trigger</th><th>last error</th>
</tr></thead>
<tbody></tbody>
</table>
<div id="timeline"></div>
<h2>Failed-processor queue</h2>
<div id="queue-count" class="muted"></div>
<table id="queue">
<thead><tr>
<th>entry</th><th>partition</th><th>phase / processor</th><th>status</th>
<th>action needed</th><th>retries</th><th>error</th><th></th>
</tr></thead>
<tbody></tbody>
</table>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>`;
