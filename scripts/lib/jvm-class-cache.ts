// The emulators' JVMs start from a class-data archive (JDK 13+ dynamic CDS): the first start of
// an emulator writes one when it exits (-XX:ArchiveClassesAtExit), every later start maps it
// (-XX:SharedArchiveFile) instead of loading and verifying its classes from the jar again.
// Measured here: the Pub/Sub emulator answers in 0.9 s instead of 3.4 s, the Firestore emulator
// in 1.6 s instead of 2.5 s, with half the CPU. A JVM that cannot use an archive says so in its log
// and starts without it (the default -Xshare:auto), so a bad archive is slow, never broken.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ProcessExit } from './processes.ts';

/** Archives unused this long are deleted (an emulator upgrade leaves its old one behind). */
const UNUSED_MS = 14 * 24 * 3600_000;
/** An unfinished archive older than this was left by a process that was killed. */
const ABANDONED_MS = 3600_000;
/** Writing the archive at exit takes a few seconds (3.5 s here, on a busy machine): the grace to wait before SIGKILL. */
export const ARCHIVING_STOP_GRACE_MS = 60_000;

export interface ClassCacheRequest {
  /** Where archives are kept; `.phasegate/jvm/` of this checkout by default. */
  dir: string;
  /** `pubsub` or `firestore`: part of the file name, so a person can tell them apart. */
  name: string;
  java: string;
  /** What `java -version` printed: an archive serves only the JVM build that wrote it. */
  javaVersion: string;
  /** The jar the classes come from: its path, size and modification time are in the key. */
  jar: string;
  /** The other JVM flags (compiler, collector): an archive is kept per set. */
  flags: readonly string[];
}

export interface ClassCache {
  /** True when the archive exists and the JVM starts from it. */
  hit: boolean;
  /** Where the archive is (or will be, once a first start has exited). */
  archive: string;
  /** The flags that make the JVM use the archive, or write one at exit. */
  flags: string[];
  /**
   * Called once the JVM has exited. A new archive is kept only from a JVM that served (one that
   * failed at start archived too few classes) and exited by itself or on SIGTERM, not killed while writing.
   */
  settle(exit: ProcessExit, served: boolean): void;
}

/** The archive's key: everything the JVM checks before it maps an archive, and the flags. */
export function classCacheKey(request: Omit<ClassCacheRequest, 'dir' | 'name'>): string {
  const jar = statSync(request.jar);
  return createHash('sha256')
    .update(
      [
        'dynamic-cds v1',
        request.java,
        request.javaVersion,
        resolve(request.jar),
        jar.size,
        jar.mtimeMs,
        ...request.flags,
      ].join('\0'),
    )
    .digest('hex')
    .slice(0, 16);
}

function prune(dir: string, current: string): void {
  const now = Date.now();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (!entry.isFile() || path === current) continue;
    // Another start may rename or prune the same file meanwhile: gone is fine.
    const mtimeMs = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
    if (mtimeMs === undefined) continue;
    const age = now - mtimeMs;
    const unfinished = entry.name.startsWith('.');
    if ((unfinished && age > ABANDONED_MS) || (!unfinished && age > UNUSED_MS)) rmSync(path, { force: true });
  }
}

/**
 * The class archive for one emulator's JVM. `PHASEGATE_JVM_CLASS_CACHE=off` starts without one
 * (to measure a first start, or to rule the archive out).
 */
export function classCacheFor(request: ClassCacheRequest, env: NodeJS.ProcessEnv = process.env): ClassCache {
  const archive = join(request.dir, `${request.name}-${classCacheKey(request)}.jsa`);
  if (env.PHASEGATE_JVM_CLASS_CACHE === 'off')
    return { hit: false, archive, flags: [], settle: () => undefined };
  mkdirSync(request.dir, { recursive: true });
  prune(request.dir, archive);
  if (existsSync(archive)) {
    // Marks it used, so pruning keeps it.
    const now = new Date();
    utimesSync(archive, now, now);
    return { hit: true, archive, flags: [`-XX:SharedArchiveFile=${archive}`], settle: () => undefined };
  }
  // A private name until the JVM has written all of it: two first starts at once each write their
  // own, and the last rename wins with an equivalent archive.
  const writing = join(request.dir, `.${request.name}-${randomUUID()}.jsa`);
  return {
    hit: false,
    archive,
    flags: [`-XX:ArchiveClassesAtExit=${writing}`],
    settle(exit, served) {
      const clean = served && !exit.error && exit.signal !== 'SIGKILL';
      if (clean && existsSync(writing) && statSync(writing).size > 0) renameSync(writing, archive);
      else rmSync(writing, { force: true });
    },
  };
}
