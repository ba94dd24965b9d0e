// Where Java and the two emulator jars are on this machine, or exactly what to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

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
  /** What `java -version` printed: a JVM's class archive is kept per exact build (jvm-class-cache.ts). */
  javaVersion: string;
  pubsubJar: string;
  firestoreJar: string;
}

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/**
 * The root of the Cloud SDK whose `gcloud` is first on PATH. Its launcher finds its root as the
 * folder above the real `bin/gcloud` it resolves to, and so does this, without running it
 * (`gcloud info` is a Python start: 2-3 s here, on every `npm start`). Only when that folder is
 * not an SDK (a snap's wrapper) is gcloud asked.
 */
export function gcloudSdkRoot(env: NodeJS.ProcessEnv): string | undefined {
  const onPath = (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'gcloud'))
    .find(isExecutable);
  if (!onPath) return undefined;
  const root = dirname(dirname(realpathSync(onPath)));
  if (existsSync(join(root, 'lib', 'gcloud.py'))) return root;
  try {
    return (
      execFileSync(onPath, ['info', '--format=value(installation.sdk_root)'], {
        encoding: 'utf8',
        env,
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 20_000,
      }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** Where the Cloud SDK may be installed, most likely first. */
export function sdkRoots(env: NodeJS.ProcessEnv): string[] {
  if (env.PHASEGATE_GCLOUD_SDK_ROOT) return [env.PHASEGATE_GCLOUD_SDK_ROOT];
  const roots: string[] = [];
  if (env.CLOUDSDK_ROOT_DIR) roots.push(env.CLOUDSDK_ROOT_DIR);
  const fromPath = gcloudSdkRoot(env);
  if (fromPath) roots.push(fromPath);
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

/** What `java -version` prints (on stderr), or undefined when java does not run. */
export function javaVersionText(java: string): string | undefined {
  const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return `${result.stdout}${result.stderr}`;
}

/** Java's major version from `java -version`, or undefined when java does not run. */
export function javaMajorVersion(java: string): number | undefined {
  const text = javaVersionText(java);
  return text === undefined ? undefined : parseJavaVersion(text);
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
  const javaVersion = javaVersionText(java);
  const major = javaVersion === undefined ? undefined : parseJavaVersion(javaVersion);
  if (major === undefined) problems.push(`Java was not found (tried "${java}"; set JAVA=/path/to/java)`);
  else if (major < 17) problems.push(`Java ${major} found at "${java}"; the emulators need Java 17 or newer`);
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
  if (problems.length > 0 || !pubsubJar || !firestoreJar || javaVersion === undefined)
    throw new EmulatorsMissingError(problems);
  return { java, javaVersion, pubsubJar, firestoreJar };
}
