import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each file took in a whole `npm test` on a 2-core machine (three files at a time). The longest
 * start first, so the last to finish is a short one: on a fresh clone vitest has no timings of its own
 * and would start the smallest files (the chaos soak) last.
 * A file missing here starts after these; a rough figure is enough.
 */
const MEASURED_SECONDS: Record<string, number> = {
  'cli-operations.test.ts': 122,
  'chaos.test.ts': 99,
  'partition-dependencies.test.ts': 94,
  'local-stack.test.ts': 88,
  'recovery.test.ts': 76,
  'cli-queue.test.ts': 72,
  'backfill-order.test.ts': 59,
  'init.test.ts': 53,
  'orchestration.test.ts': 53,
  'deploy-cli.test.ts': 52,
  'operator-controls.test.ts': 60,
  'phase-runtime.test.ts': 34,
  'source-faults.test.ts': 26,
  'dashboard-browser.test.ts': 23,
  'pause.test.ts': 18,
  'reference-pipeline.test.ts': 18,
  'reconciler.test.ts': 15,
  'validate-cli.test.ts': 12,
  'iam-front-end.test.ts': 11,
  'emulator-start.test.ts': 8,
  'stack-start.test.ts': 8,
  'validate-live.test.ts': 8,
  'emulator-reuse.test.ts': 5,
};

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const seconds = (f: TestSpecification) => MEASURED_SECONDS[f.moduleId.split('/').pop() ?? ''] ?? 0;
    return [...sorted].sort((a, b) => seconds(b) - seconds(a));
  }
}
