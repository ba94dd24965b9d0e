// The folders builds are kept in (`.phasegate/build/<key>/`): each made once, even by processes
// building at the same moment, and the old ones deleted once nothing can be using them.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Old builds are deleted once unused for a day, beyond the newest few: a stack still running
 * loads a bundle's chunks on first request and restarts crashed functions from it.
 */
const KEPT_BUILDS = 3;
const UNUSED_MS = 24 * 3600_000;

/** Where a build puts the compiled module of a TypeScript source. */
export const outputFor = (dir: string, source: string): string => join(dir, source.replace(/\.ts$/, '.js'));

/** Deletes all but the newest builds; a build in use by a running stack is among the newest. */
function prune(buildsDir: string, current: string): void {
  const builds = readdirSync(buildsDir, { withFileTypes: true })
    // projects/ holds the builds of other projects (pruned there, by their own rule).
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'projects')
    .map((e) => ({ path: join(buildsDir, e.name), mtimeMs: statSync(join(buildsDir, e.name)).mtimeMs }))
    .filter((b) => b.path !== current)
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const old of builds.slice(KEPT_BUILDS))
    if (Date.now() - old.mtimeMs > UNUSED_MS) rmSync(old.path, { recursive: true, force: true });
}

/**
 * Makes the build `buildsDir/<key>` with `compile`, unless `isBuilt` finds it made (then marks it
 * recently used, so pruning keeps it). Safe when several processes call it at once: each compiles
 * into a private folder and renames it into place; the loser of the rename uses the winner's
 * identical output. True when this call compiled.
 */
export async function buildOnce(
  buildsDir: string,
  key: string,
  isBuilt: (dir: string) => boolean,
  compile: (outdir: string) => Promise<void>,
): Promise<boolean> {
  const dir = join(buildsDir, key);
  if (isBuilt(dir)) {
    const now = new Date();
    utimesSync(dir, now, now);
    return false;
  }
  mkdirSync(buildsDir, { recursive: true });
  const scratch = join(buildsDir, `.${key}-${randomUUID()}`);
  let built = false;
  try {
    await compile(scratch);
    renameSync(scratch, dir);
    built = true;
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    if (!isBuilt(dir)) throw error;
  }
  prune(buildsDir, dir);
  return built;
}
