// Which pipeline the tools work on. A project names its pipelines in package.json:
//   "phasegate": { "pipelines": { "<name>": { "entry": "functions/index.ts", "local": "functions/local.ts" } } }
// `entry` is the module every function is started from: it registers the functions and exports
// `pipeline` (definition, processors, expectations...). `local` (optional) exports `local`: how
// `npm start` runs it on this machine. The first pipeline listed is the default.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { PipelineFunctions } from '../../shared/adapters/functions-entry.ts';
import type { PipelineLocal } from '../../shared/pipeline-module.ts';

export class PipelineModuleError extends Error {
  override name = 'PipelineModuleError';
}

const PipelineEntrySchema = z.strictObject({
  entry: z.string().regex(/\.ts$/, 'is not a TypeScript module (.ts)'),
  local: z.string().regex(/\.ts$/, 'is not a TypeScript module (.ts)').optional(),
});
const PIPELINE_NAME = /^[a-z][a-z0-9-]{0,39}$/;
const ProjectManifestSchema = z.object({
  phasegate: z.strictObject({
    pipelines: z
      .record(z.string(), PipelineEntrySchema)
      .refine((p) => Object.keys(p).length > 0, 'names no pipeline')
      .superRefine((pipelines, ctx) => {
        for (const name of Object.keys(pipelines).filter((n) => !PIPELINE_NAME.test(n)))
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `"${name}" is not a pipeline name (lowercase letters, digits and -, starting with a letter)`,
          });
      }),
  }),
});

export interface PipelineProject {
  /** The folder of the package.json that names the pipelines: its `.phasegate/` holds the local state. */
  root: string;
  pipelines: Readonly<Record<string, z.infer<typeof PipelineEntrySchema>>>;
}

export interface LoadedPipeline {
  name: string;
  root: string;
  /** The entry module, absolute. */
  entry: string;
  pipeline: PipelineFunctions;
  local: PipelineLocal | undefined;
}

/** The nearest folder from `from` up whose package.json has a `phasegate` section. */
export function findProject(from: string = process.cwd()): PipelineProject {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(manifest, 'utf8'));
      } catch (error) {
        throw new PipelineModuleError(
          `${manifest} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if (typeof raw === 'object' && raw !== null && 'phasegate' in raw) {
        const parsed = ProjectManifestSchema.safeParse(raw);
        if (!parsed.success) {
          const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
          throw new PipelineModuleError(`${manifest}: ${problems}`);
        }
        return { root: dir, pipelines: parsed.data.phasegate.pipelines };
      }
    }
    if (dirname(dir) === dir)
      throw new PipelineModuleError(
        `no phasegate project here: no package.json from ${resolve(from)} up has a "phasegate" section ` +
          '(`npx phasegate init <dir>` makes one)',
      );
  }
}

const looksLikePipeline = (value: unknown): value is PipelineFunctions => {
  const p = value as Partial<PipelineFunctions> | undefined;
  return (
    typeof p === 'object' &&
    p !== null &&
    Array.isArray(p.definition?.phases) &&
    typeof p.definition?.scheme?.problem === 'function' &&
    (typeof p.processors === 'function' || typeof p.processors === 'object') &&
    typeof p.expectations?.table === 'object'
  );
};

/** The pipeline `name` of the project (the first listed when no name is given), its modules imported. */
export async function loadPipeline(project: PipelineProject, name?: string): Promise<LoadedPipeline> {
  const names = Object.keys(project.pipelines);
  const chosen = name ?? names[0]!;
  const spec = project.pipelines[chosen];
  if (!spec)
    throw new PipelineModuleError(
      `no pipeline "${chosen}" in ${join(project.root, 'package.json')}: it names ${names.join(', ')}`,
    );
  const entry = resolve(project.root, spec.entry);
  const shown = (path: string) => relative(process.cwd(), path) || path;
  const load = async (path: string, what: string): Promise<Record<string, unknown>> => {
    if (!existsSync(path))
      throw new PipelineModuleError(`the ${what} of pipeline "${chosen}", ${shown(path)}, does not exist`);
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  };
  const entryModule = await load(entry, 'entry module');
  if (!looksLikePipeline(entryModule.pipeline))
    throw new PipelineModuleError(
      `${shown(entry)} does not export \`pipeline\` (definition, processors, expectations: what it passes to ` +
        'registerPipelineFunctions)',
    );
  let local: PipelineLocal | undefined;
  if (spec.local) {
    const localModule = await load(resolve(project.root, spec.local), 'local module');
    const candidate = localModule.local as Partial<PipelineLocal> | undefined;
    if (typeof candidate !== 'object' || candidate === null || !Array.isArray(candidate.demo))
      throw new PipelineModuleError(
        `${shown(resolve(project.root, spec.local))} does not export \`local\` ({ demo, services? })`,
      );
    local = candidate as PipelineLocal;
  }
  return { name: chosen, root: project.root, entry, pipeline: entryModule.pipeline, local };
}
