import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, waitForHttp } from '../../scripts/lib/ports.ts';
import { startProcess, type ManagedProcess } from '../../scripts/lib/processes.ts';

const logDir = mkdtempSync(join(tmpdir(), 'phasegate-processes-'));
const started: ManagedProcess[] = [];
/** A small node program as a managed process. */
function node(name: string, script: string): ManagedProcess {
  const proc = startProcess(name, process.execPath, ['-e', script], { logFile: join(logDir, `${name}.log`) });
  started.push(proc);
  return proc;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop(500)));
});

describe('waiting for a process to serve', () => {
  it('fails as soon as the process exits, saying how and with its last lines', async () => {
    const port = await freePort();
    const proc = node(
      'crashes',
      'console.log("loading config"); console.error("Error: no such table"); process.exit(7)',
    );
    await expect(
      waitForHttp(`http://127.0.0.1:${port}/`, { what: 'crasher', process: proc }),
    ).rejects.toThrow(
      new RegExp(
        String.raw`^crasher exited with code 7 before it answered at http:\/\/127\.0\.0\.1:\d+\/; ` +
          String.raw`its last lines:\n {4}` +
          String.raw`(loading config\n {4}Error: no such table|Error: no such table\n {4}loading config)$`,
      ),
    );
  });

  it('keeps waiting while the process is alive and slow to listen', async () => {
    const port = await freePort();
    const proc = node(
      'slow',
      `setTimeout(() => require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1'), 1500)`,
    );
    await expect(
      waitForHttp(`http://127.0.0.1:${port}/`, { what: 'slow server', process: proc }),
    ).resolves.toBeUndefined();
  });

  it('gives up after the limit on a process that lives but never answers, and says it is still running', async () => {
    const port = await freePort();
    const proc = node('silent', 'setInterval(() => {}, 1000)');
    await expect(
      waitForHttp(`http://127.0.0.1:${port}/`, { what: 'silent server', process: proc, limitMs: 2000 }),
    ).rejects.toThrow(
      /^silent server did not answer at http:\/\/127\.0\.0\.1:\d+\/ within 2 s although it is still running$/,
    );
    expect(proc.isAlive()).toBe(true);
  });

  it('stops a process that ignores SIGTERM with SIGKILL after the grace period', async () => {
    const proc = node(
      'stubborn',
      'process.on("SIGTERM", () => console.log("ignoring SIGTERM")); setInterval(() => {}, 1000); console.log("up")',
    );
    while (!proc.tail().includes('up')) await new Promise((r) => setTimeout(r, 20));
    await proc.stop(300);
    expect(proc.isAlive()).toBe(false);
    expect(await proc.exited).toMatchObject({ signal: 'SIGKILL' });
  });
});
