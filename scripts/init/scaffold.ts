// `phasegate init <dir>`: the files of a new pipeline project, a two-phase example with one
// processor each, that passes its own `npm install && npm test` and runs its demo with
// `npm install && npm start`. It depends on phasegate from this checkout (a path) until phasegate is published.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pipelineFiles } from './pipeline-files.ts';
import { projectFiles, readme } from './project-files.ts';
import { scaffoldValues, type ScaffoldScheme } from './schemes.ts';
import { testFiles } from './test-files.ts';

export class ScaffoldError extends Error {
  override name = 'ScaffoldError';
}

/** A project name npm takes: the folder's name, lowercased, other characters as `-`. */
export function projectName(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  if (!/^[a-z]/.test(name))
    throw new ScaffoldError(
      `"${basename(resolve(dir))}" does not make a project name: start the folder's name with a letter`,
    );
  return name;
}

/** Every file of a new project, by its path in the project. */
export function scaffoldFiles(options: {
  name: string;
  scheme: ScaffoldScheme;
  kitPath?: string;
}): Record<string, string> {
  const values = scaffoldValues(options.name, options.scheme);
  return {
    ...projectFiles(values, options.kitPath),
    ...pipelineFiles(values),
    ...testFiles(values),
    'README.md': readme(values),
  };
}

/** Writes the scaffold into `dir` (created; it must be empty or absent). Returns the files written. */
export function writeScaffold(dir: string, scheme: ScaffoldScheme): string[] {
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0)
    throw new ScaffoldError(`${target} is not empty: init writes a new project into an empty or new folder`);
  const files = scaffoldFiles({ name: projectName(target), scheme });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(target, path)), { recursive: true });
    writeFileSync(join(target, path), content);
  }
  return Object.keys(files);
}
