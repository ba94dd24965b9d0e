import type { ScaffoldValues } from './schemes.ts';

/** The tests of a new project: the pipeline in memory, then on the emulators. */
export function testFiles({ name, demo }: ScaffoldValues): Record<string, string> {
  return {
    'test/pipeline.test.ts': `// The pipeline over the in-memory store and publisher: every message delivered in order.
import { describe, expect, it } from 'vitest';
import { memoryPipeline } from 'phasegate/testing';
import { pipeline } from '../pipeline/index.ts';
import { readingOf, SENSORS } from '../pipeline/processors.ts';

describe('${name}', () => {
  it('runs ${demo} through both phases to SUCCESS', async () => {
    const memory = memoryPipeline(pipeline);
    const run = await memory.run('${demo}');
    expect(run?.status).toBe('SUCCESS');
    const mean = SENSORS.reduce((sum, s) => sum + readingOf('${demo}', s), 0) / SENSORS.length;
    expect(await memory.store.get('summaries', '${demo}')).toMatchObject({ sensors: SENSORS.length, mean });
  });

  it('refuses a partition that is not a key of its scheme, and runs nothing', async () => {
    const memory = memoryPipeline(pipeline);
    expect(await memory.run('not-a-key')).toBeUndefined();
    expect(memory.store.docs('readings')).toEqual([]);
  });
});
`,
    'test/emulators.test.ts': `// The pipeline on the Pub/Sub and Firestore emulators, every function in its own process.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { startOnEmulators } from 'phasegate/testing';

it('runs ${demo} to SUCCESS on the emulators', async () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const local = await startOnEmulators({ root, projectId: \`test-\${Date.now()}\` });
  try {
    const run = await local.run('${demo}');
    expect(run?.status, run?.lastError ?? 'no run started').toBe('SUCCESS');
    expect(await local.store.get('summaries', '${demo}')).toMatchObject({ partition: '${demo}' });
  } finally {
    await local.stop();
  }
});
`,
  };
}
