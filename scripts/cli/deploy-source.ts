// The source `phasegate deploy` uploads, staged in its --out folder: this checkout's compiled output
// (`npm run build`), or the bundle of a project's functions. It writes files and runs the build.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { runCommand } from '../lib/deploy-runner.ts';
import { repoRoot } from '../lib/local-pipeline.ts';
import type { LoadedPipeline } from '../lib/pipeline-module.ts';
import { buildProjectEntry } from '../lib/function-build.ts';
import { UsageError } from './usage-error.ts';

/** Where `npm run build` puts the compiled entry module of a pipeline of this checkout. */
const distEntry = (loaded: LoadedPipeline): string =>
  join('dist', relative(repoRoot, loaded.entry)).replace(/\.ts$/, '.js').split(sep).join('/');

export const hasCompiledOutput = (loaded: LoadedPipeline): boolean =>
  existsSync(join(repoRoot, distEntry(loaded)));

/**
 * What each function's source upload needs: the compiled output, the lock file, and a
 * package.json whose `main` is the compiled entry module and with no scripts (the buildpack
 * would otherwise run `build`, which needs the TypeScript sources).
 */
export function stageSource(dir: string, loaded: LoadedPipeline): void {
  if (!hasCompiledOutput(loaded))
    throw new UsageError(`no compiled output in dist/ (${distEntry(loaded)}): run \`npm run build\` first`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The compiler's incremental state is not part of what runs.
  const isOutput = (path: string) => !path.endsWith('.tsbuildinfo');
  cpSync(join(repoRoot, 'dist'), join(dir, 'dist'), { recursive: true, filter: isOutput });
  cpSync(join(repoRoot, 'package-lock.json'), join(dir, 'package-lock.json'));
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ ...manifest, main: distEntry(loaded), scripts: {}, bin: undefined }, null, 2)}\n`,
  );
}

/**
 * The source upload of a pipeline of another project (`phasegate init`'s): its functions' bundle
 * (the kit inlined, as the local stack runs it) and a package.json whose dependencies are the
 * kit's own, which the bundle imports and Cloud Build installs. No lock file: the kit's lists
 * its development tools too.
 */
export async function stageProjectSource(dir: string, loaded: LoadedPipeline): Promise<void> {
  const built = await buildProjectEntry(loaded.root, loaded.entry);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(built.dir, join(dir, 'dist'), { recursive: true });
  const kit = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    engines?: unknown;
    dependencies?: Record<string, string>;
  };
  const project = JSON.parse(readFileSync(join(loaded.root, 'package.json'), 'utf8')) as { name?: string };
  const manifest = {
    name: project.name ?? loaded.name,
    private: true,
    type: 'module',
    engines: kit.engines,
    main: join('dist', relative(built.dir, built.compiled)).split(sep).join('/'),
    dependencies: kit.dependencies,
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Compiles this checkout into dist/ (`npm run build`), whose output `stageSource` uploads. */
export async function buildOutput(): Promise<void> {
  const built = await runCommand(['npm', 'run', '--silent', 'build'], { cwd: repoRoot });
  if (built.code !== 0)
    throw new UsageError(
      `npm run build failed: fix the compile errors first\n${built.stdout}${built.stderr}`,
    );
}
