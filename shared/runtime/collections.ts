/** Firestore collections of the kit (the public contract; domain collections are the pipeline's). */
export const COLLECTIONS = {
  runs: 'runs',
  events: 'pipeline_events',
  queue: 'failed_processor_queue',
  /** One document per requestId: attempts, lease, and the completion to re-publish on redelivery. */
  processorRuns: 'processor_runs',
} as const;

/** Fields every domain document gets from the runtime's write helper. */
export interface Stamped {
  runId: string;
  updatedAt: string;
}
