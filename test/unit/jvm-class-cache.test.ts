import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { classCacheFor, classCacheKey, type ClassCacheRequest } from '../../scripts/lib/jvm-class-cache.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A cache folder and a jar of its own (any file: the cache never opens the jar). */
function setting(): ClassCacheRequest {
  const root = mkdtempSync(join(tmpdir(), 'phasegate-jvm-cache-'));
  dirs.push(root);
  const jar = join(root, 'emulator.jar');
  writeFileSync(jar, 'not really a jar');
  return {
    dir: join(root, 'jvm'),
    name: 'pubsub',
    java: 'java',
    javaVersion: 'openjdk version "17.0.15" 2025-04-15',
    jar,
    flags: ['-XX:TieredStopAtLevel=1'],
  };
}

/** What a JVM started with `-XX:ArchiveClassesAtExit=<file>` leaves at exit. */
function writeArchive(flags: string[]): void {
  const file = flags[0]?.replace(/^-XX:ArchiveClassesAtExit=/, '');
  if (!file || file === flags[0]) throw new Error(`not an archiving start: ${flags.join(' ')}`);
  writeFileSync(file, 'classes');
}

const clean = { code: 143, signal: null };

describe('the JVM class archive', () => {
  it('a first start writes the archive at exit; the next start maps it', () => {
    const request = setting();
    const first = classCacheFor(request, {});
    expect(first.hit).toBe(false);
    expect(first.flags).toEqual([expect.stringMatching(/^-XX:ArchiveClassesAtExit=.+\.jsa$/)]);
    writeArchive(first.flags);
    first.settle(clean, true);
    expect(existsSync(first.archive)).toBe(true);
    const next = classCacheFor(request, {});
    expect(next).toMatchObject({
      hit: true,
      archive: first.archive,
      flags: [`-XX:SharedArchiveFile=${first.archive}`],
    });
    // Nothing half-written is left in the folder.
    expect(readdirSync(request.dir)).toEqual([first.archive.split('/').pop()]);
  });

  it('keeps no archive from a JVM killed while writing it, or one that never served', () => {
    const request = setting();
    const killed = classCacheFor(request, {});
    writeArchive(killed.flags);
    killed.settle({ code: null, signal: 'SIGKILL' }, true);
    const failedAtStart = classCacheFor(request, {});
    writeArchive(failedAtStart.flags);
    failedAtStart.settle({ code: 1, signal: null }, false);
    expect(readdirSync(request.dir)).toEqual([]);
    expect(classCacheFor(request, {}).hit).toBe(false);
  });

  it('another JVM build, another jar or other flags get an archive of their own', () => {
    const request = setting();
    const key = classCacheKey(request);
    expect(classCacheKey({ ...request, javaVersion: 'openjdk version "21.0.2"' })).not.toBe(key);
    expect(classCacheKey({ ...request, flags: [] })).not.toBe(key);
    // An upgraded emulator: the same path, another modification time.
    utimesSync(request.jar, new Date(0), new Date(0));
    expect(classCacheKey(request)).not.toBe(key);
  });

  it('PHASEGATE_JVM_CLASS_CACHE=off starts without one and writes none', () => {
    const request = setting();
    const off = classCacheFor(request, { PHASEGATE_JVM_CLASS_CACHE: 'off' });
    expect(off).toMatchObject({ hit: false, flags: [] });
    off.settle(clean, true);
    expect(existsSync(request.dir)).toBe(false);
  });

  it('deletes what a killed start left unfinished and archives unused for two weeks', () => {
    const request = setting();
    classCacheFor(request, {});
    const old = new Date(Date.now() - 15 * 24 * 3600_000);
    const unfinished = join(request.dir, '.pubsub-left-by-a-killed-start.jsa');
    const stale = join(request.dir, 'pubsub-0123456789abcdef.jsa');
    const writing = join(request.dir, '.firestore-still-being-written.jsa');
    for (const file of [unfinished, stale, writing]) writeFileSync(file, 'classes');
    utimesSync(unfinished, old, old);
    utimesSync(stale, old, old);
    classCacheFor(request, {});
    expect(readdirSync(request.dir)).toEqual(['.firestore-still-being-written.jsa']);
  });
});
