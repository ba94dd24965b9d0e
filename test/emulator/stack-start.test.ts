import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { startStack } from '../../scripts/lib/stack.ts';
import { functionBuild } from '../../scripts/lib/function-build.ts';
import { spawnFunction } from '../../scripts/lib/functions.ts';
import { processesWithEnv } from '../../scripts/lib/process-table.ts';
import { testFunctionsSource, uniqueProjectId } from '../support/emulator-harness.ts';
import { exitAtStart } from '../support/exit-at-start.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';

describe('starting a stack', () => {
  it('fails at once when a function exits at start, shows its last lines, and leaves no process behind', async () => {
    const projectId = uniqueProjectId('exits-at-start');
    const start = startStack({
      definition: testDefinition,
      functionsSource: testFunctionsSource,
      projectId,
      emulators: { env: inject('emulatorEnv') },
      logDir: join(inject('logDir'), projectId),
      functionEnv: () => exitAtStart('orchestrator-runs'),
    });
    // The others were still coming up when it died: all of them are stopped, none is left.
    await expect(start).rejects.toThrow(
      new RegExp(
        String.raw`function orchestrator-runs \(log: [^)]+\) exited with code 3 before it answered at ` +
          String.raw`http:\/\/127\.0\.0\.1:\d+\/robots\.txt; its last lines:\n\s+` +
          String.raw`exit-at-start: orchestrator-runs exits before serving`,
      ),
    );
    await expect(start).rejects.toThrow(/every process started with them is stopped/);
    // Read from the kernel's process table, not from the stack's own bookkeeping.
    expect(processesWithEnv('GOOGLE_CLOUD_PROJECT', projectId)).toEqual([]);
  });

  it('a function without its auth mode refuses to start where Cloud Run would run it (K_SERVICE set), naming the variable', async () => {
    const projectId = uniqueProjectId('auth-unset');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...inject('emulatorEnv'),
      GOOGLE_CLOUD_PROJECT: projectId,
    };
    delete env.PHASEGATE_AUTH;
    delete env.DASHBOARD_AUTH;
    const source = (await functionBuild()).compiled(testFunctionsSource);
    const logDir = join(inject('logDir'), projectId);
    for (const [name, variable] of [
      ['phase-alpha', 'PHASEGATE_AUTH'],
      ['dashboard', 'DASHBOARD_AUTH'],
    ] as const) {
      const starting = await spawnFunction({
        name,
        target: name,
        source,
        signatureType: 'http',
        env,
        logDir,
      });
      await expect(starting.ready).rejects.toThrow(
        new RegExp(`${variable} is not set on Cloud Run \\(K_SERVICE=${name}\\): refusing to start`),
      );
      await starting.process.stop();
    }
    // A wrong mode is refused as well, through the stack, before any push arrives.
    const wrong = startStack({
      definition: testDefinition,
      functionsSource: testFunctionsSource,
      projectId,
      emulators: { env: inject('emulatorEnv') },
      logDir,
      functionEnv: (name): Record<string, string> =>
        name === 'orchestrator-runs' ? { PHASEGATE_AUTH: 'open' } : {},
    });
    await expect(wrong).rejects.toThrow(/invalid push authentication \(PHASEGATE_AUTH=open\)/);
    expect(processesWithEnv('GOOGLE_CLOUD_PROJECT', projectId)).toEqual([]);
  });
});
