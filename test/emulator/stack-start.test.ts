import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { startStack } from '../../scripts/lib/stack.ts';
import { functionBuild } from '../../scripts/lib/function-build.ts';
import { spawnFunction } from '../../scripts/lib/functions.ts';
import { processesWithEnv } from '../../scripts/lib/process-table.ts';
import { eventually, testFunctionsSource, uniqueProjectId } from '../support/emulator-harness.ts';
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

  it('an emulator that does not come up while the functions start: every function is stopped and the emulator named', async () => {
    const projectId = uniqueProjectId('emulator-fails');
    const failed = new Error(
      'the pubsub emulator (log: pubsub-emulator.log) exited with code 1 before it answered',
    );
    // As launchEmulators hands it over: a rejection that is handled once the stack awaits it.
    const ready = Promise.reject(failed);
    ready.catch(() => undefined);
    const start = startStack({
      definition: testDefinition,
      functionsSource: testFunctionsSource,
      projectId,
      emulators: { env: inject('emulatorEnv'), ready },
      logDir: join(inject('logDir'), projectId),
    });
    await expect(start).rejects.toBe(failed);
    expect(processesWithEnv('GOOGLE_CLOUD_PROJECT', projectId)).toEqual([]);
  });

  it('a function started warm builds its clients and makes their first calls before any request', async () => {
    const projectId = uniqueProjectId('warm-start');
    const env = {
      ...process.env,
      ...inject('emulatorEnv'),
      GOOGLE_CLOUD_PROJECT: projectId,
      PHASEGATE_AUTH: 'off',
      PHASEGATE_WARM_START: 'on',
    };
    const source = (await functionBuild()).compiled(testFunctionsSource);
    const logDir = join(inject('logDir'), projectId);
    const starting = await spawnFunction({
      name: 'phase-alpha',
      target: 'phase-alpha',
      source,
      signatureType: 'http',
      env,
      logDir,
    });
    try {
      await starting.ready;
      await eventually(
        () => readFileSync(starting.process.logFile, 'utf8').includes('warm start: first calls made'),
        {
          timeoutMs: 120_000,
          what: 'the warm start line in the log of phase-alpha',
        },
      );
      expect(readFileSync(starting.process.logFile, 'utf8')).not.toContain('a first call failed');
    } finally {
      await starting.process.stop();
    }
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
