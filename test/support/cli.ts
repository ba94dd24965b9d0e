import { spawn } from 'node:child_process';
import { repoRoot } from './emulator-harness.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `phasegate` as a user would (bin/phasegate.js), against the given project. */
export const runCli = (args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> =>
  collect(process.execPath, ['bin/phasegate.js', ...args], env);

/** Runs a command line as an operator pastes it into bash, `phasegate` being this checkout's CLI. */
export const runCliLine = (line: string, env: NodeJS.ProcessEnv): Promise<CliResult> =>
  collect('bash', ['-c', line.replace(/^phasegate /, `${process.execPath} bin/phasegate.js `)], env);
