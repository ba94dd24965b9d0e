import { spawn } from 'node:child_process';
import type { DeployStep } from '../../infra/deploy/gcloud.ts';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type RunCommand = (
  argv: readonly string[],
  options?: { cwd?: string; env?: NodeJS.ProcessEnv; quiet?: boolean },
) => Promise<CommandResult>;

/** Runs a command, echoing its output as it comes (unless `quiet`) and keeping it for the caller. */
export const runCommand: RunCommand = (argv, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: options.cwd,
      env: options.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!options.quiet) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!options.quiet) process.stderr.write(chunk);
    });
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new Error(
              `${argv[0]} is not installed: install the Google Cloud CLI ` +
                `(https://cloud.google.com/sdk/docs/install) and run \`gcloud auth login\``,
            )
          : error,
      ),
    );
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

const ALREADY_EXISTS = /already exists|ALREADY_EXISTS/i;

export class DeployStepError extends Error {
  override readonly name = 'DeployStepError';
}

/**
 * Runs the plan in order and stops at the first failure, naming the step. A create that finds
 * its resource already there updates it or keeps it, so running the plan again is safe.
 */
export async function runDeployPlan(
  steps: readonly DeployStep[],
  run: RunCommand,
  log: (line: string) => void,
): Promise<{ created: number; updated: number; kept: number }> {
  const counts = { created: 0, updated: 0, kept: 0 };
  for (const [i, step] of steps.entries()) {
    log(`[${i + 1}/${steps.length}] ${step.section}: ${step.argv.slice(1, 6).join(' ')}`);
    const result = await run(step.argv);
    if (result.code === 0) {
      counts.created += 1;
      continue;
    }
    if (step.ifExists && ALREADY_EXISTS.test(result.stderr)) {
      if (step.ifExists === 'skip') {
        counts.kept += 1;
        continue;
      }
      const updated = await run(step.ifExists.update);
      if (updated.code === 0) {
        counts.updated += 1;
        continue;
      }
      throw new DeployStepError(
        `step ${i + 1} (${step.section}) failed to update: ${step.ifExists.update.join(' ')}\n${updated.stderr.trim()}`,
      );
    }
    throw new DeployStepError(
      `step ${i + 1} (${step.section}) failed (exit ${result.code}): ` +
        `${step.argv.join(' ')}\n${result.stderr.trim()}\nFix the cause and run deploy again: every step is safe to repeat.`,
    );
  }
  return counts;
}
