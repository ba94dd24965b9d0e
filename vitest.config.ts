import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/emulator/sequencer.ts';

export default defineConfig({
  test: {
    // The order files start in (a project's own sequencer is not used): see the sequencer.
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node', sequence: { groupOrder: 0 } } },
      {
        test: {
          name: 'emulator',
          include: ['test/emulator/**/*.test.ts'],
          environment: 'node',
          // No metadata server here: keep the Google auth library from probing for one.
          env: { METADATA_SERVER_DETECTION: 'none' },
          // One pair of emulators for the run; each test owns a project id inside them.
          globalSetup: ['test/emulator/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Function processes and the JVMs share 2 cores: keep emulator files from piling up.
          maxWorkers: 2,
          // Unit tests first: a broken unit fails fast, before the emulators start.
          sequence: { groupOrder: 1 },
          fileParallelism: true,
        },
      },
    ],
  },
});
