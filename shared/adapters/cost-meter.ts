// Counting decorators around the store and the publisher, and a counter of invocations, for the
// cost model (BENCHMARKS.md). Wrapped around the real clients only when PHASEGATE_COST_METER is set
// (cost-meter-file.ts): without it nothing here runs.
import type * as functions from '@google-cloud/functions-framework';
import { billedMs, billedRequestBytes, countReads, messageBytes, queryReads } from '../cost/billing-rules.ts';
import { emptyCounts, type CostCounts, type OperationCounts } from '../cost/counts.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore, Transaction } from '../ports/store.ts';
import { PushEnvelopeSchema } from '../runtime/push-envelope.ts';

export interface CostMeter {
  /** What was counted so far (live). */
  readonly counts: CostCounts;
  store(inner: DocumentStore): DocumentStore;
  publisher(inner: Publisher): Publisher;
  /**
   * One request into function `name`: a push request when `body` is a push envelope. Returns what to
   * call when the answer is sent (once; later calls do nothing), which adds the handler's time.
   */
  invocation(name: string, body: unknown): () => void;
}

/**
 * Counts as Google bills: a get is a read even when the document is missing; a query is one read
 * per document returned, at least one; a count is one read per 1,000 index entries, at least one;
 * every document written is a write; a commit refused by its precondition (a create of a document
 * that exists, an update of one that does not) is counted apart (`refusedWrites`: nothing is
 * written; whether it is billed, Google's pages do not say); a transaction's reads count on every
 * attempt, its writes and deletes once, when it commits. Pub/Sub publishes and push deliveries count
 * their data volume, at least 1,000 bytes a request (the publisher sends one message a request).
 */
export function createCostMeter(options: { now?: () => number; onChange?: () => void } = {}): CostMeter {
  const now = options.now ?? (() => performance.now());
  const changed = options.onChange ?? (() => undefined);
  const counts = emptyCounts();
  const add = (collection: string, op: keyof OperationCounts, n: number) => {
    const ops = (counts.firestore[collection] ??= { reads: 0, writes: 0, deletes: 0, refusedWrites: 0 });
    ops[op] += n;
    changed();
  };
  const perCollection = (writes: readonly { collection: string }[]) => {
    const by = new Map<string, number>();
    for (const w of writes) by.set(w.collection, (by.get(w.collection) ?? 0) + 1);
    return by;
  };
  const addVolume = (volume: CostCounts['publishes'], bytes: number) => {
    volume.requests += 1;
    volume.bytes += bytes;
    volume.billedBytes += billedRequestBytes(bytes);
    changed();
  };

  const store = (inner: DocumentStore): DocumentStore => {
    const metered: DocumentStore = {
      async get(collection, id) {
        const found = await inner.get(collection, id);
        add(collection, 'reads', 1);
        return found;
      },
      async getMany(collection, ids) {
        const found = await inner.getMany(collection, ids);
        add(collection, 'reads', ids.length);
        return found;
      },
      async set(collection, id, data, setOptions) {
        await inner.set(collection, id, data, setOptions);
        add(collection, 'writes', 1);
      },
      async create(collection, id, data) {
        const created = await inner.create(collection, id, data);
        add(collection, created ? 'writes' : 'refusedWrites', 1);
        return created;
      },
      async createWith(doc, alongside) {
        const created = await inner.createWith(doc, alongside);
        // One commit: the document and what goes alongside are written, or all refused.
        for (const [collection, n] of perCollection([doc, ...alongside]))
          add(collection, created ? 'writes' : 'refusedWrites', n);
        return created;
      },
      async update(collection, id, fields) {
        const updated = await inner.update(collection, id, fields);
        add(collection, updated ? 'writes' : 'refusedWrites', 1);
        return updated;
      },
      async writeBatch(writes) {
        await inner.writeBatch(writes);
        for (const [collection, n] of perCollection(writes)) add(collection, 'writes', n);
      },
      async countWhere(collection, filters) {
        const n = await inner.countWhere(collection, filters);
        add(collection, 'reads', countReads(n));
        return n;
      },
      async query(collection, queryOptions) {
        const docs = await inner.query(collection, queryOptions);
        add(collection, 'reads', queryReads(docs.length));
        return docs;
      },
      async transaction(fn) {
        // Only the attempt that commits writes; every attempt's reads are billed.
        let attemptWrites: { collection: string }[] = [];
        let attemptDeletes: { collection: string }[] = [];
        const result = await inner.transaction((tx) => {
          attemptWrites = [];
          attemptDeletes = [];
          const counted: Transaction = {
            async get(collection, id) {
              const found = await tx.get(collection, id);
              add(collection, 'reads', 1);
              return found;
            },
            async getAll(refs) {
              const found = await tx.getAll(refs);
              for (const [collection, n] of perCollection(refs)) add(collection, 'reads', n);
              return found;
            },
            set(collection, id, data, setOptions) {
              tx.set(collection, id, data, setOptions);
              attemptWrites.push({ collection });
            },
            delete(collection, id) {
              tx.delete(collection, id);
              attemptDeletes.push({ collection });
            },
          };
          return fn(counted);
        });
        for (const [collection, n] of perCollection(attemptWrites)) add(collection, 'writes', n);
        for (const [collection, n] of perCollection(attemptDeletes)) add(collection, 'deletes', n);
        return result;
      },
    };
    return metered;
  };

  const publisher = (inner: Publisher): Publisher => ({
    async publish(topic, message, attributes) {
      const messageId = await inner.publish(topic, message, attributes);
      const dataBytes = Buffer.byteLength(JSON.stringify(message) ?? '');
      addVolume(counts.publishes, messageBytes({ dataBytes, attributes, messageId }));
      return messageId;
    },
  });

  const invocation = (name: string, body: unknown): (() => void) => {
    const started = now();
    const push = PushEnvelopeSchema.safeParse(body);
    if (push.success) {
      const { data, attributes, messageId, message_id } = push.data.message;
      const dataBytes = data ? Buffer.from(data, 'base64').length : 0;
      addVolume(
        counts.deliveries,
        messageBytes({ dataBytes, attributes, messageId: messageId ?? message_id ?? '' }),
      );
    }
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const ms = now() - started;
      const fn = (counts.invocations[name] ??= { count: 0, handlerMs: 0, billedMs: 0 });
      fn.count += 1;
      fn.handlerMs += ms;
      fn.billedMs += billedMs(ms);
      changed();
    };
  };

  return { counts, store, publisher, invocation };
}

/** An HTTP function that counts each of its invocations, from the request to the answer sent. */
export function meteredHttp(
  meter: CostMeter,
  name: string,
  handler: functions.HttpFunction,
): functions.HttpFunction {
  return (req, res) => {
    const done = meter.invocation(name, req.body);
    res.once('finish', done);
    res.once('close', done);
    handler(req, res);
  };
}
