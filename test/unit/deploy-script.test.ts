import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderShell } from '../../infra/deploy/deploy-script.ts';
import { NUMBER, runQuiet, steps } from '../support/gcloud/deploy-target.ts';

describe('deploy.sh, run on its own', () => {
  /** A stand-in `gcloud` on PATH: logs its arguments; creates fail as `mode` says. */
  function fakeGcloud(mode: 'exists' | 'denied' | 'update-denied'): { dir: string; log: string } {
    const dir = mkdtempSync(join(tmpdir(), 'phasegate-fake-gcloud-'));
    const log = join(dir, 'calls.log');
    const denied = 'ERROR: (gcloud) PERMISSION_DENIED: caller lacks permission';
    const failure =
      mode === 'denied' ? denied : 'ERROR: (gcloud) Resource already exists in the project (resource=x).';
    writeFileSync(
      join(dir, 'gcloud'),
      `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> ${JSON.stringify(log)}\n` +
        // The creates of resources (not `services identity create`, which is idempotent).
        `if [[ " $* " =~ \\ (topics|subscriptions|service-accounts|databases|composite|jobs)\\ create(\\ |\\ ` +
        `pubsub\\ ) ]]; then echo ${JSON.stringify(failure)} >&2; exit 1; fi\n` +
        (mode === 'update-denied'
          ? `if [[ " $* " == *" update "* ]]; then echo ${JSON.stringify(denied)} >&2; exit 1; fi\n`
          : '') +
        `if [[ " $* " == *" projects describe "* ]]; then echo ${NUMBER}; fi\nexit 0\n`,
    );
    chmodSync(join(dir, 'gcloud'), 0o755);
    return { dir, log };
  }

  const script = renderShell(steps);
  const runScript = (dir: string) => {
    const file = join(dir, 'deploy.sh');
    writeFileSync(file, script, { mode: 0o755 });
    return runQuiet(['bash', file], { env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir } });
  };

  /** deploy.sh with the fake gcloud of `mode`: its result and the gcloud calls it made. */
  const runWithFake = async (mode: Parameters<typeof fakeGcloud>[0]) => {
    const { dir, log } = fakeGcloud(mode);
    const result = await runScript(dir);
    return { result, calls: readFileSync(log, 'utf8').trim().split('\n') };
  };

  it('is re-runnable: a create whose resource exists is kept or updated, and the script goes on to the end', async () => {
    const { result, calls } = await runWithFake('exists');
    expect(result.code, result.stderr).toBe(0);
    const expected = steps.flatMap((s) => [
      s.argv.slice(1).join(' '),
      ...(typeof s.ifExists === 'object' ? [s.ifExists.update.slice(1).join(' ')] : []),
    ]);
    expect(calls).toEqual(expected);
    expect(result.stderr).toContain('(exists: kept as is)');
    expect(result.stderr).toContain('(exists: updating)');
  });

  it('stops at the first other failure and says so', async () => {
    const { result, calls } = await runWithFake('denied');
    expect(result.code).not.toBe(0);
    const firstCreate = steps.findIndex((s) => s.ifExists);
    expect(calls).toHaveLength(firstCreate + 1);
    expect(result.stderr).toContain('PERMISSION_DENIED');
    expect(result.stderr).toMatch(
      /deploy stopped: gcloud firestore databases create --location=europe-west1/,
    );
    expect(result.stderr).toContain('fix the cause and run this script again');
  });

  it('stops when an update fails too, and says where', async () => {
    const { result, calls } = await runWithFake('update-denied');
    expect(result.code).not.toBe(0);
    expect(calls.at(-1)).toMatch(/^pubsub subscriptions update run-requests-sub /);
    expect(result.stderr).toMatch(/deploy stopped: gcloud pubsub subscriptions update run-requests-sub /);
  });
});
