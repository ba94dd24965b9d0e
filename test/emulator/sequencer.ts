import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each emulator file took on an idle 2-core machine (a fresh clone, two files at a
 * time). The longest start first, so the last to finish is a short one: on a fresh clone
 * vitest has no timings of its own and would start the smallest files (the chaos soak) last.
 * A file missing here starts after these; a rough figure is enough.
 */
const MEASURED_SECONDS: Record<string, number> = {
  'recovery.test.ts': 67,
  'chaos.test.ts': 64,
  'cli-operations.test.ts': 57,
  'local-stack.test.ts': 70,
  'deploy-with-gcloud.test.ts': 29,
  'backfill-order.test.ts': 46,
  'orchestration.test.ts': 43,
  'validate.test.ts': 36,
  'phase-runtime.test.ts': 36,
  'cli-queue.test.ts': 30,
  'dashboard-browser.test.ts': 26,
  'reference-pipeline.test.ts': 23,
  'source-faults.test.ts': 19,
  'reconciler.test.ts': 15,
  'emulator-reuse.test.ts': 10,
  'iam-front-end.test.ts': 11,
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
