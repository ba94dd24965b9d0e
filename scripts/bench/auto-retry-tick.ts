// Benchmark 5: one auto-retry tick over a large queue, beside the same I/O without its claims.
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { createFirestore, createFirestoreStore } from '../../shared/adapters/firestore-store.ts';
import { createPubSub, createPubSubPublisher } from '../../shared/adapters/pubsub-publisher.ts';
import { createLogger } from '../../shared/lib/logger.ts';
import { newTraceparent } from '../../shared/messages/fields.ts';
import { makeRequestId, phaseTopic, type ProcessorRequest } from '../../shared/messages/messages.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import type { Publisher } from '../../shared/ports/publisher.ts';
import { chunk, type DocumentStore } from '../../shared/ports/store.ts';
import { dueEntriesQuery, runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import type { Emulators } from '../lib/emulators.ts';
import type { BenchContext } from './context.ts';
import type { Result } from './report.ts';
import { ratio, timed } from './stats.ts';

/** `total` queue entries of the reference pipeline's processors, the first `due` of them due now. */
async function seedQueue(store: DocumentStore, total: number, due: number): Promise<void> {
  const now = Date.now();
  const phases = referenceDefinition.phases;
  const docs = Array.from({ length: total }, (_, i) => {
    const phase = phases[i % phases.length]!;
    const processor = phase.processors[i % phase.processors.length]!.name;
    const runId = `bench-run-${i}`;
    const request: ProcessorRequest = {
      runId,
      requestId: makeRequestId({ runId, phase: phase.id, processor }),
      phase: phase.id,
      processor,
      partition: '2024-04-21',
      triggerSource: 'manual',
      parentEventId: null,
      traceparent: newTraceparent(),
    };
    const isDue = i < due;
    return {
      collection: COLLECTIONS.queue,
      id: request.requestId,
      data: {
        requestId: request.requestId,
        status: isDue ? 'pending' : i % 3 === 0 ? 'failed_permanent' : 'pending',
        errorType: 'transient',
        errorReason: 'unavailable',
        lastError: 'bench',
        needsManualFix: false,
        runId,
        partition: request.partition,
        phase: phase.id,
        processor,
        request,
        failureEventId: `${request.requestId}--a1--processor_failed`,
        firstFailedAt: new Date(now - 3_600_000).toISOString(),
        retryCount: 0,
        nextRetryAt: isDue
          ? new Date(now - 60_000 - i).toISOString()
          : new Date(now + 3_600_000 + i).toISOString(),
        deadlineAt: null,
      },
    };
  });
  await store.writeBatch(docs);
}

type Deps = { store: DocumentStore; publisher: Publisher };

export async function autoRetryTick(ctx: BenchContext, emulators: Emulators): Promise<Result> {
  const total = ctx.quick ? 1000 : 10_000;
  const due = total / 10;
  ctx.say(`5. auto-retry tick over ${total} queue entries, ${due} due`);
  /** `run`'s time on a freshly seeded queue in a project of its own. */
  const measure = async (label: string, run: (deps: Deps) => Promise<unknown>) => {
    const projectId = ctx.project(label);
    const db = createFirestore(projectId, emulators.env.FIRESTORE_EMULATOR_HOST);
    const pubsub = createPubSub(projectId, emulators.env.PUBSUB_EMULATOR_HOST);
    try {
      for (const p of referenceDefinition.phases) await pubsub.createTopic(phaseTopic(p.id));
      const store = createFirestoreStore(db, {});
      await seedQueue(store, total, due);
      return (await timed(() => run({ store, publisher: createPubSubPublisher(pubsub) }))).ms;
    } finally {
      await pubsub.close();
      await db.terminate();
    }
  };
  const logger = createLogger({ name: 'bench', level: 'warn' });
  let retried = 0;
  const tickMs = await measure('retry', async (deps) => {
    retried = (
      await runAutoRetryTick({ definition: referenceDefinition, clock: systemClock, logger, ...deps })
    ).retried;
  });
  if (retried !== due) throw new Error(`the tick retried ${retried} entries, not the ${due} due`);
  // Baseline: the same I/O with no claims, no transactions and no events: read the due entries,
  // publish each request, mark them all in batches.
  const bareMs = await measure('retry-bare', async ({ store, publisher }) => {
    const entries = await store.query(COLLECTIONS.queue, dueEntriesQuery(new Date().toISOString(), due));
    await Promise.all(
      entries.map((e) => publisher.publish(phaseTopic(String(e.data.phase)), e.data.request)),
    );
    for (const part of chunk(entries, 500))
      await store.writeBatch(
        part.map((e) => ({
          collection: COLLECTIONS.queue,
          id: e.id,
          data: { status: 'retrying' },
          merge: true,
        })),
      );
  });
  const seconds = Math.round(tickMs / 100) / 10;
  return {
    id: 5,
    name: `auto-retry tick: ${total} entries, ${due} due`,
    figures: { entries: total, due, retried, seconds },
    baseline: {
      name: 'the same reads, publishes and writes without claims (no transactions, no events)',
      figures: { seconds: Math.round(bareMs / 100) / 10 },
    },
    ratio: ratio(tickMs, bareMs),
    headline: 'tick time',
    target: 'under 10 s',
    met: seconds < 10,
  };
}
