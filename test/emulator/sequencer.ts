import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each file took in a whole `npm test` on a 2-core machine (two files at a time). The longest
 * start first, so the last to finish is a short one: on a fresh clone vitest has no timings of its own
 * and would start the smallest files (the chaos soak) last.
 * A file missing here starts after these; a rough figure is enough.
 */
const MEASURED_SECONDS: Record<string, number> = {
  'recovery.test.ts': 115,
  'partition-dependencies.test.ts': 100,
  'chaos.test.ts': 234,
  'cli-operations.test.ts': 148,
  'local-stack.test.ts': 124,
  'deploy-readme-gcloud.test.ts': 48,
  'gcloud-driver.test.ts': 6,
  'deploy-script.test.ts': 1,
  'backfill-order.test.ts': 56,
  'orchestration.test.ts': 58,
  'deploy-cli.test.ts': 72,
  'validate-cli.test.ts': 22,
  'validate-live.test.ts': 16,
  'init.test.ts': 30,
  'phase-runtime.test.ts': 42,
  'cli-queue.test.ts': 60,
  'dashboard-browser.test.ts': 53,
  'reference-pipeline.test.ts': 43,
  'source-faults.test.ts': 51,
  'reconciler.test.ts': 18,
  'emulator-reuse.test.ts': 10,
  'emulator-start.test.ts': 13,
  'iam-front-end.test.ts': 23,
  'stack-start.test.ts': 7,
  'recovery-model.test.ts': 8,
};

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const seconds = (f: TestSpecification) => MEASURED_SECONDS[f.moduleId.split('/').pop() ?? ''] ?? 0;
    return [...sorted].sort((a, b) => seconds(b) - seconds(a));
  }
}
