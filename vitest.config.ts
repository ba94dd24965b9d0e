import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/emulator/sequencer.ts';

export default defineConfig({
  test: {
    // The order files start in (a project's own sequencer is not used): see the sequencer.
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'emulator',
          include: ['test/emulator/**/*.test.ts'],
          environment: 'node',
          // No metadata server here: keep the Google auth library from probing for one.
          env: { METADATA_SERVER_DETECTION: 'none' },
          // One pair of emulators for the run; each test owns a project id inside them.
          globalSetup: ['test/emulator/global-setup.ts'],
          // Generous: on a busy machine a test is slow, not broken (no test asserts a duration).
          testTimeout: 240_000,
          hookTimeout: 240_000,
          // Three files at a time on 2 cores: much of a file's time is waiting on redelivery
          // backoffs and ack deadlines, which a third file fills (measured: 298 s -> 240 s).
          maxWorkers: 3,
          // Unit tests first: a broken unit fails fast, before the emulators start.
          sequence: { groupOrder: 1 },
          fileParallelism: true,
        },
      },
    ],
  },
});
