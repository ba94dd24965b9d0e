import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/emulator-harness.ts';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  it('brings the whole stack up, runs the demo to SUCCESS, and leaves no process behind on Ctrl-C', async () => {
    const env = { ...process.env };
    // From nothing, as a newcomer runs it: its own emulators, not the test run's.
    delete env.PUBSUB_EMULATOR_HOST;
    delete env.FIRESTORE_EMULATOR_HOST;
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--dates', '2024-04-20', '--project', `start-${randomUUID().slice(0, 8)}`], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 150_000;
    while (!output.includes('ready.') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 250));
    expect(output, output).toContain('ready.');
    expect(output).toMatch(/SUCCESS\s+scrape ✓ 2\/2 · raw ✓ 2\/2 · analytics ✓ 2\/2 · precompute ✓ 2\/2 · predict ✓ 2\/2/);
    const pids = [...output.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
    // Two emulators and eleven functions (orchestrator 2, phases 5, dlq-recorder, auto-retry, reconciler, dashboard), each its own process.
    expect(pids).toHaveLength(13);
    expect(output).toMatch(/dashboard: http:\/\/127\.0\.0\.1:\d+\//);
    expect(pids.every(isRunning)).toBe(true);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('stopped; nothing left running.');
    expect(pids.filter(isRunning)).toEqual([]);
  });
});
