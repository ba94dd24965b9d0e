import { checkCompleteness } from '../../../shared/operations/completeness.ts';
import { reconcile } from '../../../shared/operations/reconciler.ts';
import type { Logger } from '../../../shared/ports/logger.ts';
import type { DocumentStore } from '../../../shared/ports/store.ts';
import { runAutoRetryTick } from '../../../shared/recovery/auto-retry.ts';
import { discardEntry, resolveEntry, retryNow } from '../../../shared/recovery/queue-actions.ts';
import type { QueueEntry } from '../../../shared/recovery/queue-entry.ts';
import { TOPICS } from '../../../shared/messages/messages.ts';
import type { MemoryPublisher } from '../../../shared/testing/memory-publisher.ts';
import { testDefinition } from '../../fixtures/test-pipeline/definition.ts';
import { DATES, LEASE_MS, MAX_DELIVERIES, type Action, type ProcessorName } from './actions.ts';
import type { createBus, ModelClock } from './bus.ts';
import { completenessRules } from './completeness-rules.ts';
import { job } from './crashes.ts';
import type { Hold, SourceFaults } from './sources.ts';

/** What an action acts on: the world's parts, its bus and the switches of its faults. */
export interface ModelParts {
  common: {
    definition: typeof testDefinition;
    store: DocumentStore;
    publisher: MemoryPublisher;
    clock: ModelClock;
    logger: Logger;
  };
  bus: ReturnType<typeof createBus>;
  faults: Record<ProcessorName, SourceFaults>;
  setHold: (hold: Hold | null) => void;
  crashAfter: (writes: number | null) => void;
  openEntries: () => Promise<QueueEntry[]>;
  manualRetries: Map<string, number>;
}

/** One step of a sequence: a message published, delivered or dead-lettered, a tick, a fault, a person's action. */
export function createApply({
  common,
  bus,
  faults,
  setHold,
  crashAfter,
  openEntries,
  manualRetries,
}: ModelParts) {
  const { store, publisher, clock } = common;
  const { inFlight, delivered, sync, push, deadLetter, settle, pick } = bus;
  return async function apply(action: Action): Promise<void> {
    const deps = { ...common };
    switch (action.kind) {
      case 'request':
        await publisher
          .publish(TOPICS.runRequests, {
            partition: DATES[action.date],
            triggerSource: 'manual',
            ...(action.force ? { force: true } : {}),
          })
          .catch(() => undefined);
        break;
      case 'partial':
        await publisher
          .publish(TOPICS.runRequests, {
            partition: DATES[action.date],
            triggerSource: 'manual',
            startPhase: action.from,
            processors: [action.from === 'alpha' ? 'widgets' : 'summary'],
            ...(action.force ? { force: true } : {}),
          })
          .catch(() => undefined);
        break;
      case 'scheduled':
        await publisher
          .publish(TOPICS.runRequests, { relative: -2, timeZone: 'UTC', triggerSource: 'scheduled' })
          .catch(() => undefined);
        break;
      case 'deliver': {
        const m = pick(action.pick);
        if (m) await settle(m, await push(m));
        break;
      }
      case 'duplicate': {
        // Delivered and acked, then delivered again (Pub/Sub is at least once).
        const m = pick(action.pick);
        if (m) {
          await settle(m, await push(m));
          await push(m);
        }
        break;
      }
      case 'overlap': {
        // The ack deadline passed: a second delivery runs while the first still does.
        const m = pick(action.pick);
        if (m) {
          const results = await Promise.all([push(m), push(m)]);
          await settle(m, results.some(Boolean));
        }
        break;
      }
      case 'zombie': {
        // The first delivery outlives its lease mid-processor; a redelivery runs and finishes; then the first goes on.
        const m = pick(action.pick);
        if (!m) break;
        const requestId = (m.message as { requestId?: string }).requestId;
        if (!m.topic.startsWith('phase-') || !requestId) {
          await settle(m, await push(m));
          break;
        }
        let release = () => {};
        let reached = () => {};
        const reachedP = new Promise<void>((r) => (reached = r));
        setHold({ requestId, reached, release: new Promise<void>((r) => (release = r)) });
        const first = push(m);
        await Promise.race([reachedP, first]);
        setHold(null);
        clock.advance(LEASE_MS + 1000);
        const second = await push(m);
        release();
        await settle(m, (await first) || second);
        break;
      }
      case 'deadLetter': {
        const m = pick(action.pick);
        if (m) {
          inFlight.splice(inFlight.indexOf(m), 1);
          m.deliveries = MAX_DELIVERIES;
          await deadLetter(m);
        }
        break;
      }
      case 'lateDeadLetter': {
        // A copy of a message that was acked long ago dead-letters now (an old delivery's fate).
        const m = delivered.length ? delivered[action.pick % delivered.length] : undefined;
        if (m) await deadLetter({ ...m, deliveries: MAX_DELIVERIES });
        break;
      }
      case 'crash': {
        const m = pick(action.pick);
        if (!m) break;
        crashAfter(action.after);
        const acked = await push(m);
        crashAfter(null);
        await settle(m, acked);
        break;
      }
      case 'tick':
        await job(() => runAutoRetryTick(deps));
        break;
      case 'reconcile':
        await job(() => reconcile(deps));
        break;
      case 'advance':
        clock.advance(action.ms);
        break;
      case 'completeness':
        await job(() =>
          checkCompleteness(
            { definition: testDefinition, rules: completenessRules, store, clock },
            { from: DATES[action.date]!, to: DATES[action.date]!, enqueue: true },
          ),
        );
        break;
      case 'manual': {
        const entries = await openEntries();
        const entry = entries.length ? entries[action.pick % entries.length] : undefined;
        if (!entry) break;
        const act = action.op === 'retry' ? retryNow : action.op === 'resolve' ? resolveEntry : discardEntry;
        if (action.op === 'retry')
          manualRetries.set(entry.requestId, (manualRetries.get(entry.requestId) ?? 0) + 1);
        await job(async () => {
          try {
            await act(deps, entry.requestId, `model: ${action.op}`);
          } catch (error) {
            if (!(error instanceof Error) || error.name !== 'QueueActionError') throw error;
          }
        });
        break;
      }
      case 'fault': {
        const f = faults[action.processor];
        if (action.fault === 'permanent') f.permanent = true;
        else f[action.fault] = action.times;
        break;
      }
      case 'publishOutage':
        publisher.failNext(action.times);
        break;
    }
    sync();
  };
}
