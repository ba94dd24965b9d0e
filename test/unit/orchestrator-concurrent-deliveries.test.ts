import { describe, expect, it } from 'vitest';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { addToOutbox, flushOutbox, ORPHANED_AFTER_MS } from '../../shared/orchestration/outbox.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { phaseTopic, TOPICS } from '../../shared/messages/messages.ts';
import { pubsubEvent } from '../support/factories.ts';
import { requestsOn, rid, world } from '../support/orchestrator-world.ts';

describe('deciding a phase when its last completions arrive together', () => {
  /** Runs the first phase's processors and returns their completions, undelivered. */
  async function completionsOfAlpha(w: ReturnType<typeof world>) {
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    for (const m of w.publisher.published.filter((p) => p.topic === phaseTopic('alpha')))
      await w.phases.alpha!(pubsubEvent(m.message, { messageId: m.messageId }));
    return w.publisher.published
      .filter((p) => p.topic === TOPICS.processorCompletions)
      .map((m) => pubsubEvent(m.message, { messageId: m.messageId }));
  }
  const decidedBy = (w: ReturnType<typeof world>) =>
    w.logger.lines.filter((l) => l.message === 'phase being decided by another delivery').length;

  it('lets one delivery decide and the other ack at once, instead of both waiting on the transaction', async () => {
    const w = world();
    const completions = await completionsOfAlpha(w);
    expect(completions).toHaveLength(2);
    await Promise.all(completions.map((c) => w.orchestrator.onProcessorOutcome(c)));
    expect(requestsOn(w, 'beta')).toHaveLength(1);
    expect(decidedBy(w)).toBe(1);
    expect(w.store.docs(COLLECTIONS.decisionClaims)).toHaveLength(1);
  });

  it('a claimant that fails before deciding decides on its redelivery; the other delivery does not decide meanwhile', async () => {
    const w = world();
    const [first, second] = await completionsOfAlpha(w);
    await w.orchestrator.onProcessorOutcome(first!);
    const transaction = w.store.transaction.bind(w.store);
    let failures = 1;
    // The decision's commit fails once, after the claim is taken.
    w.store.transaction = (fn) =>
      w.store.docs(COLLECTIONS.decisionClaims).length > 0 && failures-- > 0
        ? Promise.reject(new Error('14 UNAVAILABLE: commit failed'))
        : transaction(fn);
    await expect(w.orchestrator.onProcessorOutcome(second!)).rejects.toThrow(/UNAVAILABLE/);
    await w.orchestrator.onProcessorOutcome(first!);
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    expect(decidedBy(w)).toBe(1);
    await w.orchestrator.onProcessorOutcome(second!);
    expect(requestsOn(w, 'beta')).toHaveLength(1);
  });

  it('a stale claim stops nobody', async () => {
    const w = world();
    const completions = await completionsOfAlpha(w);
    await w.store.set(COLLECTIONS.decisionClaims, `${rid('2024-04-21', 'm1')}_alpha`, {
      owner: 'a-delivery-that-died',
      at: w.clock.now().toISOString(),
    });
    for (const c of completions) await w.orchestrator.onProcessorOutcome(c);
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    w.clock.advance(61_000);
    await w.orchestrator.onProcessorOutcome(completions[1]!);
    expect(requestsOn(w, 'beta')).toHaveLength(1);
  });
});

describe('outbox', () => {
  /** An entry decided by message `sender` (null: written before entries named their sender). */
  async function outboxWith(store: MemoryStore, sender: string | null = 'm1') {
    await store.transaction((tx) => {
      addToOutbox(tx, {
        id: 'd1--p',
        decisionId: 'd1',
        runId: 'r',
        topic: 'phase-beta',
        message: { requestId: 'r--beta--p' },
        attributes: {},
        status: 'pending',
        createdAt: '2026-01-01T00:00:00.000Z',
        sentAt: null,
        ...(sender ? { sender } : {}),
      });
      return Promise.resolve();
    });
  }
  const now = () => new Date('2026-01-01T00:00:01.000Z');

  it('is sent once when duplicate messages flush it at the same time', async () => {
    const store = new MemoryStore();
    const publisher = new MemoryPublisher();
    await outboxWith(store);
    const sent = await Promise.all(
      ['m1', 'm2', 'm3'].map((sender) => flushOutbox(store, publisher, 'd1', now, sender)),
    );
    expect(sent.reduce((a, b) => a + b, 0)).toBe(1);
    expect(publisher.on('phase-beta')).toHaveLength(1);
    expect(await store.get(COLLECTIONS.outbox, 'd1--p')).toMatchObject({ status: 'sent' });
  });

  it('is sent again by a redelivery of the message whose publish failed, not by another message', async () => {
    const store = new MemoryStore();
    const publisher = new MemoryPublisher();
    await outboxWith(store);
    const failing = { publish: () => Promise.reject(new Error('14 UNAVAILABLE')) };
    await expect(flushOutbox(store, failing, 'd1', now, 'm1')).rejects.toThrow(/UNAVAILABLE/);
    expect(await flushOutbox(store, publisher, 'd1', now, 'm2')).toBe(0);
    expect(await flushOutbox(store, publisher, 'd1', now, 'm1')).toBe(1);
    expect(publisher.on('phase-beta')).toHaveLength(1);
  });

  it('an entry its sender left pending past ORPHANED_AFTER_MS is sent by the next message that flushes it (a retry)', async () => {
    const store = new MemoryStore();
    const publisher = new MemoryPublisher();
    await outboxWith(store);
    const at = (ms: number) => () => new Date(Date.parse('2026-01-01T00:00:00.000Z') + ms);
    expect(await flushOutbox(store, publisher, 'd1', at(ORPHANED_AFTER_MS - 1), 'retry-of-m1')).toBe(0);
    expect(await flushOutbox(store, publisher, 'd1', at(ORPHANED_AFTER_MS), 'retry-of-m1')).toBe(1);
    expect(publisher.on('phase-beta')).toHaveLength(1);
    expect(await store.get(COLLECTIONS.outbox, 'd1--p')).toMatchObject({ status: 'sent' });
  });

  it('an entry written before entries named their sender is sent by whichever message flushes it', async () => {
    const store = new MemoryStore();
    const publisher = new MemoryPublisher();
    await outboxWith(store, null);
    expect(await flushOutbox(store, publisher, 'd1', now, 'm2')).toBe(1);
    expect(publisher.on('phase-beta')).toHaveLength(1);
    expect(await store.get(COLLECTIONS.outbox, 'd1--p')).toMatchObject({ status: 'sent' });
  });
});
