// The functions run locally as they do in production: JavaScript, compiled before any function
// process starts. One esbuild call bundles every function entry module (npm packages stay
// imports, resolved from node_modules as at run time), keyed by a hash of everything the
// bundles can contain, so an unchanged tree reuses the last build.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, version as esbuildVersion } from 'esbuild';
import { buildOnce, outputFor } from './build-cache.ts';
import { isUnder, kitDependenciesExternal, projectBuildKey } from './project-sources.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Every module a functions-framework process may be started from (`--source`). */
export const FUNCTION_SOURCES = [
  'functions/index.ts',
  'examples/open-data/index.ts',
  'test/fixtures/test-pipeline/functions.ts',
  'scripts/bench/limit-functions.ts',
  'scripts/bench/overhead-functions.ts',
  'scripts/bench/bare-function.ts',
] as const;

/**
 * What those modules may import: the key hashes every file under these, so a change anywhere
 * in the graph rebuilds. A build whose bundles read a file outside them fails (the key would lie).
 */
const SOURCE_ROOTS = ['functions', 'examples', 'shared', 'test/fixtures', 'scripts/bench'] as const;
/** Files outside the roots that change what a build produces (these files hold the build options). */
const BUILD_INPUTS = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'scripts/lib/function-build.ts',
  'scripts/lib/project-sources.ts',
] as const;

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

/**
 * Compiles every function entry module into `.phasegate/build/<key>/`, or reuses that folder
 * when it exists (`buildOnce`: safe when several processes call it at once).
 */
export async function buildFunctions(root = repoRoot): Promise<FunctionBuild> {
  const key = buildKey(root);
  const buildsDir = join(root, '.phasegate', 'build');
  const dir = join(buildsDir, key);
  const built = await buildOnce(buildsDir, key, existsSync, (outdir) => compileInto(root, outdir));
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

/** One bundle of a project's entry module, the kit inlined and the kit's dependencies left imports. */
async function compileProjectInto(projectRoot: string, entry: string, outdir: string): Promise<void> {
  const result = await build({
    absWorkingDir: projectRoot,
    entryPoints: [entry],
    outbase: projectRoot,
    outdir,
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
  const key = projectBuildKey(projectRoot, entry, buildKey());
  const buildsDir = join(repoRoot, '.phasegate', 'build', 'projects');
  const dir = join(buildsDir, key);
  const compiledIn = (folder: string) => outputFor(folder, relative(projectRoot, entry).split(sep).join('/'));
  await buildOnce(
    buildsDir,
    key,
    (folder) => existsSync(compiledIn(folder)),
    (outdir) => compileProjectInto(projectRoot, entry, outdir),
  );
  return { dir, compiled: compiledIn(dir) };
}

/** The compiled entry module of any pipeline: this checkout's build, or its project's. */
export async function compiledEntry(entry: string, projectRoot: string | undefined): Promise<string> {
  const inCheckout = !projectRoot || resolve(projectRoot) === resolve(repoRoot);
  if (inCheckout) return (await functionBuild()).compiled(entry);
  return (await buildProjectEntry(resolve(projectRoot), resolve(entry))).compiled;
}
