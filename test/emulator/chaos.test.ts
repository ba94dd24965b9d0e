import { spawn } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../support/emulator-harness.ts';

describe('chaos soak (short)', () => {
  it('backfills 2 real dates under every kind of fault and loses nothing', async () => {
    // On the suite's emulators (the script reuses emulators named by the environment).
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const args = ['--import', 'tsx', 'scripts/chaos.ts', '--dates', '2', '--seed', '7'];
      const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...inject('emulatorEnv') }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.once('exit', (code) => resolve({ code, out }));
    });
    expect(result.out).toContain('documents compared with the reference');
    expect(result.out).toMatch(/lost 0, duplicated 0, different 0/);
    expect(result.out).toContain('poison messages recorded as failed_permanent: 2/2');
    for (const kind of ['write failure', 'slow handler', 'duplicate delivery', 'process kill', 'source 429', 'source 5xx', 'source timeout', 'poison message']) expect(result.out).toMatch(new RegExp(`${kind}\\s+[1-9]`));
    expect(result.code, result.out.slice(-3000)).toBe(0);
  }, 600_000);
});
