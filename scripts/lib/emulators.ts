import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { locateEmulators, type EmulatorLocations } from './emulator-locations.ts';
import { ARCHIVING_STOP_GRACE_MS, classCacheFor } from './jvm-class-cache.ts';
import { preferredOrFreePort, waitForHttp } from './ports.ts';
import { startProcess, type ManagedProcess } from './processes.ts';

export {
  EmulatorsMissingError,
  javaMajorVersion,
  locateEmulators,
  parseJavaVersion,
  sdkRoots,
  type EmulatorLocations,
} from './emulator-locations.ts';

const FirebaseJsonSchema = z.object({
  emulators: z.object({
    firestore: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int() }),
    pubsub: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int() }),
  }),
});

/** Default emulator ports from firebase.json; a busy default is replaced by a free port. */
export function defaultPorts(firebaseJsonPath: string): { pubsub: number; firestore: number } {
  const parsed = FirebaseJsonSchema.parse(JSON.parse(readFileSync(firebaseJsonPath, 'utf8')));
  return { pubsub: parsed.emulators.pubsub.port, firestore: parsed.emulators.firestore.port };
}

export interface RunningEmulator {
  name: 'pubsub' | 'firestore';
  /** host:port, the form PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST take. */
  host: string;
  /** Set when this process started it; undefined when reused. */
  process?: ManagedProcess;
  stop(): Promise<void>;
}

export interface Emulators {
  pubsub: RunningEmulator;
  firestore: RunningEmulator;
  env: { PUBSUB_EMULATOR_HOST: string; FIRESTORE_EMULATOR_HOST: string };
  stop(): Promise<void>;
}

/** Both emulators from the moment their processes are spawned: their addresses are known, they may not answer yet. */
export interface StartingEmulators {
  env: Emulators['env'];
  /** Resolves once both answer; rejects, having stopped both, when one does not come up. */
  ready: Promise<Emulators>;
  /** Stops what it started, also while it is still coming up. */
  stop(): Promise<void>;
}

/**
 * JVM flags for both emulators, unless asked for `jit: 'full'`: the client compiler only and the
 * serial collector. An emulator here lives minutes and serves a test's light traffic, where the
 * optimising compiler's work never pays back: measured on the emulator tests, half the
 * emulators' CPU (20 s -> 10 s). The benchmarks measure throughput, where it does pay back.
 */
export const QUICK_START_JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'] as const;

/** Where the JVMs' class archives are kept (jvm-class-cache.ts). */
export const defaultClassCacheDir = fileURLToPath(new URL('../../.phasegate/jvm', import.meta.url));

interface Launching {
  emulator: RunningEmulator;
  ready: Promise<void>;
}

function reuse(name: RunningEmulator['name'], host: string): Launching {
  const ready = waitForHttp(`http://${host}/`, {
    limitMs: 5000,
    what: `the ${name} emulator at ${host} (from ${name === 'pubsub' ? 'PUBSUB' : 'FIRESTORE'}_EMULATOR_HOST)`,
  });
  return { emulator: { name, host, stop: () => Promise.resolve() }, ready };
}

function launch(
  name: RunningEmulator['name'],
  where: EmulatorLocations,
  jar: string,
  jvmFlags: readonly string[],
  args: string[],
  port: number,
  options: { logDir: string; classCacheDir: string; env: NodeJS.ProcessEnv },
): Launching {
  const host = `127.0.0.1:${port}`;
  const request = { dir: options.classCacheDir, name, java: where.java, javaVersion: where.javaVersion };
  const cache = classCacheFor({ ...request, jar, flags: jvmFlags }, options.env);
  const proc = startProcess(`${name}-emulator`, where.java, [...jvmFlags, ...cache.flags, ...args], {
    env: options.env,
    logFile: join(options.logDir, `${name}-emulator.log`),
  });
  let served = false;
  const ready = waitForHttp(`http://${host}/`, {
    process: proc,
    what: `the ${name} emulator (log: ${proc.logFile})`,
  }).then(() => {
    served = true;
  });
  const stop = async () => {
    await proc.stop(cache.hit ? undefined : ARCHIVING_STOP_GRACE_MS);
    cache.settle(await proc.exited, served);
  };
  return { emulator: { name, host, process: proc, stop }, ready };
}

/**
 * Spawns both emulators at once, one JVM each, on free ports (firebase.json's when free), or
 * reuses those named by PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST, and returns without
 * waiting for them to answer: what needs only their addresses (the functions) starts meanwhile.
 * `stop` ends only what it started.
 */
export async function launchEmulators(options: {
  env?: NodeJS.ProcessEnv;
  logDir: string;
  preferredPorts?: { pubsub?: number; firestore?: number };
  jit?: 'quick-start' | 'full';
  /** Where the JVMs' class archives are kept (default: this checkout's `.phasegate/jvm/`). */
  classCacheDir?: string;
}): Promise<StartingEmulators> {
  const env = options.env ?? process.env;
  const jvmFlags = options.jit === 'full' ? [] : QUICK_START_JVM_FLAGS;
  const where = !env.PUBSUB_EMULATOR_HOST || !env.FIRESTORE_EMULATOR_HOST ? locateEmulators(env) : undefined;
  const launchOptions = {
    logDir: options.logDir,
    classCacheDir: options.classCacheDir ?? defaultClassCacheDir,
    env,
  };
  const [pubsubPort, firestorePort] = await Promise.all([
    env.PUBSUB_EMULATOR_HOST ? undefined : preferredOrFreePort(options.preferredPorts?.pubsub),
    env.FIRESTORE_EMULATOR_HOST ? undefined : preferredOrFreePort(options.preferredPorts?.firestore),
  ]);
  const started: Launching[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((l) => l.emulator.stop()));
  };
  try {
    if (env.PUBSUB_EMULATOR_HOST) started.push(reuse('pubsub', env.PUBSUB_EMULATOR_HOST));
    else if (where && pubsubPort !== undefined) {
      const args = ['-jar', where.pubsubJar, '--host=127.0.0.1', `--port=${pubsubPort}`];
      started.push(launch('pubsub', where, where.pubsubJar, jvmFlags, args, pubsubPort, launchOptions));
    }
    if (env.FIRESTORE_EMULATOR_HOST) started.push(reuse('firestore', env.FIRESTORE_EMULATOR_HOST));
    else if (where && firestorePort !== undefined) {
      const args = [
        '-Duser.language=en',
        '-cp',
        where.firestoreJar,
        'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
        'start',
        '--host=127.0.0.1',
        `--port=${firestorePort}`,
      ];
      const jar = where.firestoreJar;
      started.push(launch('firestore', where, jar, jvmFlags, args, firestorePort, launchOptions));
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  const [pubsub, firestore] = started.map((l) => l.emulator);
  if (!pubsub || !firestore) throw new Error('internal: emulators were neither reused nor started');
  const emulators: Emulators = {
    pubsub,
    firestore,
    env: { PUBSUB_EMULATOR_HOST: pubsub.host, FIRESTORE_EMULATOR_HOST: firestore.host },
    stop: stopAll,
  };
  const ready = Promise.all(started.map((l) => l.ready)).then(
    () => emulators,
    async (error: unknown) => {
      await stopAll();
      throw error;
    },
  );
  // Whoever awaits `ready` sees the failure; until then it is not an unhandled rejection.
  ready.catch(() => undefined);
  return { env: emulators.env, ready, stop: stopAll };
}

/** Starts both emulators (or reuses those the environment names) and waits until both answer. */
export async function startEmulators(options: Parameters<typeof launchEmulators>[0]): Promise<Emulators> {
  return (await launchEmulators(options)).ready;
}
