// `node --import tsx scripts/leftovers.ts MARK`: fails when any process started under
// PHASEGATE_PROCESS_MARK=MARK is still alive (an emulator, a function, a browser a test did not
// stop), names each, and stops it. CI runs the suite under a fresh mark, then this.
import { processesWithEnv } from './lib/process-table.ts';

const MARK_VARIABLE = 'PHASEGATE_PROCESS_MARK';
/** How long processes that are already stopping get to finish before they count as left behind. */
const GRACE_MS = 10_000;

const mark = process.argv[2];
if (!mark) {
  process.stderr.write(
    `usage: node --import tsx scripts/leftovers.ts MARK (the value of ${MARK_VARIABLE} the checked command ran with)\n`,
  );
  process.exit(2);
}

const deadline = Date.now() + GRACE_MS;
let left = processesWithEnv(MARK_VARIABLE, mark);
while (left.length > 0 && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 250));
  left = processesWithEnv(MARK_VARIABLE, mark);
}
if (left.length === 0) {
  process.stdout.write('leftovers: no process outlived the run\n');
  process.exit(0);
}
process.stderr.write(`leftovers: ${left.length} process(es) outlived the run; stopping them:\n`);
for (const p of left) {
  process.stderr.write(`  pid ${p.pid}: ${p.command.slice(0, 300)}\n`);
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    // Gone in the meantime.
  }
}
process.exit(1);
