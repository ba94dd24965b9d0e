import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { createFirestore, createFirestoreStore } from '../../shared/adapters/firestore-store.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import { startStack, type Stack } from '../../scripts/lib/stack.ts';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const testFunctionsSource = join(repoRoot, 'test', 'fixtures', 'test-pipeline', 'functions.ts');

/** A project id of its own per test: Pub/Sub and Firestore emulators keep projects apart. */
export function uniqueProjectId(label: string): string {
  return `t-${label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 16)}-${randomUUID().slice(0, 8)}`;
}

export interface Harness {
  stack: Stack;
  store: DocumentStore;
  publishJson(topic: string, payload: unknown): Promise<string>;
  publishRaw(topic: string, data: Buffer): Promise<string>;
  /** A pull subscription created now, to observe what a topic receives from here on. */
  observe(topic: string): Promise<Observer>;
  stop(): Promise<void>;
}

export interface Observer {
  messages: Message[];
  waitFor(count: number, timeoutMs?: number): Promise<Message[]>;
  close(): Promise<void>;
}

async function observeTopic(pubsub: PubSub, topic: string): Promise<Observer> {
  const [subscription] = await pubsub
    .topic(topic)
    .createSubscription(`observe-${topic}-${randomUUID().slice(0, 6)}`, { ackDeadlineSeconds: 60 });
  const messages: Message[] = [];
  const sub: Subscription = subscription;
  sub.on('message', (m: Message) => {
    messages.push(m);
    m.ack();
  });
  return {
    messages,
    async waitFor(count, timeoutMs = 30_000) {
      await eventually(() => messages.length >= count, {
        timeoutMs,
        what: `${count} message(s) on ${topic} (got ${messages.length})`,
      });
      return messages;
    },
    async close() {
      await sub.close();
    },
  };
}

/** Polls a condition: integration tests wait for effects, never for fixed times. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; what: string | (() => string) },
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${typeof options.what === 'function' ? options.what() : options.what}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startHarness(options: {
  label: string;
  definition: LoadedDefinition;
  functionsSource?: string;
  functionEnv?: (name: string) => Record<string, string>;
  /** Pub/Sub push tokens and Cloud Run IAM in front of every function, as deployed (see iam-front-end.ts). */
  iam?: boolean;
}): Promise<Harness> {
  const env = inject('emulatorEnv');
  const projectId = uniqueProjectId(options.label);
  process.env.FIRESTORE_EMULATOR_HOST = env.FIRESTORE_EMULATOR_HOST;
  const stack = await startStack({
    definition: options.definition,
    functionsSource: options.functionsSource ?? testFunctionsSource,
    projectId,
    emulators: { env },
    logDir: join(inject('logDir'), projectId),
    functionEnv: options.functionEnv,
    iam: options.iam,
  });
  const db = createFirestore(projectId);
  const observers: Observer[] = [];
  return {
    stack,
    store: createFirestoreStore(db),
    publishJson: (topic, payload) => stack.pubsub.topic(topic).publishMessage({ json: payload }),
    publishRaw: (topic, data) => stack.pubsub.topic(topic).publishMessage({ data }),
    async observe(topic) {
      const observer = await observeTopic(stack.pubsub, topic);
      observers.push(observer);
      return observer;
    },
    async stop() {
      await Promise.all(observers.map((o) => o.close()));
      await stack.stop();
      await db.terminate();
    },
  };
}

export interface FileStacks {
  /** The file's fault-free stack, shared by its tests that inject nothing; each owns its dates and ids. */
  readonly shared: Harness;
  /** A stack with injected faults for the current test only, stopped after it. */
  withFaults(label: string, functionEnv: (name: string) => Record<string, string>): Promise<Harness>;
}

/** The stacks of one test file: call at its top level (it registers the hooks that start and stop them). */
export function fileStacks(options: { label: string; definition: LoadedDefinition }): FileStacks {
  let shared: Harness | undefined;
  const faulty: Harness[] = [];
  beforeAll(async () => {
    shared = await startHarness(options);
  });
  afterAll(async () => {
    await shared?.stop();
  });
  afterEach(async () => {
    await Promise.all(faulty.splice(0).map((h) => h.stop()));
  });
  return {
    get shared() {
      if (!shared) throw new Error('the shared stack is started by beforeAll: use it inside a test');
      return shared;
    },
    async withFaults(label, functionEnv) {
      const h = await startHarness({ label, definition: options.definition, functionEnv });
      faulty.push(h);
      return h;
    },
  };
}
