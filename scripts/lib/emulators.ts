import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { preferredOrFreePort, waitForHttp } from './ports.ts';
import { startProcess, type ManagedProcess } from './processes.ts';

const INSTALL_HELP = `
Install the Google Cloud CLI emulator components and Java 17+:
  Debian/Ubuntu (apt repository packages.cloud.google.com):
    sudo apt-get install google-cloud-cli-pubsub-emulator google-cloud-cli-firestore-emulator openjdk-17-jre-headless
  gcloud installed from the tarball:
    gcloud components install pubsub-emulator cloud-firestore-emulator
Or point phasegate at the jars directly:
  PHASEGATE_PUBSUB_EMULATOR_JAR=/path/to/cloud-pubsub-emulator-<version>-all.jar
  PHASEGATE_FIRESTORE_EMULATOR_JAR=/path/to/cloud-firestore-emulator.jar
  PHASEGATE_GCLOUD_SDK_ROOT=/path/to/google-cloud-sdk  (instead of asking gcloud)
Or reuse emulators you run yourself: PUBSUB_EMULATOR_HOST=host:port FIRESTORE_EMULATOR_HOST=host:port`;

export class EmulatorsMissingError extends Error {
  override readonly name = 'EmulatorsMissingError';
  constructor(problems: string[]) {
    super(`The local emulators cannot start:\n  - ${problems.join('\n  - ')}\n${INSTALL_HELP}`);
  }
}

export interface EmulatorLocations {
  java: string;
  pubsubJar: string;
  firestoreJar: string;
}

/** Where the Cloud SDK may be installed, most likely first. */
export function sdkRoots(env: NodeJS.ProcessEnv): string[] {
  const roots: string[] = [];
  if (env.PHASEGATE_GCLOUD_SDK_ROOT) return [env.PHASEGATE_GCLOUD_SDK_ROOT];
  if (env.CLOUDSDK_ROOT_DIR) roots.push(env.CLOUDSDK_ROOT_DIR);
  try {
    const root = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20_000,
    }).trim();
    if (root) roots.push(root);
  } catch {
    // gcloud is not on PATH: fall through to the usual install locations.
  }
  roots.push(
    '/usr/lib/google-cloud-sdk',
    '/usr/share/google-cloud-sdk',
    '/opt/google-cloud-sdk',
    join(env.HOME ?? '/root', 'google-cloud-sdk'),
  );
  return [...new Set(roots)];
}

function findPubsubJar(root: string): string | undefined {
  const lib = join(root, 'platform', 'pubsub-emulator', 'lib');
  if (!existsSync(lib)) return undefined;
  const jar = readdirSync(lib)
    .filter((f) => /^cloud-pubsub-emulator-.*\.jar$/.test(f))
    .sort()
    .pop();
  return jar ? join(lib, jar) : undefined;
}

function findFirestoreJar(root: string): string | undefined {
  const jar = join(root, 'platform', 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar');
  return existsSync(jar) ? jar : undefined;
}

/** Java's major version from `java -version` (printed on stderr), or undefined when java does not run. */
export function javaMajorVersion(java: string): number | undefined {
  const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return parseJavaVersion(`${result.stdout}${result.stderr}`);
}

export function parseJavaVersion(text: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (!match) return undefined;
  const major = Number(match[1]);
  return major === 1 ? Number(match[2]) : major;
}

/** Finds Java and both emulator jars, or says exactly what to install. */
export function locateEmulators(env: NodeJS.ProcessEnv = process.env): EmulatorLocations {
  const problems: string[] = [];
  const java = env.JAVA ?? 'java';
  const javaVersion = javaMajorVersion(java);
  if (javaVersion === undefined)
    problems.push(`Java was not found (tried "${java}"; set JAVA=/path/to/java)`);
  else if (javaVersion < 17)
    problems.push(`Java ${javaVersion} found at "${java}"; the emulators need Java 17 or newer`);
  const roots =
    env.PHASEGATE_PUBSUB_EMULATOR_JAR && env.PHASEGATE_FIRESTORE_EMULATOR_JAR ? [] : sdkRoots(env);
  const pubsubJar = env.PHASEGATE_PUBSUB_EMULATOR_JAR ?? roots.map(findPubsubJar).find(Boolean);
  const firestoreJar = env.PHASEGATE_FIRESTORE_EMULATOR_JAR ?? roots.map(findFirestoreJar).find(Boolean);
  const lookedAt = (variable: string) =>
    env[variable] ? `${variable}=${env[variable]}` : `looked under ${roots.join(', ')}`;
  if (!pubsubJar || !existsSync(pubsubJar))
    problems.push(`Pub/Sub emulator jar not found (${lookedAt('PHASEGATE_PUBSUB_EMULATOR_JAR')})`);
  if (!firestoreJar || !existsSync(firestoreJar)) {
    problems.push(`Firestore emulator jar not found (${lookedAt('PHASEGATE_FIRESTORE_EMULATOR_JAR')})`);
  }
  if (problems.length > 0 || !pubsubJar || !firestoreJar) throw new EmulatorsMissingError(problems);
  return { java, pubsubJar, firestoreJar };
}

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

/**
 * JVM flags for both emulators, unless asked for `jit: 'full'`: the client compiler only and the
 * serial collector. An emulator here lives minutes and serves a test's light traffic, where the
 * optimising compiler's work never pays back: measured on the emulator tests, half the
 * emulators' CPU (20 s -> 10 s). The benchmarks measure throughput, where it does pay back.
 */
export const QUICK_START_JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'] as const;

async function reuse(name: RunningEmulator['name'], host: string): Promise<RunningEmulator> {
  await waitForHttp(`http://${host}/`, {
    limitMs: 5000,
    what: `the ${name} emulator at ${host} (from ${name === 'pubsub' ? 'PUBSUB' : 'FIRESTORE'}_EMULATOR_HOST)`,
  });
  return { name, host, stop: () => Promise.resolve() };
}

async function launch(
  name: RunningEmulator['name'],
  java: string,
  args: string[],
  port: number,
  logDir: string,
): Promise<RunningEmulator> {
  const host = `127.0.0.1:${port}`;
  const proc = startProcess(`${name}-emulator`, java, args, {
    logFile: join(logDir, `${name}-emulator.log`),
  });
  try {
    await waitForHttp(`http://${host}/`, {
      process: proc,
      what: `the ${name} emulator (log: ${proc.logFile})`,
    });
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { name, host, process: proc, stop: () => proc.stop() };
}

/**
 * Starts both emulators as one JVM each on free ports (firebase.json's when free), or reuses
 * those named by PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST. `stop` ends only what it started.
 */
export async function startEmulators(options: {
  env?: NodeJS.ProcessEnv;
  logDir: string;
  preferredPorts?: { pubsub?: number; firestore?: number };
  jit?: 'quick-start' | 'full';
}): Promise<Emulators> {
  const env = options.env ?? process.env;
  const jvmFlags = options.jit === 'full' ? [] : QUICK_START_JVM_FLAGS;
  const started: RunningEmulator[] = [];
  try {
    const needsLaunch = !env.PUBSUB_EMULATOR_HOST || !env.FIRESTORE_EMULATOR_HOST;
    const where = needsLaunch ? locateEmulators(env) : undefined;
    if (env.PUBSUB_EMULATOR_HOST) {
      started.push(await reuse('pubsub', env.PUBSUB_EMULATOR_HOST));
    } else if (where) {
      const port = await preferredOrFreePort(options.preferredPorts?.pubsub);
      started.push(
        await launch(
          'pubsub',
          where.java,
          [...jvmFlags, '-jar', where.pubsubJar, '--host=127.0.0.1', `--port=${port}`],
          port,
          options.logDir,
        ),
      );
    }
    if (env.FIRESTORE_EMULATOR_HOST) {
      started.push(await reuse('firestore', env.FIRESTORE_EMULATOR_HOST));
    } else if (where) {
      const port = await preferredOrFreePort(options.preferredPorts?.firestore);
      const args = [
        ...jvmFlags,
        '-Duser.language=en',
        '-cp',
        where.firestoreJar,
        'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
        'start',
        '--host=127.0.0.1',
        `--port=${port}`,
      ];
      started.push(await launch('firestore', where.java, args, port, options.logDir));
    }
    const [pubsub, firestore] = started;
    if (!pubsub || !firestore) throw new Error('internal: emulators were neither reused nor started');
    return {
      pubsub,
      firestore,
      env: { PUBSUB_EMULATOR_HOST: pubsub.host, FIRESTORE_EMULATOR_HOST: firestore.host },
      stop: async () => {
        await Promise.all(started.map((e) => e.stop()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((e) => e.stop()));
    throw error;
  }
}
