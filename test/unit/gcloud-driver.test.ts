import { beforeAll, describe, expect, it } from 'vitest';
import type { DeployStep } from '../../infra/deploy/gcloud.ts';
import type { RunCommand } from '../../scripts/lib/deploy-runner.ts';
import { startGoogleApis } from '../support/gcloud/google-apis.ts';
import { gcloudEnv, installedGcloud, startGcloudSession } from '../support/gcloud/gcloud-cli.ts';
import { NUMBER, runQuiet, steps } from '../support/gcloud/deploy-target.ts';

// The deploy plan through the installed Google Cloud CLI (its own parser, property resolution and
// API clients) against a local stand-in for the Google APIs: what gcloud accepts, and what it
// would send to Google. No network and no account: a dummy token, an empty configuration.

beforeAll(() => {
  // The test does not skip: gcloud is on this machine (the emulators come from it).
  installedGcloud();
});

describe('the in-process driver is the gcloud command', () => {
  it('sends the same requests as the gcloud script, for the commands that resolve resources while parsing', async () => {
    const update = (s: DeployStep | undefined) =>
      s && typeof s.ifExists === 'object' ? { ...s, argv: s.ifExists.update } : undefined;
    const sample = [
      update(steps.find((s) => s.argv.includes('scheduler'))),
      update(
        steps.find(
          (s) =>
            s.argv.includes('subscriptions') && s.argv.includes('create') && s.argv.includes('phase-raw-sub'),
        ),
      ),
      steps.find((s) => s.argv.includes('add-invoker-policy-binding') && s.argv.includes('dashboard')),
    ].map((s) => s!);
    const viaScript = await recorded(sample, runQuiet);
    const viaDriver = await recorded(sample);
    expect(viaScript.length).toBeGreaterThan(3);
    expect(viaDriver).toEqual(viaScript);
  }, 60_000);
});

/** The requests of `sample` against a deployed project's stand-in, with another default project set, by the driver or by `run`. */
async function recorded(sample: DeployStep[], run?: RunCommand): Promise<string[]> {
  const apis = await startGoogleApis({ world: 'existing', projectNumber: NUMBER });
  // With another default project set: what a parse-time resolution would pick up.
  const env = gcloudEnv({ apis: apis.env, defaultProject: 'someone-elses-project' });
  const session = run ? undefined : await startGcloudSession(env);
  try {
    for (const step of sample) {
      const result = run ? await run(step.argv, { env }) : await session!.run(step.argv);
      expect(result.code, result.stderr).toBe(0);
    }
    return apis.requests.map((r) => `${r.method} ${r.api} ${r.path} ${JSON.stringify(r.body)}`);
  } finally {
    await session?.close();
    await apis.close();
  }
}
