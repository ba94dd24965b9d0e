import { inject, describe, expect, it } from 'vitest';
import { startEmulators } from '../../scripts/lib/emulators.ts';

describe('emulator manager', () => {
  it('reuses running emulators named by PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST, and stopping leaves them running', async () => {
    const env = inject('emulatorEnv');
    const reused = await startEmulators({ env: { ...process.env, ...env }, logDir: inject('logDir') });
    expect(reused.env).toEqual(env);
    expect(reused.pubsub.process).toBeUndefined();
    expect(reused.firestore.process).toBeUndefined();
    await reused.stop();
    expect((await fetch(`http://${env.PUBSUB_EMULATOR_HOST}/`)).ok).toBe(true);
    expect((await fetch(`http://${env.FIRESTORE_EMULATOR_HOST}/`)).ok).toBe(true);
  });

  it('says which emulator does not answer when a named one is not running', async () => {
    await expect(
      startEmulators({
        env: {
          ...process.env,
          PUBSUB_EMULATOR_HOST: '127.0.0.1:9',
          FIRESTORE_EMULATOR_HOST: inject('emulatorEnv').FIRESTORE_EMULATOR_HOST,
        },
        logDir: inject('logDir'),
      }),
    ).rejects.toThrow(/the pubsub emulator at 127\.0\.0\.1:9 \(from PUBSUB_EMULATOR_HOST\) did not answer/);
  });
});
