// Entry module of every function of the open-data example: wiring only (`npm start -- --pipeline open-data`).
import { registerPipelineFunctions, type PipelineFunctions } from '../../shared/index.ts';
import { openDataDefinition } from './definition.ts';
import { openDataExpectations } from './expectations.ts';
import { createOpenDataProcessors, REQUIRED_ENV } from './processors.ts';

export const pipeline: PipelineFunctions = {
  definition: openDataDefinition,
  processors: () => createOpenDataProcessors(),
  expectations: openDataExpectations,
  operations: { requiredEnv: REQUIRED_ENV },
};

registerPipelineFunctions(pipeline);
