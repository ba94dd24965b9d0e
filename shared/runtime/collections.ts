/** Firestore collections of the kit (the public contract; domain collections are the pipeline's). */
export const COLLECTIONS = {
  runs: 'runs',
  events: 'pipeline_events',
  queue: 'failed_processor_queue',
  /** One document per requestId: attempts, lease, and the completion to re-publish on redelivery. */
  processorRuns: 'processor_runs',
  /** `{runId}_{phaseId}`: which processors a phase expects, and the one trigger decision. */
  runPhases: 'run_phases',
  /** `{runId}_{phaseId}`: which completion delivery decides the phase, so two never wait on each other's locks. */
  decisionClaims: 'decision_claims',
  /** Messages decided in a transaction and re-sent until published. */
  outbox: 'outbox',
  /** `{partition}`: the run that holds the partition, so two runs of a partition are not started at once. */
  runLocks: 'run_locks',
  /** `{partition}`: an earlier partition a waiting run needs, and whether it was run (dependencies: 'trigger'). */
  dependencies: 'partition_dependencies',
  /** `{dedupKey}`: when an alert was last sent, so one outage is one alert. */
  alerts: 'alerts',
  /** `pipeline`: whether an operator paused the pipeline, since when, by whom and why. */
  control: 'pipeline_control',
  /** `run-request-{messageId}`: a run request that arrived while paused, released in order on resume. */
  held: 'held_run_requests',
  /** `{YYYY-MM-DD}`: the day's highest queue depth, oldest open entry age and control-dlq depth (health-daily.ts). */
  healthDaily: 'health_daily',
  /** `{from}_{to}`: a `phasegate backfill` of that range, as far as it got (operations/backfill-progress.ts). */
  backfills: 'backfills',
} as const;

/** Fields every domain document gets from the runtime's write helper. */
export interface Stamped {
  runId: string;
  updatedAt: string;
}
