import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  createFirestore,
  createFirestoreStore,
  defaultStoreOptions,
} from '../../shared/adapters/firestore-store.ts';
import { createPubSub, createPubSubPublisher } from '../../shared/adapters/pubsub-publisher.ts';
import type { Publisher } from '../../shared/ports/publisher.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';

/** What `npm start` leaves for the command line: where the running local stack is. */
const StackFileSchema = z.object({
  projectId: z.string(),
  PUBSUB_EMULATOR_HOST: z.string(),
  FIRESTORE_EMULATOR_HOST: z.string(),
  /** The pipeline it runs (a name in the project's package.json); absent in a file of an older npm start: the first. */
  pipeline: z.string().optional(),
  /** What its local services gave the functions (a source's URL): the command line sees the same. */
  env: z.record(z.string(), z.string()).default({}),
  /** An older npm start's: the reference pipeline's source API (now `env.SOURCE_API_URL`). */
  sourceApiUrl: z.string().optional(),
  dashboardUrl: z.string().optional(),
  pid: z.number(),
});
export type StackFile = z.infer<typeof StackFileSchema>;

export const stackFilePath = (root: string): string => join(root, '.phasegate', 'stack.json');

export class StackFileError extends Error {
  override name = 'StackFileError';
}

/** The stack file of `root`, when `npm start` runs there; one it cannot read is an error that names it. */
export function readStackFile(root: string): StackFile | undefined {
  const path = stackFilePath(root);
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new StackFileError(
      `${path} is not JSON (${error instanceof Error ? error.message : String(error)}): ` +
        'delete it if no npm start runs here, or wait for the one that is starting',
    );
  }
  const parsed = StackFileSchema.safeParse(raw);
  if (!parsed.success)
    throw new StackFileError(
      `${path} is not a stack file npm start wrote (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}): ` +
        'delete it if no npm start runs here',
    );
  const stack = parsed.data;
  if (stack.sourceApiUrl) stack.env = { SOURCE_API_URL: stack.sourceApiUrl, ...stack.env };
  return stack;
}

export function writeStackFile(root: string, stack: StackFile): void {
  mkdirSync(join(root, '.phasegate'), { recursive: true });
  writeFileSync(stackFilePath(root), JSON.stringify(stack, null, 2));
}

/** Removes the stack file if this process wrote it (another npm start of the project may have written its own since). */
export function removeStackFile(root: string): void {
  let written: StackFile | undefined;
  try {
    written = readStackFile(root);
  } catch {
    return;
  }
  if (written?.pid === process.pid) rmSync(stackFilePath(root), { force: true });
}

export interface Connection {
  projectId: string;
  store: DocumentStore;
  publisher: Publisher;
  /** Where it came from, for messages: "environment" or the stack file. */
  source: string;
  /** The pipeline of the stack `npm start` runs, when talking to it. */
  stackPipeline: string | undefined;
  close(): Promise<void>;
}

/** Whether the command line talks to the local stack of `npm start` (its stack file), not to what the environment names. */
export function talksToStack(root: string, env: NodeJS.ProcessEnv, projectOverride?: string): boolean {
  const projectId = projectOverride ?? env.GOOGLE_CLOUD_PROJECT;
  return !projectId || (!env.PUBSUB_EMULATOR_HOST && existsSync(stackFilePath(root)) && !projectOverride);
}

/**
 * The project the command line talks to: GOOGLE_CLOUD_PROJECT (with the emulator variables, or
 * a real project with application-default credentials), else the local stack `npm start` runs.
 */
export function connect(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
  projectOverride?: string,
): Connection {
  let projectId = projectOverride ?? env.GOOGLE_CLOUD_PROJECT;
  let source = 'environment';
  let stackPipeline: string | undefined;
  if (talksToStack(root, env, projectOverride)) {
    if (!existsSync(stackFilePath(root))) {
      throw new Error(
        'no project to talk to: set GOOGLE_CLOUD_PROJECT (and PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST ' +
          'for emulators), or run `npm start` in another terminal',
      );
    }
    const stack = readStackFile(root)!;
    projectId = projectOverride ?? stack.projectId;
    env.PUBSUB_EMULATOR_HOST = stack.PUBSUB_EMULATOR_HOST;
    env.FIRESTORE_EMULATOR_HOST = stack.FIRESTORE_EMULATOR_HOST;
    source = `the local stack (${stackFilePath(root)})`;
    stackPipeline = stack.pipeline;
    for (const [name, value] of Object.entries(stack.env)) env[name] ??= value;
  }
  if (!projectId) throw new Error('no project to talk to: set GOOGLE_CLOUD_PROJECT or pass --project');
  env.METADATA_SERVER_DETECTION ??= env.FIRESTORE_EMULATOR_HOST ? 'none' : env.METADATA_SERVER_DETECTION;
  const db = createFirestore(projectId);
  const pubsub = createPubSub(projectId);
  return {
    projectId,
    store: createFirestoreStore(db, defaultStoreOptions(env)),
    publisher: createPubSubPublisher(pubsub),
    source,
    stackPipeline,
    async close() {
      await db.terminate();
      await pubsub.close();
    },
  };
}
