import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { processesWithEnv } from '../../scripts/lib/process-table.ts';
import { repoRoot } from '../support/emulator-harness.ts';
import { exitAtStart } from '../support/exit-at-start.ts';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Every process it started inherits this variable: the kernel's process table finds them. */
  mark: string;
}

/** `npm start` from nothing, as a newcomer runs it: its own emulators, not the test run's. */
function npmStart(extraEnv: Record<string, string> = {}, extraArgs: string[] = []): Started {
  const mark = randomUUID();
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv, PHASEGATE_TEST_MARK: mark };
  if (!extraEnv.PUBSUB_EMULATOR_HOST) {
    delete env.PUBSUB_EMULATOR_HOST;
    delete env.FIRESTORE_EMULATOR_HOST;
  }
  const args = [
    '--import',
    'tsx',
    'scripts/start.ts',
    '--partitions',
    '2024-04-20',
    '--project',
    `start-${mark.slice(0, 8)}`,
    ...extraArgs,
  ];
  const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = { child, output: () => output, exited, mark };
  running.add(started);
  void exited.then(() => running.delete(started));
  return started;
}

/** npm starts still running after a test (it failed before its Ctrl-C): stopped as a person would, then for good. */
const running = new Set<Started>();
afterEach(async () => {
  for (const started of running) {
    started.child.kill('SIGINT');
    const stopped = await Promise.race([
      started.exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 30_000)),
    ]);
    if (!stopped) started.child.kill('SIGKILL');
    for (const { pid } of processesWithEnv('PHASEGATE_TEST_MARK', started.mark)) process.kill(pid, 'SIGKILL');
  }
});

/** Waits for `text` in its output; fails as soon as it exits without printing it. */
async function waitForOutput(started: Started, text: string): Promise<void> {
  let gone = false;
  void started.exited.then(() => (gone = true));
  while (!started.output().includes(text)) {
    if (gone)
      throw new Error(`npm start exited before printing "${text}":\n${started.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');

describe('npm start', () => {
  it('brings the whole stack up from compiled functions, runs the demo to SUCCESS, and leaves no process behind on Ctrl-C', async () => {
    const started = npmStart();
    await waitForOutput(started, 'ready.');
    const output = started.output();
    expect(output).toMatch(
      /SUCCESS\s+scrape ✓ 2\/2 · raw ✓ 2\/2 · analytics ✓ 2\/2 · precompute ✓ 2\/2 · predict ✓ 2\/2/,
    );
    const pids = [...output.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
    // Two emulators and eleven functions (orchestrator 2, phases 5, dlq-recorder, auto-retry, reconciler, dashboard), each its own process.
    expect(pids).toHaveLength(13);
    expect(output).toMatch(/dashboard: http:\/\/127\.0\.0\.1:\d+\//);
    expect(pids.every(isRunning)).toBe(true);
    // Every function loads the compiled build, as production does, not TypeScript through tsx.
    const functions = pids.map(commandLine).filter((c) => c.includes('functions-framework'));
    expect(functions).toHaveLength(11);
    for (const c of functions) {
      expect(c).toMatch(/--source=\S+\/\.phasegate\/build\/[0-9a-f]{16}\/functions\/index\.js/);
      expect(c).not.toContain('tsx');
    }
    // The functions every run passes through start warm; the others build their clients on their first request.
    const warm = pids
      .filter((pid) => environOf(pid).includes('PHASEGATE_WARM_START=on'))
      .map((pid) => /--target=(\S+)/.exec(commandLine(pid))?.[1]);
    expect(warm.sort()).toEqual([
      'orchestrator-completions',
      'orchestrator-runs',
      'phase-analytics',
      'phase-precompute',
      'phase-predict',
      'phase-raw',
      'phase-scrape',
    ]);

    started.child.kill('SIGINT');
    expect(await started.exited).toBe(0);
    expect(started.output()).toContain('stopped; nothing left running.');
    expect(pids.filter(isRunning)).toEqual([]);
    expect(processesWithEnv('PHASEGATE_TEST_MARK', started.mark)).toEqual([]);
  }, 300_000);

  it('with --iam runs the demo to SUCCESS through the local Cloud Run IAM front end, nothing refused, and stops it on Ctrl-C', async () => {
    // The test run's emulators (the newcomer's own are the first test's): this one is about the front end.
    const started = npmStart({ ...inject('emulatorEnv') }, ['--iam']);
    await waitForOutput(started, 'ready.');
    const output = started.output();
    expect(output).toMatch(/Cloud Run IAM \(local\)\s+http:\/\/127\.0\.0\.1:\d+\/<function>/);
    expect(output).toMatch(
      /SUCCESS\s+scrape ✓ 2\/2 · raw ✓ 2\/2 · analytics ✓ 2\/2 · precompute ✓ 2\/2 · predict ✓ 2\/2/,
    );
    expect(output).toMatch(/dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(as operator@example\.com/);
    expect(output).not.toContain('refused');
    // The functions run in the mode deploy sets, not with auth off.
    const pids = [...output.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(11);
    const functions = pids.filter((pid) => commandLine(pid).includes('functions-framework'));
    expect(functions).toHaveLength(11);
    for (const pid of functions)
      expect(environOf(pid).some((v) => v === 'PHASEGATE_AUTH=iam' || v === 'DASHBOARD_AUTH=iam')).toBe(true);
    started.child.kill('SIGINT');
    expect(await started.exited).toBe(0);
    expect(processesWithEnv('PHASEGATE_TEST_MARK', started.mark)).toEqual([]);
  }, 300_000);

  it(
    '--pipeline open-data runs the second pipeline: a week to SUCCESS, the bad week stopped by its value gate; ' +
      'with --exit-after-demo it then stops by itself',
    async () => {
      const started = npmStart({ ...inject('emulatorEnv') }, [
        '--pipeline',
        'open-data',
        '--partitions',
        '2024-W16,2024-W13',
        '--exit-after-demo',
      ]);
      // While it runs (with --exit-after-demo it stops on its own once the demo ends).
      await waitForOutput(started, 'demo: run for');
      const functions = [...started.output().matchAll(/\(pid (\d+)\)/g)]
        .map((m) => commandLine(Number(m[1])))
        .filter((c) => c.includes('functions-framework'));
      // Two orchestrator functions, three phases, dlq-recorder, auto-retry, reconciler, dashboard.
      expect(functions).toHaveLength(9);
      for (const c of functions)
        expect(c).toMatch(/--source=\S+\/\.phasegate\/build\/[0-9a-f]{16}\/examples\/open-data\/index\.js/);
      // Both runs ended (a PARTIAL is an end): it stops by itself, without a Ctrl-C, and exits 0.
      expect(await started.exited).toBe(0);
      const output = started.output();
      expect(output).toContain('starting the local stack of pipeline open-data');
      expect(output).toMatch(/open-data portal\s+http:\/\/127\.0\.0\.1:\d+\/weeks/);
      expect(output).toMatch(/phase-download .* phase-process .* phase-publish/s);
      expect(output).toMatch(
        /demo: run for 2024-W16\n(.*\n)*? {2}SUCCESS {2}download ✓ 1\/1 · process ✓ 1\/1 · publish ✓ 1\/1/,
      );
      expect(output).toMatch(
        /demo: run for 2024-W13\n(.*\n)*? {2}PARTIAL {2}download ✓ 1\/1 · process ✗ 1\/1 · publish · 0\/1/,
      );
      expect(output).toMatch(
        new RegExp(
          String.raw`lastError: gate of phase process failed: daily_counts \(week\) 1 of 28 fail their check ` +
            String.raw`\(2024-W13_harbour-bridge_2024-03-27: count -3 is outside`,
        ),
      );
      expect(output.indexOf('demo done.')).toBeGreaterThan(output.indexOf('demo: run for 2024-W13'));
      expect(output.indexOf('stopped; nothing left running.')).toBeGreaterThan(output.indexOf('demo done.'));
      expect(output).not.toMatch(/^ready\. /m);
      expect(processesWithEnv('PHASEGATE_TEST_MARK', started.mark)).toEqual([]);
    },
    300_000,
  );

  it('a pipeline the project does not name: npm start says which it names, starts nothing, and exits 1', async () => {
    const started = npmStart({ ...inject('emulatorEnv') }, ['--pipeline', 'nope']);
    expect(await started.exited).toBe(1);
    expect(started.output()).toMatch(/no pipeline "nope" in \S+package\.json: it names reference, open-data/);
    expect(started.output()).not.toContain('pubsub emulator');
    expect(processesWithEnv('PHASEGATE_TEST_MARK', started.mark)).toEqual([]);
    // A demo partition its scheme refuses, and an option npm start does not have: said before anything starts.
    const day = npmStart({ ...inject('emulatorEnv') }, [
      '--pipeline',
      'open-data',
      '--partitions',
      '2024-04-21',
    ]);
    expect(await day.exited).toBe(1);
    expect(day.output()).toContain('"2024-04-21" is not a partition');
    expect(day.output()).toContain('an ISO week');
    expect(day.output()).not.toContain('pubsub emulator');
    const old = npmStart({ ...inject('emulatorEnv') }, ['--dates', '2024-04-20']);
    expect(await old.exited).toBe(2);
    expect(old.output()).toMatch(/npm start: Unknown option '--dates'.*see npm start -- --help/);
  }, 60_000);

  it('a function that exits at start: npm start says which and why, stops what it started, and exits 1', async () => {
    const started = npmStart(exitAtStart('orchestrator-completions'));
    const code = await started.exited;
    const output = started.output();
    expect(code, output).toBe(1);
    expect(output).toMatch(
      /function orchestrator-completions \(log: [^)]+\) exited with code 3 before it answered/,
    );
    expect(output).toContain('exit-at-start: orchestrator-completions exits before serving');
    expect(output).toContain('stopped; nothing left running.');
    // Emulators, functions, anything else it started: none outlives it.
    expect(processesWithEnv('PHASEGATE_TEST_MARK', started.mark)).toEqual([]);
  }, 300_000);

  it('Ctrl-C while it is still starting stops what it has started so far, and exits 0', async () => {
    const started = npmStart();
    // The emulators are starting: interrupt there.
    await waitForOutput(started, 'starting the local stack');
    started.child.kill('SIGINT');
    expect(await started.exited, started.output()).toBe(0);
    expect(started.output()).toContain('stopped; nothing left running.');
    expect(started.output()).not.toContain('ready.');
    expect(processesWithEnv('PHASEGATE_TEST_MARK', started.mark)).toEqual([]);
  }, 300_000);
});
