import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, waitForHttp } from './ports.ts';
import { startProcess, type ManagedProcess } from './processes.ts';

const require = createRequire(import.meta.url);

/** functions-framework's CLI, run under tsx so the entry module may be TypeScript. */
export function functionsFrameworkMain(): string {
  // The package exports only its API; main.js sits beside index.js in build/src.
  return join(dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');
}

export interface FunctionProcessSpec {
  name: string;
  target: string;
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

/** One functions-framework process per function, as Cloud Functions runs one instance per container. */
export async function startFunction(spec: FunctionProcessSpec): Promise<RunningFunction> {
  const port = spec.port ?? (await freePort());
  const args = ['--import', 'tsx', functionsFrameworkMain(), `--target=${spec.target}`, `--source=${spec.source}`, `--signature-type=${spec.signatureType}`, `--port=${port}`];
  const proc = startProcess(spec.name, process.execPath, args, {
    env: { ...spec.env, PORT: String(port), FUNCTION_TARGET: spec.target, K_SERVICE: spec.name },
    logFile: join(spec.logDir, `${spec.name}.log`),
    echo: spec.echo ? (line) => spec.echo?.(spec.name, line) : undefined,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(url, { timeoutMs: 30_000, isAlive: proc.isAlive, what: `function ${spec.name} (log: ${proc.logFile})` });
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { name: spec.name, port, url, process: proc };
}
