import { connect } from 'node:net';
import type { PubSub } from '@google-cloud/pubsub';
import { TOPICS } from '../messages/messages.ts';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';

/**
 * `PHASEGATE_WARM_START=on` (the local stack of `npm start` sets it): the instance builds its
 * clients as soon as it serves, not on its first request, as a Cloud Run minimum instance would
 * be warm. Off, the default and production's: an instance that never gets a request never pays.
 */
export const warmsAtStart = (env: NodeJS.ProcessEnv): boolean => env.PHASEGATE_WARM_START === 'on';

const POLL_MS = 100;

/** Whether something accepts TCP connections at `host:port` now (a refused connect costs microseconds). */
export function acceptsConnections(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Resolves once every emulator the environment names (FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST)
 * accepts connections, or after `limitMs`. The local stack starts its functions while the
 * emulators' JVMs still come up, and a first call made before then would leave its gRPC channel
 * in reconnect backoff (gRPC's: 1 s, then 1.6 times longer each time), not connecting for a while
 * after the emulator answers. Without emulators (production) it resolves at once.
 */
export async function emulatorsAccepting(env: NodeJS.ProcessEnv, limitMs = 300_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  const hosts = [env.FIRESTORE_EMULATOR_HOST, env.PUBSUB_EMULATOR_HOST].filter((h): h is string =>
    Boolean(h),
  );
  await Promise.all(
    hosts.map(async (hostPort) => {
      const { hostname, port } = new URL(`http://${hostPort}`);
      const host = hostname.replace(/^\[(.*)\]$/, '$1');
      while (!(await acceptsConnections(host, Number(port || 80))) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, POLL_MS));
    }),
  );
}

/**
 * Each client's first call, made before a request waits for it: an SDK client loads its protos and
 * opens its channel on its first call (about 0.2 s of CPU each, measured). A read of a document
 * nothing writes and the metadata of a topic: nothing is written, nothing published.
 */
export async function warmClients(
  store: DocumentStore,
  pubsub: PubSub,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  await emulatorsAccepting(env);
  await Promise.all([
    store.get(COLLECTIONS.runs, 'phasegate-warm-start'),
    pubsub.topic(TOPICS.runRequests).exists(),
  ]);
}
