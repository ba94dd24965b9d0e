// The functions run locally as they do in production: JavaScript, compiled before any function
// process starts. One esbuild call bundles every function entry module (npm packages stay
// imports, resolved from node_modules as at run time), keyed by a hash of everything the
// bundles can contain, so an unchanged tree reuses the last build.
import { createHash, randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, version as esbuildVersion, type Plugin } from 'esbuild';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Every module a functions-framework process may be started from (`--source`). */
export const FUNCTION_SOURCES = [
  'functions/index.ts',
  'examples/open-data/index.ts',
  'test/fixtures/test-pipeline/functions.ts',
  'scripts/bench/limit-functions.ts',
  'scripts/bench/overhead-functions.ts',
] as const;

/**
 * What those modules may import: the key hashes every file under these, so a change anywhere
 * in the graph rebuilds. A build whose bundles read a file outside them fails (the key would lie).
 */
const SOURCE_ROOTS = ['functions', 'examples', 'shared', 'test/fixtures', 'scripts/bench'] as const;
/** Files outside the roots that change what a build produces (this file holds the build options). */
const BUILD_INPUTS = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'scripts/lib/function-build.ts',
] as const;
/**
 * Old builds are deleted once unused for a day, beyond the newest few: a stack still running
 * loads a bundle's chunks on first request and restarts crashed functions from it.
 */
const KEPT_BUILDS = 3;
const UNUSED_MS = 24 * 3600_000;

export interface FunctionBuild {
  key: string;
  dir: string;
  /** True when this call compiled; false when an identical earlier build was reused. */
  built: boolean;
  /** The compiled module for an entry of FUNCTION_SOURCES (absolute or repository-relative path). */
  compiled(source: string): string;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** The build's key: esbuild's version, the options' shape, and the content of every input file. */
export function buildKey(root = repoRoot): string {
  const hash = createHash('sha256');
  hash.update(`esbuild ${esbuildVersion}\0node20 esm bundle split v2\0${FUNCTION_SOURCES.join(',')}\0`);
  const files = [
    ...SOURCE_ROOTS.flatMap((r) => filesUnder(join(root, r))),
    ...BUILD_INPUTS.map((f) => join(root, f)),
  ];
  for (const file of files) {
    hash.update(relative(root, file));
    hash.update('\0');
    hash.update(existsSync(file) ? readFileSync(file) : 'absent');
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

const outputFor = (dir: string, source: string) => join(dir, source.replace(/\.ts$/, '.js'));

function resolveCompiled(root: string, dir: string, source: string): string {
  const rel = relative(root, resolve(root, source)).split(sep).join('/');
  if (!(FUNCTION_SOURCES as readonly string[]).includes(rel)) {
    throw new Error(
      `${rel} is not a function entry module: add it to FUNCTION_SOURCES in scripts/lib/function-build.ts`,
    );
  }
  return outputFor(dir, rel);
}

async function compileInto(root: string, outdir: string): Promise<void> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [...FUNCTION_SOURCES],
    outbase: root,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // npm packages are loaded from node_modules at run time, exactly as the deployed function loads them.
    packages: 'external',
    // Modules imported on first use (the cloud SDK adapters) stay separate chunks, loaded then.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: true,
    metafile: true,
    logLevel: 'silent',
  });
  const outside = Object.keys(result.metafile.inputs).filter(
    (input) => !SOURCE_ROOTS.some((r) => input.startsWith(`${r}/`)),
  );
  if (outside.length > 0) {
    throw new Error(
      `function bundles read files outside ${SOURCE_ROOTS.join(', ')} (${outside.join(', ')}): ` +
        'add their folder to SOURCE_ROOTS in scripts/lib/function-build.ts',
    );
  }
}

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
 * Compiles every function entry module into `.phasegate/build/<key>/`, or reuses that folder
 * when it exists. Safe when several processes call it at once: each compiles into a private
 * folder and renames it into place; the loser of the rename uses the winner's identical output.
 */
export async function buildFunctions(root = repoRoot): Promise<FunctionBuild> {
  const key = buildKey(root);
  const buildsDir = join(root, '.phasegate', 'build');
  const dir = join(buildsDir, key);
  let built = false;
  if (existsSync(dir)) {
    // Marks it recently used, so pruning keeps it.
    const now = new Date();
    utimesSync(dir, now, now);
  } else {
    mkdirSync(buildsDir, { recursive: true });
    const scratch = join(buildsDir, `.${key}-${randomUUID()}`);
    try {
      await compileInto(root, scratch);
      renameSync(scratch, dir);
      built = true;
    } catch (error) {
      rmSync(scratch, { recursive: true, force: true });
      if (!existsSync(dir)) throw error;
    }
    prune(buildsDir, dir);
  }
  return { key, dir, built, compiled: (source) => resolveCompiled(root, dir, source) };
}

let current: Promise<FunctionBuild> | undefined;
let currentKey: string | undefined;
/** This process's build of the repository, made once and reused while the sources do not change. */
export function functionBuild(): Promise<FunctionBuild> {
  const key = buildKey();
  if (!current || key !== currentKey) {
    currentKey = key;
    current = buildFunctions();
    // A failed build is not cached: the next call compiles again (after the error is fixed).
    current.catch(() => {
      if (currentKey === key) current = undefined;
    });
  }
  return current;
}

const isUnder = (path: string, dir: string) => !relative(dir, path).startsWith('..');

/** What a project outside this checkout holds that is not its source. */
const NOT_SOURCE = new Set(['node_modules', '.phasegate', '.git', 'dist']);

/** Every file of the project but its dependencies and state, symbolic links followed. */
function projectFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (dir === root && NOT_SOURCE.has(e.name)) continue;
      const stats = e.isSymbolicLink() ? statSync(path, { throwIfNoEntry: false }) : e;
      if (stats?.isDirectory()) walk(path);
      else if (stats?.isFile()) files.push(path);
    }
  };
  walk(root);
  return files.sort();
}

/**
 * The kit's own dependencies stay imports, loaded at run time from this checkout's node_modules
 * (as they are loaded by the kit's code); `phasegate` itself and the project's own dependencies
 * are bundled, since the bundle does not sit in the project and could not find them.
 */
function kitDependenciesExternal(): Plugin {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const kitDeps = Object.keys(manifest.dependencies ?? {});
  const packageOf = (path: string) =>
    path.startsWith('@') ? path.split('/').slice(0, 2).join('/') : path.split('/')[0]!;
  return {
    name: 'kit-dependencies-external',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:')) return { external: true };
        return kitDeps.includes(packageOf(args.path)) ? { external: true } : undefined;
      });
    },
  };
}

/**
 * The functions of a pipeline in another project (one `phasegate init` made), compiled like this
 * checkout's: one bundle of its entry module, kept by a hash of the project's files and of this
 * checkout's build key. The build lives in this checkout's `.phasegate/build/projects/`, where the
 * kit's dependencies resolve; the project's own state stays in its `.phasegate/`.
 */
export async function buildProjectEntry(
  projectRoot: string,
  entry: string,
): Promise<{ dir: string; compiled: string }> {
  const hash = createHash('sha256');
  hash.update(`project v1\0${buildKey()}\0${relative(projectRoot, entry)}\0`);
  for (const file of projectFiles(projectRoot)) {
    hash.update(relative(projectRoot, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  const key = hash.digest('hex').slice(0, 16);
  const buildsDir = join(repoRoot, '.phasegate', 'build', 'projects');
  const dir = join(buildsDir, key);
  const compiled = outputFor(dir, relative(projectRoot, entry).split(sep).join('/'));
  if (existsSync(compiled)) {
    // Marks it recently used, so pruning keeps it while a stack runs from it.
    const now = new Date();
    utimesSync(dir, now, now);
    return { dir, compiled };
  }
  mkdirSync(buildsDir, { recursive: true });
  const scratch = join(buildsDir, `.${key}-${randomUUID()}`);
  try {
    const result = await build({
      absWorkingDir: projectRoot,
      entryPoints: [entry],
      outbase: projectRoot,
      outdir: scratch,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      sourcemap: true,
      logLevel: 'silent',
      metafile: true,
      plugins: [kitDependenciesExternal()],
    });
    // The key hashes the project and the kit's sources: a bundle of anything else could go stale unseen.
    const outside = Object.keys(result.metafile.inputs)
      .map((input) => resolve(projectRoot, input))
      .filter(
        (path) => !isUnder(path, projectRoot) && !SOURCE_ROOTS.some((r) => isUnder(path, join(repoRoot, r))),
      );
    if (outside.length > 0)
      throw new Error(
        `the functions of ${projectRoot} read files outside the project and the kit (${outside.join(', ')}): ` +
          'move them into the project, or make them a dependency in its package.json',
      );
    renameSync(scratch, dir);
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(compiled)) throw error;
  }
  prune(buildsDir, dir);
  return { dir, compiled };
}

/** The compiled entry module of any pipeline: this checkout's build, or its project's. */
export async function compiledEntry(entry: string, projectRoot: string | undefined): Promise<string> {
  const inCheckout = !projectRoot || resolve(projectRoot) === resolve(repoRoot);
  if (inCheckout) return (await functionBuild()).compiled(entry);
  return (await buildProjectEntry(resolve(projectRoot), resolve(entry))).compiled;
}
