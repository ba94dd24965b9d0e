import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { emulatorsAccepting, warmsAtStart } from '../../shared/adapters/warm-start.ts';
import { freePort } from '../../scripts/lib/ports.ts';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});
const listenLater = (port: number, afterMs: number) =>
  new Promise<number>((resolve) =>
    setTimeout(() => {
      const server = createServer();
      servers.push(server);
      server.listen(port, '127.0.0.1', () => resolve(Date.now()));
    }, afterMs),
  );

describe('warm start', () => {
  it('is on only where PHASEGATE_WARM_START=on (the local stack sets it), never by default', () => {
    expect(warmsAtStart({ PHASEGATE_WARM_START: 'on' })).toBe(true);
    expect(warmsAtStart({})).toBe(false);
    expect(warmsAtStart({ PHASEGATE_WARM_START: '1' })).toBe(false);
  });

  it('waits until both emulators accept connections before its first calls', async () => {
    const [firestore, pubsub] = [await freePort(), await freePort()];
    const listening = Promise.all([listenLater(firestore, 300), listenLater(pubsub, 600)]);
    await emulatorsAccepting({
      FIRESTORE_EMULATOR_HOST: `127.0.0.1:${firestore}`,
      PUBSUB_EMULATOR_HOST: `localhost:${pubsub}`,
    });
    const resolvedAt = Date.now();
    const [firestoreUp, pubsubUp] = await listening;
    expect(resolvedAt).toBeGreaterThanOrEqual(Math.max(firestoreUp, pubsubUp));
  });

  it('waits for nothing without emulators (production), and gives up on one that never listens', async () => {
    const started = Date.now();
    await emulatorsAccepting({});
    expect(Date.now() - started).toBeLessThan(1000);
    await emulatorsAccepting({ FIRESTORE_EMULATOR_HOST: `127.0.0.1:${await freePort()}` }, 300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });
});
