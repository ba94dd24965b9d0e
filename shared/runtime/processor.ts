import type { PipelineDefinitionInput, ProcessorNameOf } from '../definition/schema.ts';
import type { HttpClient } from '../lib/http-client.ts';
import type { ProcessorRequest } from '../messages/messages.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { DocData, DocumentStore } from '../ports/store.ts';

/** Reads only: every write goes through `ctx.write`, so it is stamped and commits with the attempt's completion. */
export type ReadStore = Pick<DocumentStore, 'get' | 'getMany' | 'countWhere' | 'query'>;

export interface DomainDoc {
  /** Derived from the domain (an item id, a key of the source), so a redelivery overwrites instead of duplicating. */
  id: string;
  data: DocData;
}

export interface ProcessorContext {
  request: ProcessorRequest;
  /** 1 on the first delivery, counted by the runtime across redeliveries. */
  attempt: number;
  store: ReadStore;
  /**
   * Idempotent write; stamps `runId` and `updatedAt`. `merge` keeps fields it does not set. Staged: it
   * commits with the attempt's completion record (a run of more than 500 documents commits them 500 at
   * a time), so `store` does not read it back during the run.
   */
  write(collection: string, docs: readonly DomainDoc[], options?: { merge?: boolean }): Promise<number>;
  http: HttpClient;
  logger: Logger;
  clock: Clock;
}

export interface ProcessorResult {
  /** Processor-specific counters for the completion message (rows read, rejected, duplicates...). */
  metrics?: Record<string, number>;
}

export interface Processor {
  run(ctx: ProcessorContext): Promise<ProcessorResult>;
}

/** Every processor the definition names, and no other: a missing or misspelt one is a compile error. */
export type ProcessorRegistry<D extends PipelineDefinitionInput> = {
  readonly [K in ProcessorNameOf<D>]: Processor;
};
