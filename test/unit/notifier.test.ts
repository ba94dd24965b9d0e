import { describe, expect, it } from 'vitest';
import { createNotifier } from '../../shared/recovery/notifier.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { setup } from '../support/recovery-setup.ts';

describe('notifier', () => {
  it('logs every alert it sends and deduplicates one outage within the window', async () => {
    const d = setup();
    const posted: string[] = [];
    const fakeFetch = ((_url: string, init: { body: string }) => {
      posted.push(init.body);
      return Promise.resolve(new Response('ok'));
    }) as unknown as typeof fetch;
    const notify = createNotifier({
      store: d.store,
      logger: d.logger,
      clock: d.clock,
      webhookUrl: 'http://hook',
      windowMs: 60_000,
      fetch: fakeFetch,
    });
    const alert = {
      kind: 'failed_permanent' as const,
      dedupKey: 'failed_permanent:scrape:x:http_503',
      runId: 'r',
      partition: '2024-05-01',
      phase: 'scrape',
      processor: 'x',
      message: 'down',
    };
    for (let i = 0; i < 100; i += 1) await notify(alert);
    expect(posted).toHaveLength(1);
    expect(await d.store.get(COLLECTIONS.alerts, alert.dedupKey)).toMatchObject({
      occurrences: 100,
      suppressed: 99,
    });
    d.clock.advance(61_000);
    await notify(alert);
    expect(posted).toHaveLength(2);
    expect(d.logger.lines.filter((l) => l.message.startsWith('ALERT failed_permanent'))).toHaveLength(2);
  });

  it('a webhook POST that fails is not an alert sent: it is kept, and sent again until it goes through', async () => {
    const d = setup();
    const delivered: string[] = [];
    let down = 2;
    const flakyFetch = ((_url: string, init: { body: string }) => {
      if (down-- > 0) return Promise.resolve(new Response('bad gateway', { status: 502 }));
      delivered.push(init.body);
      return Promise.resolve(new Response('ok'));
    }) as unknown as typeof fetch;
    const notify = createNotifier({
      store: d.store,
      logger: d.logger,
      clock: d.clock,
      webhookUrl: 'http://hook',
      windowMs: 60_000,
      fetch: flakyFetch,
    });
    const alert = {
      kind: 'gate_failed' as const,
      dedupKey: 'gate_failed:raw',
      runId: 'r',
      partition: '2024-05-01',
      phase: 'raw',
      processor: null,
      message: 'short',
    };
    await notify(alert);
    // The same outage inside the window is still suppressed, and does not erase the pending delivery.
    await notify(alert);
    expect(await d.store.get(COLLECTIONS.alerts, alert.dedupKey)).toMatchObject({
      webhookPending: true,
      webhookError: 'webhook answered 502',
      suppressed: 1,
    });
    // Not again within the minute; then once per tick until the webhook takes it.
    expect(await notify.resendPending!()).toBe(0);
    d.clock.advance(61_000);
    expect(await notify.resendPending!()).toBe(0);
    d.clock.advance(61_000);
    expect(await notify.resendPending!()).toBe(1);
    expect(delivered.map((b) => (JSON.parse(b) as { message: string }).message)).toEqual(['short']);
    expect(await d.store.get(COLLECTIONS.alerts, alert.dedupKey)).toMatchObject({ webhookPending: false });
    expect(await notify.resendPending!()).toBe(0);
  });
});
