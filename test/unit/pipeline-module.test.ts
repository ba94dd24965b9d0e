// Which pipeline the tools load, what the stack file says, and the in-memory pipeline of phasegate/testing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findProject, loadPipeline, PipelineModuleError } from '../../scripts/lib/pipeline-module.ts';
import {
  readStackFile,
  removeStackFile,
  StackFileError,
  talksToStack,
  writeStackFile,
} from '../../scripts/lib/connection.ts';
import { checkPartitionOptions } from '../../scripts/cli/option-parsers.ts';
import type { CliContext } from '../../scripts/cli/context.ts';
import { memoryPipeline } from '../../shared/testing/index.ts';
import { COLLECTIONS, TransientError, type PipelineFunctions } from '../../shared/index.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { testExpectations } from '../fixtures/test-pipeline/expectations.ts';
import { testProcessors } from '../fixtures/test-pipeline/processors.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'phasegate-module-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const writeJson = (path: string, value: unknown) => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
};

describe('pipeline modules', () => {
  it('finds the nearest project up from a folder, and loads its pipelines by name, the first by default', async () => {
    const project = findProject(join(repoRoot, 'examples', 'open-data'));
    expect(Object.keys(project.pipelines)).toEqual(['reference', 'open-data']);
    const first = await loadPipeline(project);
    expect(first).toMatchObject({ name: 'reference', entry: join(repoRoot, 'functions', 'index.ts') });
    expect(first.pipeline.definition.scheme.kind).toBe('daily');
    const weekly = await loadPipeline(project, 'open-data');
    expect(weekly.pipeline.definition.scheme.kind).toBe('weekly');
    expect(weekly.local?.demo).toEqual(['2024-W16', '2024-W13']);
  });

  it('says what is wrong with a project, a name or a module, naming the file', async () => {
    const none = scratch();
    expect(() => findProject(none)).toThrow(/no phasegate project here: .*phasegate init/);
    const bad = scratch();
    writeJson(join(bad, 'package.json'), { phasegate: { pipelines: { Bad_Name: { entry: 'x.js' } } } });
    expect(() => findProject(bad)).toThrow(PipelineModuleError);
    expect(() => findProject(bad)).toThrow(
      /phasegate\.pipelines\.Bad_Name: "Bad_Name" is not a pipeline name \(lowercase letters/,
    );
    const project = scratch();
    writeJson(join(project, 'package.json'), {
      phasegate: { pipelines: { mine: { entry: 'missing.ts' }, plain: { entry: 'plain.ts' } } },
    });
    writeFileSync(join(project, 'plain.ts'), 'export const nothing = 1;\n');
    const found = findProject(project);
    await expect(loadPipeline(found, 'other')).rejects.toThrow(
      /no pipeline "other" in .*package\.json: it names mine, plain/,
    );
    await expect(loadPipeline(found, 'mine')).rejects.toThrow(
      /the entry module of pipeline "mine", .*missing\.ts, does not exist/,
    );
    await expect(loadPipeline(found, 'plain')).rejects.toThrow(/plain\.ts does not export `pipeline`/);
  });
});

describe('the stack file', () => {
  it("reads an older npm start's file (no pipeline, sourceApiUrl) and refuses a broken one by name", () => {
    const root = scratch();
    writeJson(join(root, '.phasegate', 'stack.json'), {
      projectId: 'p',
      PUBSUB_EMULATOR_HOST: 'h:1',
      FIRESTORE_EMULATOR_HOST: 'h:2',
      sourceApiUrl: 'http://127.0.0.1:8090',
      pid: 1,
    });
    const old = readStackFile(root);
    expect(old?.pipeline).toBeUndefined();
    expect(old?.env).toEqual({ SOURCE_API_URL: 'http://127.0.0.1:8090' });
    writeFileSync(join(root, '.phasegate', 'stack.json'), '{"projectId":');
    expect(() => readStackFile(root)).toThrow(StackFileError);
    expect(() => readStackFile(root)).toThrow(/stack\.json is not JSON/);
    writeJson(join(root, '.phasegate', 'stack.json'), { projectId: 'p' });
    expect(() => readStackFile(root)).toThrow(/is not a stack file npm start wrote \(PUBSUB_EMULATOR_HOST/);
  });

  it('is removed only by the process that wrote it, and is what the CLI talks to only when the environment names no emulator', () => {
    const root = scratch();
    const file = {
      projectId: 'p',
      PUBSUB_EMULATOR_HOST: 'h:1',
      FIRESTORE_EMULATOR_HOST: 'h:2',
      env: {},
      pid: process.pid + 1,
    };
    writeStackFile(root, { ...file, pipeline: 'open-data' });
    removeStackFile(root);
    expect(readStackFile(root)?.pipeline).toBe('open-data');
    expect(talksToStack(root, {})).toBe(true);
    expect(talksToStack(root, { GOOGLE_CLOUD_PROJECT: 'x', PUBSUB_EMULATOR_HOST: 'h:9' })).toBe(false);
    expect(talksToStack(root, {}, 'override')).toBe(false);
    writeStackFile(root, { ...file, pid: process.pid });
    removeStackFile(root);
    expect(readStackFile(root)).toBeUndefined();
  });
});

describe('partition options of the CLI', () => {
  it("are checked against the loaded pipeline's scheme, naming it", async () => {
    const project = findProject(repoRoot);
    const context = (name: string) =>
      ({ pipeline: () => loadPipeline(project, name) }) as unknown as CliContext;
    await expect(
      checkPartitionOptions(context('open-data'), { from: '2024-W01', to: '2024-W02' }),
    ).resolves.toBeUndefined();
    await expect(checkPartitionOptions(context('open-data'), { partition: '2024-04-21' })).rejects.toThrow(
      '"2024-04-21" is not a partition (an ISO week, YYYY-Www)',
    );
    await expect(checkPartitionOptions(context('reference'), { to: '2024-13-01' })).rejects.toThrow(
      '"2024-13-01" is not a partition (a day, YYYY-MM-DD): not a calendar date',
    );
    // No partition option: the pipeline is not even loaded.
    await expect(checkPartitionOptions({} as CliContext, { status: 'pending' })).resolves.toBeUndefined();
  });
});

describe('memoryPipeline', () => {
  const pipeline: PipelineFunctions = {
    definition: testDefinition,
    processors: testProcessors,
    expectations: testExpectations,
  };

  it('runs a pipeline to SUCCESS over the in-memory store', async () => {
    const memory = memoryPipeline(pipeline);
    expect(await memory.run('2024-04-21')).toMatchObject({ status: 'SUCCESS', partition: '2024-04-21' });
    expect(memory.store.docs('summaries')).toHaveLength(1);
  });

  it('delivers again a message whose handler failed, as Pub/Sub does, and names it when it would be dead-lettered', async () => {
    let failures = 1;
    const flaky: PipelineFunctions = {
      ...pipeline,
      processors: {
        ...testProcessors,
        gadgets: {
          run: (ctx) => {
            if (failures-- > 0) throw new TransientError('the source hiccuped');
            return testProcessors.gadgets.run(ctx);
          },
        },
      },
    };
    const memory = memoryPipeline(flaky);
    expect((await memory.run('2024-04-21'))?.status).toBe('SUCCESS');
    expect(memory.store.docs(COLLECTIONS.runs)).toHaveLength(1);
    failures = 100;
    await expect(memoryPipeline(flaky).run('2024-04-22')).rejects.toThrow(
      /message \d+ on phase-alpha failed 5 deliveries \(it would be dead-lettered\): .*the source hiccuped/,
    );
  });
});
