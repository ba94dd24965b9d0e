/**
 * phasegate's public entry point (`import … from 'phasegate'`): what a pipeline is written with.
 * A pipeline imports only from here and from `phasegate/testing`; the rest of shared/ is the kit's
 * own and may change (a lint rule keeps functions/ and examples/ to these two).
 */
export { DefinitionError, loadDefinition, type LoadedDefinition } from './definition/load.ts';
export type {
  OutputSpec,
  PhaseIdOf,
  PhaseSpec,
  PipelineDefinition,
  PipelineDefinitionInput,
  ProcessorNameOf,
  ProcessorSpec,
} from './definition/schema.ts';
export { output, processor } from './definition/processor-spec.ts';
export {
  ACK_DEADLINE_MARGIN_SECONDS,
  STANDARD_REDELIVERY,
  standardPhaseSettings,
  type StandardPhaseSettingsOptions,
} from './definition/standard-settings.ts';
export {
  partitionScheme,
  PartitionError,
  type CustomPartitionScheme,
  type PartitionScheme,
  type PartitionSchemeInput,
} from './definition/partition.ts';
export type {
  DomainDoc,
  Processor,
  ProcessorContext,
  ProcessorRegistry,
  ProcessorResult,
  ReadStore,
} from './runtime/processor.ts';
export {
  HttpError,
  NotReadyError,
  PermanentError,
  RetryAfterError,
  TransientError,
  ValidationError,
  waitForEarlierPartitions,
} from './errors/errors.ts';
export {
  defineExpectations,
  type ExpectationContext,
  type GateExpectations,
  type Minimum,
  type DocumentCheck,
  type Expectation,
  type ValueExpectation,
} from './orchestration/gate.ts';
export type { CompletenessRules, ExpectedDoc } from './operations/completeness.ts';
export { registerPipelineFunctions, type PipelineFunctions } from './adapters/functions-entry.ts';
export type { LocalServices, PipelineLocal, PipelineOperations } from './pipeline-module.ts';
export { createHttpClient, type HttpClient, type HttpClientOptions } from './lib/http-client.ts';
export { parseMessage } from './messages/decode.ts';
export { COLLECTIONS } from './runtime/collections.ts';
export {
  TOPICS,
  type ProcessorCompleted,
  type ProcessorFailed,
  type ProcessorRequest,
  type RunRequest,
} from './messages/messages.ts';
export type { Clock } from './ports/clock.ts';
export type { RunDoc } from './orchestration/run-doc.ts';
export { RUN_STATUSES, type RunStatus } from './orchestration/run-status.ts';
export type { Logger } from './ports/logger.ts';
