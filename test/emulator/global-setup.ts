import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmulators, type Emulators } from '../../scripts/lib/emulators.ts';
import { functionBuild } from '../../scripts/lib/function-build.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    emulatorEnv: { PUBSUB_EMULATOR_HOST: string; FIRESTORE_EMULATOR_HOST: string };
    logDir: string;
  }
}

let emulators: Emulators | undefined;

/** One pair of emulators for the whole run; every test owns a project id inside them. */
export async function setup(project: TestProject): Promise<void> {
  const logDir = mkdtempSync(join(tmpdir(), 'phasegate-test-'));
  // Compiled once here, before any function starts; the test files reuse this build.
  await functionBuild();
  emulators = await startEmulators({ logDir });
  project.provide('emulatorEnv', emulators.env);
  project.provide('logDir', logDir);
}

export async function teardown(): Promise<void> {
  await emulators?.stop();
}
