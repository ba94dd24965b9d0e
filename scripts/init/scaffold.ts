// `phasegate init <dir>`: the files of a new pipeline project, a two-phase example with one
// processor each, that passes its own `npm install && npm test` and runs its demo with
// `npm install && npm start`. It depends on phasegate from this checkout (a path) until phasegate is published.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const kitRoot = fileURLToPath(new URL('../..', import.meta.url));

export const SCAFFOLD_SCHEMES = ['daily', 'weekly', 'monthly'] as const;
export type ScaffoldScheme = (typeof SCAFFOLD_SCHEMES)[number];

export class ScaffoldError extends Error {
  override name = 'ScaffoldError';
}

const DEMO: Record<ScaffoldScheme, string> = { daily: '2024-04-21', weekly: '2024-W16', monthly: '2024-04' };
const CRON: Record<ScaffoldScheme, string> = {
  daily: '0 6 * * *',
  weekly: '0 6 * * 1',
  monthly: '0 6 1 * *',
};
const KEY: Record<ScaffoldScheme, string> = { daily: 'YYYY-MM-DD', weekly: 'YYYY-Www', monthly: 'YYYY-MM' };

function versionOf(pkg: string): string {
  const manifest = JSON.parse(readFileSync(join(kitRoot, 'node_modules', pkg, 'package.json'), 'utf8')) as {
    version: string;
  };
  // Exactly the versions this checkout is tested with.
  return manifest.version;
}

/** A project name npm takes: the folder's name, lowercased, other characters as `-`. */
export function projectName(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  if (!/^[a-z]/.test(name))
    throw new ScaffoldError(
      `"${basename(resolve(dir))}" does not make a project name: start the folder's name with a letter`,
    );
  return name;
}

export function scaffoldFiles(options: {
  name: string;
  scheme: ScaffoldScheme;
  kitPath?: string;
}): Record<string, string> {
  const { name, scheme } = options;
  const demo = DEMO[scheme];
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    'package.json': json({
      name,
      private: true,
      type: 'module',
      engines: { node: '>=20.19' },
      scripts: {
        start: 'phasegate start',
        test: 'vitest run',
        typecheck: 'tsc --noEmit',
        validate: 'phasegate validate',
      },
      phasegate: { pipelines: { [name]: { entry: 'pipeline/index.ts', local: 'pipeline/local.ts' } } },
      dependencies: { phasegate: `file:${options.kitPath ?? resolve(kitRoot)}` },
      devDependencies: {
        '@types/node': versionOf('@types/node'),
        typescript: versionOf('typescript'),
        vitest: versionOf('vitest'),
      },
    }),
    '.gitignore': 'node_modules/\n.phasegate/\n',
    // The indexes the kit's own queries need (the queue, runs, events): deploy creates them, validate checks them.
    'firestore.indexes.json': readFileSync(join(kitRoot, 'firestore.indexes.json'), 'utf8'),
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023'],
        types: ['node'],
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        allowImportingTsExtensions: true,
        verbatimModuleSyntax: true,
        noEmit: true,
      },
      include: ['pipeline', 'test', '*.ts'],
    }),
    'vitest.config.ts': `import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The emulator test starts functions and, unless the environment names running emulators, the emulators.
  test: { testTimeout: 180_000, hookTimeout: 180_000 },
});
`,
    'pipeline/definition.ts': `import { loadDefinition, type PipelineDefinitionInput } from 'phasegate';

/**
 * The pipeline: one ${scheme} partition (${KEY[scheme]}) per run, two phases. Every other part
 * (functions, topics, subscriptions, scheduler jobs, dashboard) follows from this object.
 */
const subscription = { ackDeadlineSeconds: 90, minBackoffSeconds: 5, maxBackoffSeconds: 60, maxDeliveryAttempts: 5 } as const;
const fn = { timeoutSeconds: 60, memoryMb: 256 } as const;

export const definitionInput = {
  name: '${name}',
  partition: '${scheme}',
  phases: [
    {
      id: 'collect',
      description: "fetch the partition's readings from the source",
      processors: [
        { name: 'collect-readings', description: 'one reading per sensor', outputs: [{ collection: 'readings' }] },
      ],
      subscription,
      function: fn,
      expectedDurationSeconds: 60,
    },
    {
      id: 'summarise',
      description: 'one summary of the readings',
      processors: [
        { name: 'summarise-readings', description: 'the mean of the readings', outputs: [{ collection: 'summaries' }] },
      ],
      subscription,
      function: fn,
      expectedDurationSeconds: 60,
    },
  ],
  schedules: {
    run: { cron: '${CRON[scheme]}', timeZone: 'UTC', localEverySeconds: 3600 },
    autoRetry: { cron: '*/15 * * * *', timeZone: 'UTC', localEverySeconds: 30 },
    reconcile: { cron: '* * * * *', timeZone: 'UTC', localEverySeconds: 15 },
  },
  queue: {
    maxRetries: 3,
    notReadyRetrySeconds: 900,
    notReadyDeadlineSeconds: 86_400,
    retryBackoffSeconds: 60,
    maxRetryBackoffSeconds: 3600,
    retryingStaleSeconds: 900,
  },
} as const satisfies PipelineDefinitionInput;

export const definition = loadDefinition(definitionInput);
`,
    'pipeline/processors.ts': `import { createHash } from 'node:crypto';
import type { ProcessorRegistry } from 'phasegate';
import type { definitionInput } from './definition.ts';

export const SENSORS = ['north', 'south', 'east', 'west'] as const;

/**
 * Stands in for your source: the same reading (0 to 100) for the same partition and sensor.
 * Replace it with a call through \`ctx.http\`; throw \`NotReadyError\` while the source has not
 * published the partition, \`PermanentError\` for what no retry can fix.
 */
export function readingOf(partition: string, sensor: string): number {
  return createHash('sha256').update(\`\${partition}/\${sensor}\`).digest().readUInt8(0) % 101;
}

export const processors: ProcessorRegistry<typeof definitionInput> = {
  'collect-readings': {
    async run(ctx) {
      const { partition } = ctx.request;
      const docs = SENSORS.map((sensor) => ({
        id: \`\${partition}_\${sensor}\`,
        data: { partition, sensor, value: readingOf(partition, sensor) },
      }));
      // Stamped with the run, written in batches and read back before the completion is published.
      await ctx.write('readings', docs);
      return { metrics: { readings: docs.length } };
    },
  },
  'summarise-readings': {
    async run(ctx) {
      const { partition, runId } = ctx.request;
      const readings = await ctx.store.query('readings', {
        filters: [
          { field: 'partition', op: '==', value: partition },
          { field: 'runId', op: '==', value: runId },
        ],
      });
      const mean = readings.reduce((sum, r) => sum + Number(r.data.value), 0) / Math.max(readings.length, 1);
      await ctx.write('summaries', [{ id: partition, data: { partition, sensors: readings.length, mean } }]);
      return { metrics: { sensors: readings.length } };
    },
  },
};
`,
    'pipeline/expectations.ts': `import { defineExpectations } from 'phasegate';
import { definitionInput } from './definition.ts';
import { SENSORS } from './processors.ts';

/**
 * What each phase must have written for a partition before the next one starts: a minimum, and
 * a check of every document's values. An output left out does not compile.
 */
export const expectations = defineExpectations(definitionInput, {
  collect: {
    readings: {
      partition: {
        min: SENSORS.length,
        each: ({ data }) =>
          typeof data.value === 'number' && data.value >= 0 && data.value <= 100
            ? undefined
            : \`value \${String(data.value)} is outside 0 … 100\`,
      },
    },
  },
  summarise: {
    summaries: {
      partition: {
        min: 1,
        each: ({ data }) =>
          data.sensors === SENSORS.length ? undefined : \`summarises \${String(data.sensors)} sensors, not \${SENSORS.length}\`,
      },
    },
  },
});
`,
    'pipeline/index.ts': `// Every function is started from this module (locally and deployed): wiring only.
import { registerPipelineFunctions, type PipelineFunctions } from 'phasegate';
import { definition } from './definition.ts';
import { expectations } from './expectations.ts';
import { processors } from './processors.ts';

export const pipeline: PipelineFunctions = { definition, processors, expectations };

registerPipelineFunctions(pipeline);
`,
    'pipeline/local.ts': `// How \`npm start\` runs the pipeline on this machine: the demo partitions, and (when your
// processors call a source) a stand-in for it under \`services\`, whose \`env\` every function gets.
import type { PipelineLocal } from 'phasegate';

export const local: PipelineLocal = { demo: ['${demo}'] };
`,
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
    'README.md': `# ${name}

A phasegate pipeline: one ${scheme} partition (${KEY[scheme]}) per run, two phases
(\`collect\`, then \`summarise\` once the gate has checked every reading).

\`\`\`sh
npm install && npm start   # emulators, every function, the demo run of ${demo}
npm install && npm test    # unit tests in memory, then the same pipeline on the emulators
\`\`\`

The emulators need the Google Cloud CLI's \`pubsub-emulator\` and \`cloud-firestore-emulator\`
components and Java 17; \`npm start\` says what is missing. While it runs, \`npx phasegate --help\`
talks to it (\`npx phasegate trigger --partition ${demo} --wait\`, \`npx phasegate queue list\`).

| file | what it holds |
|---|---|
| \`pipeline/definition.ts\` | phases, processors and their outputs, partition scheme, schedules, queue policy |
| \`pipeline/processors.ts\` | what each processor does (replace \`readingOf\` with your source) |
| \`pipeline/expectations.ts\` | what each output must hold before the next phase runs: counts and values |
| \`pipeline/index.ts\` | the entry module every function starts from |
| \`pipeline/local.ts\` | the demo partitions of \`npm start\`, and stand-ins for your source |
| \`test/\` | \`pipeline.test.ts\` in memory, \`emulators.test.ts\` on the emulators |

To add a processor or a phase, see phasegate's README, "Build your own pipeline": the compiler
(\`npm run typecheck\`) and \`npm run validate\` name what you forgot.
`,
  };
}

/** Writes the scaffold into `dir` (created; it must be empty or absent). Returns the files written. */
export function writeScaffold(dir: string, scheme: ScaffoldScheme): string[] {
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0)
    throw new ScaffoldError(`${target} is not empty: init writes a new project into an empty or new folder`);
  const files = scaffoldFiles({ name: projectName(target), scheme });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(target, path)), { recursive: true });
    writeFileSync(join(target, path), content);
  }
  return Object.keys(files);
}
