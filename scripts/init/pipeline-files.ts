import type { ScaffoldValues } from './schemes.ts';

/**
 * The pipeline of a new project: its definition, processors, expectations, entry module and
 * local demo. A two-phase example with one processor each, written as a user would.
 */
export function pipelineFiles({
  name,
  scheme,
  demo,
  keyFormat,
  cron,
}: ScaffoldValues): Record<string, string> {
  return {
    'pipeline/definition.ts': `import { loadDefinition, type PipelineDefinitionInput } from 'phasegate';

/**
 * The pipeline: one ${scheme} partition (${keyFormat}) per run, two phases. Every other part
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
    run: { cron: '${cron}', timeZone: 'UTC', localEverySeconds: 3600 },
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
      // Stamped with the run and committed with the completion record, before the completion is published.
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
  };
}
