import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, waitForHttp } from './ports.ts';
import { startProcess, type ManagedProcess } from './processes.ts';

const require = createRequire(import.meta.url);

/** functions-framework's CLI (the package exports only its API; main.js sits beside index.js). */
export function functionsFrameworkMain(): string {
  return join(dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');
}

export interface FunctionProcessSpec {
  name: string;
  target: string;
  /** The compiled JavaScript entry module (`functionBuild().compiled(...)`), as production loads it. */
  source: string;
  signatureType: 'cloudevent' | 'http';
  env: NodeJS.ProcessEnv;
  logDir: string;
  port?: number;
  echo?: (name: string, line: string) => void;
}

export interface RunningFunction {
  name: string;
  port: number;
  url: string;
  process: ManagedProcess;
}

export interface StartingFunction {
  name: string;
  port: number;
  url: string;
  /** The process, from the moment it is spawned: a caller can stop it while it is still starting. */
  process: ManagedProcess;
  /** Resolves when it answers HTTP; rejects at once if it exits first (with its last lines). */
  ready: Promise<RunningFunction>;
}

/** Spawns one functions-framework process per function, as Cloud Functions runs one instance per container. */
export async function spawnFunction(spec: FunctionProcessSpec): Promise<StartingFunction> {
  if (!/\.(m?js)$/.test(spec.source))
    throw new Error(
      `function ${spec.name}: ${spec.source} is not compiled JavaScript (start functions from functionBuild().compiled(...))`,
    );
  const port = spec.port ?? (await freePort());
  // Source maps: stack traces in logs and queue entries name the TypeScript lines.
  const args = [
    '--enable-source-maps',
    functionsFrameworkMain(),
    `--target=${spec.target}`,
    `--source=${spec.source}`,
    `--signature-type=${spec.signatureType}`,
    `--port=${port}`,
  ];
  const proc = startProcess(spec.name, process.execPath, args, {
    env: { ...spec.env, PORT: String(port), FUNCTION_TARGET: spec.target, K_SERVICE: spec.name },
    logFile: join(spec.logDir, `${spec.name}.log`),
    echo: spec.echo ? (line) => spec.echo?.(spec.name, line) : undefined,
  });
  const url = `http://127.0.0.1:${port}`;
  const running: RunningFunction = { name: spec.name, port, url, process: proc };
  // functions-framework answers /robots.txt itself (404) once the function module is loaded and
  // the server listens, without calling the function: the probe has no effect on it.
  const ready = waitForHttp(`${url}/robots.txt`, {
    process: proc,
    what: `function ${spec.name} (log: ${proc.logFile})`,
  }).then(() => running);
  return { ...running, ready };
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Some functions did not come up; every process started with them has been stopped. */
export class FunctionsStartError extends Error {
  override readonly name = 'FunctionsStartError';
  constructor(readonly failures: string[]) {
    super(
      `functions did not start, and every process started with them is stopped:\n  ${failures.join('\n  ')}`,
    );
  }
}

/**
 * Starts several functions at once, all or nothing: every process is tracked from the moment it
 * is spawned, and the first that fails to come up stops them all, those still starting included;
 * so does `stopWhenRejected` rejecting while they start (what they need failed), after which it
 * returns the functions that came up before (the caller, which knows why, stops them).
 */
export async function startFunctions(
  specs: readonly FunctionProcessSpec[],
  options: { stopWhenRejected?: Promise<unknown> } = {},
): Promise<RunningFunction[]> {
  const spawns = await Promise.allSettled(specs.map((spec) => spawnFunction(spec)));
  const spawned = spawns.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failures = spawns.flatMap((r) => (r.status === 'rejected' ? [message(r.reason)] : []));
  let stopping: Promise<unknown> | undefined;
  const stopAll = () => (stopping ??= Promise.all(spawned.map((f) => f.process.stop())));
  // What the functions need failed (an emulator) while they start: stop them now rather than wait for all.
  let settled = false;
  options.stopWhenRejected?.catch(() => void (settled || stopAll()));
  if (failures.length > 0) await stopAll();
  const running = await Promise.all(
    spawned.map((f) =>
      f.ready.catch(async (error: unknown) => {
        // Those stopped because another one failed did not fail on their own.
        if (!stopping) failures.push(message(error));
        await stopAll();
        return undefined;
      }),
    ),
  );
  settled = true;
  if (failures.length > 0) throw new FunctionsStartError(failures);
  return running.filter((f): f is RunningFunction => f !== undefined);
}
