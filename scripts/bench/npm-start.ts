// Benchmark 9: `npm start` as a newcomer runs it, from the spawn to the end of its demo (its line
// `ready. ...`), then Ctrl-C as a terminal sends it (SIGINT to its process group) and its clean
// exit. Beside the floor of what it starts: both emulators (the same manager, flags and class
// archive) and as many bare functions-framework processes as it starts functions, all at once, to
// answering. The ratio says how much of a start is phasegate's own work; the target is absolute.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { planResources } from '../../infra/plan.ts';
import { launchEmulators } from '../lib/emulators.ts';
import { functionBuild } from '../lib/function-build.ts';
import { startFunctions } from '../lib/functions.ts';
import { repoRoot } from '../lib/local-pipeline.ts';
import type { BenchContext } from './context.ts';
import type { Result } from './report.ts';
import { percentile, ratio } from './stats.ts';

/** Seconds from the spawn to each point of `npm start`'s output, and to the end of its stop. */
export interface StartTimeline {
  /** Its first line of its own (`phasegate: starting ...`): npm, tsx and the pipeline module loaded. */
  firstLine: number;
  /** The dashboard's address: emulators, functions, topics and subscriptions up. */
  stackUp: number;
  /** Each demo run's final line. */
  runs: number[];
  /** The line `ready. ...`: the end of the demo. */
  demoEnd: number;
  /** Ctrl-C to the process group being empty. */
  stop: number;
}

const START_LIMIT_MS = 600_000;
const STOP_LIMIT_MS = 120_000;
const since = (start: number) => Math.round(performance.now() - start) / 1000;
const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

/** An environment without the emulator variables: npm start starts its own, as a newcomer's does. */
function newcomerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PUBSUB_EMULATOR_HOST;
  delete env.FIRESTORE_EMULATOR_HOST;
  return env;
}

/** One `npm start` to the end of its demo, then Ctrl-C; throws unless every demo run succeeded and it stopped cleanly. */
export async function timeNpmStart(projectId: string): Promise<StartTimeline> {
  const start = performance.now();
  const child = spawn('npm', ['start', '--', '--project', projectId], {
    cwd: repoRoot,
    env: newcomerEnv(),
    // Its own process group, as a terminal gives it: the Ctrl-C reaches all of it, and nothing else.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = child.pid;
  if (pgid === undefined) throw new Error('npm start did not spawn');
  const lines: string[] = [];
  const marks: Partial<Omit<StartTimeline, 'runs' | 'stop'>> & { runs: number[] } = { runs: [] };
  let interrupted: number | undefined;
  const interrupt = () => {
    interrupted ??= performance.now();
    if (groupAlive(pgid)) process.kill(-pgid, 'SIGINT');
  };
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    if (line.startsWith('phasegate: starting')) marks.firstLine ??= since(start);
    else if (/^\s+dashboard: http/.test(line)) marks.stackUp ??= since(start);
    else if (/^\s+(SUCCESS|PARTIAL|FAILED|SUPERSEDED)\s/.test(line)) marks.runs.push(since(start));
    else if (/^ready\. /.test(line)) {
      marks.demoEnd = since(start);
      interrupt();
    }
  });
  const timer = setTimeout(interrupt, START_LIMIT_MS);
  await new Promise<void>((resolve) => child.once('close', () => resolve()));
  clearTimeout(timer);
  const stopDeadline = Date.now() + STOP_LIMIT_MS;
  while (groupAlive(pgid) && Date.now() < stopDeadline) await new Promise((r) => setTimeout(r, 50));
  const leftOver = groupAlive(pgid);
  if (leftOver) process.kill(-pgid, 'SIGKILL');
  const stop = interrupted === undefined ? Number.NaN : since(interrupted);
  const output = lines.join('\n');
  const tail = output.slice(-3000);
  const { firstLine, stackUp, demoEnd, runs } = marks;
  if (firstLine === undefined || stackUp === undefined || demoEnd === undefined)
    throw new Error(`npm start did not reach the end of its demo:\n${tail}`);
  const succeeded = output.match(/^\s+SUCCESS\s/gm)?.length ?? 0;
  if (succeeded !== runs.length || /no run was created|lastError:/.test(output))
    throw new Error(`a demo run of npm start did not succeed:\n${tail}`);
  if (leftOver || !output.includes('stopped; nothing left running.'))
    throw new Error(
      `npm start did not stop cleanly on Ctrl-C${leftOver ? ' (its processes were killed)' : ''}:\n${tail}`,
    );
  return { firstLine, stackUp, runs, demoEnd, stop };
}

/** The floor: both emulators and `count` bare functions-framework processes, all started at once, to answering. */
export async function timeBareStart(logDir: string, count: number): Promise<number> {
  const source = (await functionBuild()).compiled('scripts/bench/bare-function.ts');
  const start = performance.now();
  const emulators = await launchEmulators({ env: newcomerEnv(), logDir });
  const specs = Array.from({ length: count }, (_, i) => ({
    name: `bare-${i}`,
    target: 'bare',
    source,
    signatureType: 'http' as const,
    env: { ...process.env, ...emulators.env },
    logDir,
  }));
  const [functions, ready] = await Promise.allSettled([startFunctions(specs), emulators.ready]);
  const seconds = since(start);
  if (functions.status === 'fulfilled') await Promise.all(functions.value.map((f) => f.process.stop()));
  await emulators.stop();
  if (functions.status === 'rejected') throw functions.reason;
  if (ready.status === 'rejected') throw ready.reason;
  return seconds;
}

const median = (values: readonly number[]) => percentile(values, 50);

export async function npmStartToDemo(ctx: BenchContext): Promise<Result> {
  const count = planResources(referenceDefinition).functions.length;
  const rounds = ctx.quick ? 1 : 3;
  const timelines: StartTimeline[] = [];
  const floors: number[] = [];
  // Alternated, so a machine that gets busier or quieter during the run weighs on both alike.
  for (let round = 1; round <= rounds; round++) {
    floors.push(await timeBareStart(ctx.logDir, count));
    const timeline = await timeNpmStart(ctx.project('start'));
    timelines.push(timeline);
    ctx.say(
      `  npm start ${round}/${rounds}: first line ${timeline.firstLine} s, stack up ${timeline.stackUp} s, ` +
        `runs done at ${timeline.runs.join(', ')} s, end of demo ${timeline.demoEnd} s, stopped in ` +
        `${timeline.stop} s; bare floor ${floors.at(-1)} s`,
    );
  }
  const end = median(timelines.map((t) => t.demoEnd));
  const floor = median(floors);
  return {
    id: 9,
    name: `npm start to the end of its demo (${referenceDefinition.name}: 2 dates), then Ctrl-C`,
    figures: {
      'end of demo s': end,
      'first line s': median(timelines.map((t) => t.firstLine)),
      'stack up s': median(timelines.map((t) => t.stackUp)),
      'demo s': Math.round(median(timelines.map((t) => t.demoEnd - t.stackUp)) * 100) / 100,
      'stop s': median(timelines.map((t) => t.stop)),
      runs: rounds,
    },
    baseline: {
      name: `both emulators and ${count} bare functions-framework processes started at once, to answering`,
      figures: { 's (median)': floor },
    },
    ratio: ratio(end, floor),
    headline: 'end of demo vs the bare processes',
    target: 'at most 20 s (absolute)',
    met: end <= 20,
  };
}
