import { readFileSync } from 'node:fs';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmulatorsMissingError, locateEmulators, parseJavaVersion } from '../../scripts/lib/emulators.ts';
import { gcloudSdkRoot } from '../../scripts/lib/emulator-locations.ts';
import { freePort, isPortFree, preferredOrFreePort } from '../../scripts/lib/ports.ts';
import { createServer } from 'node:net';

describe('emulator manager', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['java version "1.8.0_292"', 8],
    ['openjdk version "21" 2023-09-19', 21],
    ['nothing', undefined],
  ])('reads the Java version from %s', (text, major) => expect(parseJavaVersion(text)).toBe(major));

  it('says exactly what to install when the emulators are missing', { timeout: 60_000 }, () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-sdk-'));
    try {
      locateEmulators({ ...process.env, PHASEGATE_GCLOUD_SDK_ROOT: empty });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(EmulatorsMissingError);
      const message = (error as Error).message;
      expect(message).toContain(`Pub/Sub emulator jar not found (looked under ${empty})`);
      expect(message).toContain('Firestore emulator jar not found');
      expect(message).toContain(
        'apt-get install google-cloud-cli-pubsub-emulator google-cloud-cli-firestore-emulator',
      );
      expect(message).toContain('gcloud components install pubsub-emulator cloud-firestore-emulator');
    }
  });

  it('names a Java that is too old or absent', { timeout: 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'old-java-'));
    const fake = join(dir, 'java');
    writeFileSync(fake, '#!/bin/sh\necho \'java version "1.8.0_292"\' >&2\n', { mode: 0o755 });
    expect(() => locateEmulators({ ...process.env, JAVA: fake })).toThrow(
      /Java 8 found at ".*java"; the emulators need Java 17 or newer/,
    );
    expect(() => locateEmulators({ ...process.env, JAVA: join(dir, 'missing') })).toThrow(
      /Java was not found/,
    );
  });

  // `gcloud info` takes seconds on a busy machine.
  it('finds the jars on this machine', { timeout: 60_000 }, () => {
    const found = locateEmulators(process.env);
    expect(found.pubsubJar).toMatch(/cloud-pubsub-emulator-.*\.jar$/);
    expect(found.firestoreJar).toMatch(/cloud-firestore-emulator\.jar$/);
  });

  it('finds the SDK of the gcloud on PATH where it is installed, without running gcloud (a Python start)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gcloud-on-path-'));
    const ran = join(dir, 'gcloud-ran');
    // A gcloud that says where it ran from, and leaves a mark when it runs.
    const script = (root: string) => `#!/bin/sh\n: > ${ran}\necho ${root}\n`;
    mkdirSync(join(dir, 'sdk', 'bin'), { recursive: true });
    mkdirSync(join(dir, 'sdk', 'lib'));
    writeFileSync(join(dir, 'sdk', 'lib', 'gcloud.py'), '');
    writeFileSync(join(dir, 'sdk', 'bin', 'gcloud'), script('/elsewhere'), { mode: 0o755 });
    mkdirSync(join(dir, 'bin'));
    symlinkSync(join(dir, 'sdk', 'bin', 'gcloud'), join(dir, 'bin', 'gcloud'));
    expect(gcloudSdkRoot({ PATH: `${join(dir, 'empty')}:${join(dir, 'bin')}` })).toBe(
      realpathSync(join(dir, 'sdk')),
    );
    expect(existsSync(ran)).toBe(false);
    // A gcloud outside an SDK (a snap's wrapper) is asked where its SDK is.
    mkdirSync(join(dir, 'wrapper'));
    writeFileSync(join(dir, 'wrapper', 'gcloud'), script('/snap/google-cloud-cli/current'), { mode: 0o755 });
    expect(gcloudSdkRoot({ PATH: join(dir, 'wrapper') })).toBe('/snap/google-cloud-cli/current');
    expect(existsSync(ran)).toBe(true);
    expect(gcloudSdkRoot({ PATH: join(dir, 'empty') })).toBeUndefined();
  });

  it('takes the preferred port when free and another when it is taken', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const taken = (server.address() as { port: number }).port;
    expect(await isPortFree(taken)).toBe(false);
    const chosen = await preferredOrFreePort(taken);
    expect(chosen).not.toBe(taken);
    server.close();
  });

  it("picks ports outside the OS's ephemeral range, where no outgoing connection takes a dead process's port", async () => {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    // Asked for at once (functions spawned together), each is its own.
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(low!);
      expect(await isPortFree(port, null)).toBe(true);
    }
  });
});
