import { join } from 'node:path';
import { repoRoot } from './emulator-harness.ts';

/** Environment that makes the function process named `name` exit at its cold start (see the fixture). */
export const exitAtStart = (name: string): Record<string, string> => ({
  NODE_OPTIONS: `--import=${join(repoRoot, 'test', 'fixtures', 'exit-at-start.js')}`,
  PHASEGATE_TEST_EXIT_AT_START: name,
});
