// What the build of a pipeline in another project (one `phasegate init` made) reads: the
// project's own files, which key the build, and the kit's dependencies, which stay imports.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

const kitRoot = fileURLToPath(new URL('../..', import.meta.url));

export const isUnder = (path: string, dir: string): boolean => !relative(dir, path).startsWith('..');

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

/** The key of a project's build: the kit's build key, the entry module, and every file of the project. */
export function projectBuildKey(projectRoot: string, entry: string, kitKey: string): string {
  const hash = createHash('sha256');
  hash.update(`project v1\0${kitKey}\0${relative(projectRoot, entry)}\0`);
  for (const file of projectFiles(projectRoot)) {
    hash.update(relative(projectRoot, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The kit's own dependencies stay imports, loaded at run time from this checkout's node_modules
 * (as they are loaded by the kit's code); `phasegate` itself and the project's own dependencies
 * are bundled, since the bundle does not sit in the project and could not find them.
 */
export function kitDependenciesExternal(): Plugin {
  const manifest = JSON.parse(readFileSync(join(kitRoot, 'package.json'), 'utf8')) as {
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
