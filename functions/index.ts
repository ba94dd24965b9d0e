// Entry module of every deployed function: wiring only. Each function is a named target
// (`--target` locally, `--entry-point` on deploy); clients are built lazily per instance.
import { registerPipelineFunctions } from '../shared/index.ts';
import { loadPipelineConfig } from './pipeline/config.ts';
import { referenceDefinition } from './pipeline/definition.ts';
import { referenceExpectations } from './pipeline/gate-expectations.ts';
import { createReferenceProcessors } from './pipeline/processors.ts';
import { referenceCompleteness } from './pipeline/completeness-rules.ts';
import { sourceCalendar } from './pipeline/source/calendar.ts';

registerPipelineFunctions({
  definition: referenceDefinition,
  processors: () => createReferenceProcessors(loadPipelineConfig()),
  expectations: referenceExpectations,
  completeness: ({ http }) => referenceCompleteness(sourceCalendar(http, loadPipelineConfig().sourceApiUrl)),
});
