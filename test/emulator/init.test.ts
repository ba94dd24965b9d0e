import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { processesWithEnv } from '../../scripts/lib/process-table.ts';
import { repoRoot } from '../support/emulator-harness.ts';

const base = mkdtempSync(join(tmpdir(), 'phasegate-init-'));
const project = join(base, 'bike-weeks');
const mark = randomUUID();
afterAll(() => {
  for (const { pid } of processesWithEnv('PHASEGATE_TEST_MARK', mark)) process.kill(pid, 'SIGKILL');
  rmSync(base, { recursive: true, force: true });
});

/** The environment a person's shell has: none of this test run's npm variables, the suite's emulators. */
function shellEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, ...inject('emulatorEnv'), PHASEGATE_TEST_MARK: mark };
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: shellEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

describe('npx phasegate init', () => {
  it('makes a project whose own npm install && npm test pass, and whose npm start runs its demo to SUCCESS', async () => {
    const init = await run(
      process.execPath,
      [join(repoRoot, 'bin', 'phasegate.js'), 'init', project, '--partition', 'weekly'],
      base,
    );
    expect(init.code, init.out).toBe(0);
    expect(init.out).toContain('(weekly partitions)');
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      phasegate: unknown;
    };
    expect(manifest.dependencies.phasegate).toBe(`file:${join(repoRoot)}`.replace(/\/$/, ''));
    // From the npm cache this checkout's install filled (the scaffold pins the same versions).
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project);
    expect(install.code, install.out).toBe(0);

    const test = await run('npm', ['test'], project);
    expect(test.code, test.out.slice(-4000)).toBe(0);
    expect(stripVTControlCharacters(test.out)).toMatch(/Tests\s+3 passed/);

    const validate = await run('npm', ['run', 'validate'], project);
    expect(validate.code, validate.out).toBe(0);
    expect(validate.out).toContain('static audit: no drift');

    // Its own process group, as a terminal gives it: Ctrl-C reaches npm and what npm runs.
    // Deploy's source upload: the bundle (the kit inlined) and a package.json naming what it imports.
    const plan = await run(
      process.execPath,
      [
        join(repoRoot, 'bin', 'phasegate.js'),
        'deploy',
        '--project',
        'bike-weeks-1',
        '--region',
        'europe-west1',
        '--dry-run',
      ],
      project,
    );
    expect(plan.code, plan.out.slice(-3000)).toBe(0);
    expect(plan.out).toContain('functions deploy phase-collect');
    const staged = join(project, '.phasegate', 'deploy', 'source');
    const uploaded = JSON.parse(readFileSync(join(staged, 'package.json'), 'utf8')) as {
      main: string;
      dependencies: Record<string, string>;
    };
    const bundle = readdirSync(join(staged, 'dist'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(staged, 'dist', f), 'utf8'))
      .join('\n');
    const imported = new Set(
      // Statement-position imports only: the dashboard's HTML strings hold text like `grid-from" placeholder="`.
      [
        ...bundle.matchAll(
          /^\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"./][^"]*)"|\bimport\(\s*"([^"./][^"]*)"\s*\)/gm,
        ),
      ]
        .map((m) => (m[1] ?? m[2])!)
        .filter((p) => !p.startsWith('node:'))
        .map((p) => (p.startsWith('@') ? p.split('/').slice(0, 2).join('/') : p.split('/')[0]!)),
    );
    expect(imported.size).toBeGreaterThan(0);
    for (const name of imported) expect(Object.keys(uploaded.dependencies)).toContain(name);
    // It loads with those packages installed (here: this checkout's), and registers its functions.
    symlinkSync(join(repoRoot, 'node_modules'), join(staged, 'node_modules'));
    const load = await run(
      process.execPath,
      ['--input-type=module', '-e', `await import(${JSON.stringify(join(staged, uploaded.main))})`],
      staged,
    );
    expect(load.code, load.out).toBe(0);

    const started: ChildProcess = spawn('npm', ['start'], {
      cwd: project,
      env: shellEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    started.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    started.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));
    let gone = false;
    void exited.then(() => (gone = true));
    while (!out.includes('ready.') && !gone) await new Promise((r) => setTimeout(r, 250));
    expect(out).toContain('starting the local stack of pipeline bike-weeks');
    expect(out).toMatch(/demo: run for 2024-W16\n(.*\n)*? {2}SUCCESS {2}collect ✓ 1\/1 · summarise ✓ 1\/1/);
    process.kill(-started.pid!, 'SIGINT');
    await exited;
    expect(out).toContain('stopped; nothing left running.');
    expect(processesWithEnv('PHASEGATE_TEST_MARK', mark)).toEqual([]);
  }, 400_000);
});
