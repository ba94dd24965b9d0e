import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { makeProcessorRequest, manualClock } from './factories.ts';

/** The recovery layer's dependencies over in-memory stores; `alerts` collects what the notifier sent. */
export function setup() {
  const store = new MemoryStore();
  const publisher = new MemoryPublisher();
  const clock = manualClock();
  const logger = createMemoryLogger();
  const alerts: string[] = [];
  const deps = {
    definition: testDefinition,
    store,
    publisher,
    clock,
    logger,
    notifier: (a: { kind: string; message: string }) =>
      Promise.resolve(void alerts.push(`${a.kind}: ${a.message}`)),
  };
  return { ...deps, alerts };
}

/** A pending dead-lettered entry of widgets in a fresh run (due on the manual clock), as `overrides` amend it. */
export async function seedEntry(store: MemoryStore, overrides: Record<string, unknown> = {}) {
  const request = makeProcessorRequest({
    phase: 'alpha',
    processor: 'widgets',
    runId: `run-${Math.random().toString(36).slice(2, 8)}`,
  });
  const entry = {
    requestId: request.requestId,
    status: 'pending',
    errorType: 'transient',
    errorReason: 'dead_lettered',
    lastError: 'boom',
    needsManualFix: false,
    runId: request.runId,
    partition: request.partition,
    phase: 'alpha',
    processor: 'widgets',
    request,
    failureEventId: `${request.requestId}--dead_lettered`,
    firstFailedAt: '2026-03-01T11:00:00.000Z',
    retryCount: 0,
    nextRetryAt: '2026-03-01T11:59:00.000Z',
    deadlineAt: null,
    ...overrides,
  };
  await store.set(COLLECTIONS.queue, request.requestId, entry);
  return entry;
}
