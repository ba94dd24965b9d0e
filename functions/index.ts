// Entry module of every deployed function: wiring only. Each function is a named target
// (`--target` locally, `--entry-point` on deploy); clients are built lazily per instance.
// `pipeline` is exported for the tools (`phasegate validate`, `npm start`, the command line).
import { registerPipelineFunctions, type PipelineFunctions } from '../shared/index.ts';
import { loadPipelineConfig, REQUIRED_ENV } from './pipeline/config.ts';
import { referenceDefinition } from './pipeline/definition.ts';
import { referenceExpectations } from './pipeline/gate-expectations.ts';
import { createReferenceProcessors } from './pipeline/processors.ts';
import { referenceCompleteness } from './pipeline/completeness-rules.ts';
import { seasonOfDate } from './pipeline/season.ts';
import { sourceCalendar } from './pipeline/source/calendar.ts';

export const pipeline: PipelineFunctions = {
  definition: referenceDefinition,
  processors: () => createReferenceProcessors(loadPipelineConfig()),
  expectations: referenceExpectations,
  completeness: ({ http }) => referenceCompleteness(sourceCalendar(http, loadPipelineConfig().sourceApiUrl)),
  // Dates of one season depend on each other (series state, form); seasons do not.
  operations: { requiredEnv: REQUIRED_ENV, backfillChain: seasonOfDate },
};

registerPipelineFunctions(pipeline);
