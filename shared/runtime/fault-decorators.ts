import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore } from '../ports/store.ts';
import type { CrashPoint, FaultInjector } from './faults.ts';
import type { Processor } from './processor.ts';

/**
 * The faults of PHASEGATE_FAULTS as decorators, applied where the dependencies are built
 * (functions-entry.ts, the tests): handlers receive the decorated processors, store, publisher and
 * steps, and never see a fault. Each takes the injector or `undefined` (faults off, the production
 * case), and then returns what it was given.
 */

/**
 * Each processor's run first waits while its slow-run fault lasts, and its `ctx.write` fails while
 * its write-failure fault lasts. A call that writes documents uses up one failure, as the first of
 * its store transactions did (a failure ends the call); a call with no documents makes no store
 * call, so it cannot fail.
 */
export function withInjectedFaults(
  processors: Readonly<Record<string, Processor>>,
  injector: FaultInjector | undefined,
): Readonly<Record<string, Processor>> {
  if (!injector) return processors;
  return Object.fromEntries(
    Object.entries(processors).map(([name, processor]) => [name, faultyProcessor(name, processor, injector)]),
  );
}

function faultyProcessor(name: string, processor: Processor, injector: FaultInjector): Processor {
  const failsWrites = injector.failsWrites(name);
  return {
    async run(ctx) {
      await injector.delay(name);
      if (!failsWrites) return processor.run(ctx);
      return processor.run({
        ...ctx,
        write: async (collection, docs, options) => {
          if (docs.length > 0) injector.failWrite(name);
          return ctx.write(collection, docs, options);
        },
      });
    },
  };
}

/**
 * A store whose writes (`transaction`, `set`, `create`, `createWith`, `writeBatch`) fail while the write-failure
 * fault of `writer` lasts, one failure a call; reads pass through. For a handler that writes
 * through its store itself (the dead-letter recorder is `dlq-recorder`).
 */
export function withFailingWrites(
  store: DocumentStore,
  writer: string,
  injector: FaultInjector | undefined,
): DocumentStore {
  if (!injector?.failsWrites(writer)) return store;
  const fail = () => injector.failWrite(writer);
  return {
    get: (collection, id) => store.get(collection, id),
    getMany: (collection, ids) => store.getMany(collection, ids),
    countWhere: (collection, filters) => store.countWhere(collection, filters),
    query: (collection, options) => store.query(collection, options),
    transaction: async (fn) => {
      fail();
      return store.transaction(fn);
    },
    set: async (collection, id, data, options) => {
      fail();
      return store.set(collection, id, data, options);
    },
    create: async (collection, id, data) => {
      fail();
      return store.create(collection, id, data);
    },
    createWith: async (doc, alongside) => {
      fail();
      return store.createWith(doc, alongside);
    },
    update: async (collection, id, fields) => {
      fail();
      return store.update(collection, id, fields);
    },
    writeBatch: async (writes) => {
      fail();
      return store.writeBatch(writes);
    },
  };
}

/** Publishes every message `publishCopies` times (duplicate deliveries); resolves with the first id. */
export function withDuplicatePublishes(publisher: Publisher, injector: FaultInjector | undefined): Publisher {
  const copies = injector?.publishCopies ?? 1;
  if (copies <= 1) return publisher;
  return {
    async publish(topic, message, attributes) {
      const ids = await Promise.all(
        Array.from({ length: copies }, () => publisher.publish(topic, message, attributes)),
      );
      return ids[0]!;
    },
  };
}

/**
 * The step, then a crash at `point` while one is configured there and `when` holds of what the
 * step returned: for a step that records a decision, a crash after it and before what it decided
 * is sent, which a redelivery must recover.
 */
export function crashAfter<A extends unknown[], R>(
  step: (...args: A) => Promise<R>,
  point: CrashPoint,
  injector: FaultInjector | undefined,
  when: (result: R) => boolean = () => true,
): (...args: A) => Promise<R> {
  if (!injector) return step;
  return async (...args) => {
    const result = await step(...args);
    if (when(result)) injector.crashPoint(point);
    return result;
  };
}
