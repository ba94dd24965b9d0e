import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { launchEmulators, type StartingEmulators } from '../../scripts/lib/emulators.ts';
import { processesWithEnv } from '../../scripts/lib/process-table.ts';

const scratch = mkdtempSync(join(tmpdir(), 'phasegate-emulator-start-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
/** Every start of a test, stopped after it even when an assertion failed halfway. */
const launched: StartingEmulators[] = [];
afterEach(async () => {
  await Promise.all(launched.splice(0).map((l) => l.stop()));
});
const launch = async (options: Parameters<typeof launchEmulators>[0]) => {
  const starting = await launchEmulators(options);
  launched.push(starting);
  return starting;
};

/** The environment of a start of its own (not the test run's emulators), its JVMs marked to be found in the process table. */
function ownStart(extra: Record<string, string> = {}): { env: NodeJS.ProcessEnv; mark: string } {
  const mark = randomUUID();
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, PHASEGATE_EMULATOR_TEST_MARK: mark };
  delete env.PUBSUB_EMULATOR_HOST;
  delete env.FIRESTORE_EMULATOR_HOST;
  return { env, mark };
}
const marked = (mark: string) => processesWithEnv('PHASEGATE_EMULATOR_TEST_MARK', mark);
const answers = (host: string) =>
  fetch(`http://${host}/`).then(
    () => true,
    () => false,
  );

describe('starting the emulators', () => {
  it('spawns both JVMs at once and returns before they answer; a later start maps the class archive the first wrote', async () => {
    const classCacheDir = join(scratch, 'jvm');
    const { env, mark } = ownStart();
    const starting = await launch({ env, logDir: inject('logDir'), classCacheDir });
    const commands = marked(mark).map((p) => p.command);
    expect(commands).toHaveLength(2);
    expect(commands).toEqual(
      expect.arrayContaining([
        expect.stringContaining('cloud-pubsub-emulator'),
        expect.stringContaining('cloud-firestore-emulator'),
      ]),
    );
    expect(await answers(starting.env.PUBSUB_EMULATOR_HOST)).toBe(false);
    const first = await starting.ready;
    expect(await answers(first.env.PUBSUB_EMULATOR_HOST)).toBe(true);
    expect(await answers(first.env.FIRESTORE_EMULATOR_HOST)).toBe(true);
    await first.stop();
    // Written at exit, one per emulator, nothing half-written left.
    const archives = readdirSync(classCacheDir).sort();
    expect(archives).toEqual([
      expect.stringMatching(/^firestore-[0-9a-f]{16}\.jsa$/),
      expect.stringMatching(/^pubsub-[0-9a-f]{16}\.jsa$/),
    ]);
    const again = await (await launch({ env, logDir: inject('logDir'), classCacheDir })).ready;
    for (const emulator of [again.firestore, again.pubsub]) {
      // The kernel's memory map of the JVM: the archive is mapped, not merely named on its command line.
      const maps = readFileSync(`/proc/${emulator.process!.pid}/maps`, 'utf8');
      expect(maps).toContain(
        join(
          classCacheDir,
          archives.find((a) => a.startsWith(emulator.name))!,
        ),
      );
    }
    await again.stop();
    expect(marked(mark)).toEqual([]);
  });

  it('one that fails to start stops the other, still starting, and is named', async () => {
    const notAJar = join(scratch, 'not-a-jar.jar');
    writeFileSync(notAJar, 'not a jar');
    const { env, mark } = ownStart({ PHASEGATE_FIRESTORE_EMULATOR_JAR: notAJar });
    const starting = await launch({
      env,
      logDir: inject('logDir'),
      classCacheDir: join(scratch, 'jvm-2'),
    });
    await expect(starting.ready).rejects.toThrow(
      /^the firestore emulator \(log: [^)]+\) exited with code 1 before it answered at http:\/\/127\.0\.0\.1:\d+\/; its last lines:/,
    );
    expect(marked(mark)).toEqual([]);
    // A JVM that never served leaves no archive.
    expect(readdirSync(join(scratch, 'jvm-2'))).toEqual([]);
  });
});
