import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import { compositeIndexFor, createIndexGuard, MissingIndexError } from '../../shared/store/indexes.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { manualClock } from '../support/factories.ts';

describe('index guard (production Firestore refuses a query without its composite index)', () => {
  it('needs a composite only where a range or order meets another field', () => {
    expect(
      compositeIndexFor('runs', {
        filters: [
          { field: 'partition', op: '==', value: 'x' },
          { field: 'status', op: '==', value: 'y' },
        ],
      }),
    ).toBeNull();
    expect(
      compositeIndexFor('runs', { orderBy: { field: 'createdAt', direction: 'desc' }, limit: 5 }),
    ).toBeNull();
    expect(compositeIndexFor('runs', { filters: [{ field: 'createdAt', op: '>=', value: 'x' }] })).toBeNull();
    expect(
      compositeIndexFor('runs', {
        filters: [{ field: 'status', op: '==', value: 'x' }],
        orderBy: { field: 'createdAt', direction: 'desc' },
      }),
    ).toMatchObject({
      fields: [
        { fieldPath: 'status', order: 'ASCENDING' },
        { fieldPath: 'createdAt', order: 'DESCENDING' },
      ],
    });
  });

  it('refuses such a query when no declared index serves it, and accepts the equality fields in any order', () => {
    const guard = createIndexGuard([
      {
        collectionGroup: 'c',
        queryScope: 'COLLECTION',
        fields: [
          { fieldPath: 'b', order: 'ASCENDING' },
          { fieldPath: 'a', order: 'ASCENDING' },
          { fieldPath: 't', order: 'ASCENDING' },
        ],
      },
    ]);
    expect(() =>
      guard('c', {
        filters: [
          { field: 'a', op: '==', value: 1 },
          { field: 'b', op: '==', value: 2 },
          { field: 't', op: '<', value: 3 },
        ],
      }),
    ).not.toThrow();
    expect(() =>
      guard('c', {
        filters: [
          { field: 'a', op: '==', value: 1 },
          { field: 't', op: '<', value: 3 },
        ],
      }),
    ).toThrow(MissingIndexError);
    expect(() =>
      guard('c', {
        filters: [
          { field: 'a', op: '==', value: 1 },
          { field: 'b', op: '==', value: 2 },
        ],
        orderBy: { field: 't', direction: 'desc' },
      }),
    ).toThrow(/c \(a asc, b asc, t desc\)/);
  });

  it('makes the auto-retry tick fail on a store without the queue index, as production would', async () => {
    const deps = {
      definition: testDefinition,
      publisher: new MemoryPublisher(),
      clock: manualClock(),
      logger: createMemoryLogger(),
    };
    await expect(runAutoRetryTick({ ...deps, store: new MemoryStore({ indexes: [] }) })).rejects.toThrow(
      /FAILED_PRECONDITION: The query requires an index: failed_processor_queue \(status asc, nextRetryAt asc\)/,
    );
    await expect(runAutoRetryTick({ ...deps, store: new MemoryStore() })).resolves.toMatchObject({
      retried: 0,
    });
  });
});
