/**
 * The operator controls on the page, browser JavaScript loaded after the page script (it uses its
 * `getJson`, `esc`, `refresh` and `canAct`): pause and resume the pipeline, cancel the selected run
 * while it is RUNNING. Each asks for a note saying why, as the CLI does; a refusal is shown as the
 * server words it. The controls are drawn again only when what they offer changes, so a poll does not
 * wipe a note being typed.
 */
export const CONTROLS_SCRIPT = `
function renderControls(control, run) {
  const el = document.getElementById('controls');
  const paused = Boolean(control && control.paused);
  const cancellable = run && run.status === 'RUNNING' ? run.runId : '';
  const key = canAct + '|' + paused + '|' + cancellable;
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  if (!canAct) {
    el.innerHTML = '';
    return;
  }
  el.innerHTML = '<input class="note" id="control-note" data-testid="control-note" placeholder="note (why)"> ' +
    (paused ? '<button data-control="resume">resume the pipeline</button>'
      : '<button data-control="pause">pause the pipeline</button>') +
    (cancellable ? ' <button data-cancel="' + esc(cancellable) + '">cancel run ' + esc(cancellable) + '</button>' : '');
}

async function act(url) {
  const input = document.getElementById('control-note');
  const note = input.value.trim();
  if (!note) {
    alert('Write a note saying why.');
    return;
  }
  try {
    await getJson(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ note }) });
    input.value = '';
  } catch (e) {
    alert(e.message);
  }
  refresh(true);
}

document.getElementById('controls').addEventListener('click', (ev) => {
  const control = ev.target.closest('button[data-control]');
  if (control) act('/api/control/' + control.dataset.control);
  const cancel = ev.target.closest('button[data-cancel]');
  if (cancel) act('/api/runs/' + encodeURIComponent(cancel.dataset.cancel) + '/cancel');
});
`;
