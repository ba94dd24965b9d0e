// A function process hands its counts to the bench through PHASEGATE_COST_METER's directory: the
// test pipeline's real entry module under functions-framework, stopped as a stack stops it.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { costMeterFromEnv, readCostMeterFiles } from '../../shared/adapters/cost-meter-file.ts';
import { messageBytes } from '../../shared/cost/billing-rules.ts';
import { functionBuild } from '../../scripts/lib/function-build.ts';
import { spawnFunction, type RunningFunction } from '../../scripts/lib/functions.ts';
import { waitFor } from '../../scripts/bench/stats.ts';

const FUNCTION = 'phase-alpha';
const dirs: string[] = [];
const running: RunningFunction[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.process.stop(1000)));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const scratch = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'phasegate-cost-meter-'));
  dirs.push(dir);
  return dir;
};

/** The test pipeline's function, metered into `meterDir`; IAM auth, so a push without a token is refused before any I/O. */
async function startMetered(meterDir: string): Promise<RunningFunction> {
  const source = (await functionBuild()).compiled('test/fixtures/test-pipeline/functions.ts');
  const starting = await spawnFunction({
    name: FUNCTION,
    target: FUNCTION,
    source,
    signatureType: 'http',
    env: {
      ...process.env,
      GOOGLE_CLOUD_PROJECT: 'cost-meter-test',
      METADATA_SERVER_DETECTION: 'none',
      PHASEGATE_AUTH: 'iam',
      PHASEGATE_PUSH_AUDIENCE: 'https://example.test/phase-alpha',
      PHASEGATE_PUSH_SERVICE_ACCOUNT: 'push@example.iam.gserviceaccount.com',
      PHASEGATE_COST_METER: meterDir,
      LOG_LEVEL: 'error',
    },
    logDir: join(meterDir, '..', `${FUNCTION}-logs`),
  });
  running.push(starting);
  return starting.ready;
}

const data = Buffer.from('{"hello":"world"}');
const envelope = {
  message: { data: data.toString('base64'), messageId: 'm-1', attributes: { k: 'v' } },
  subscription: 'projects/cost-meter-test/subscriptions/phase-alpha-sub',
};
const push = (fn: RunningFunction) =>
  fetch(`${fn.url}/projects/cost-meter-test/topics/phase-alpha`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(envelope),
  });

const invocationsIn = (dir: string): number =>
  readCostMeterFiles(dir).total.invocations[FUNCTION]?.count ?? 0;

describe('a function process hands its counts to the bench', () => {
  it('writes its final counts when stopped with SIGTERM, as a stack stops it', async () => {
    const dir = scratch();
    const fn = await startMetered(dir);
    expect((await push(fn)).status).toBe(401);
    // At once: well within the periodic write's second, so only the write at exit can carry it.
    await fn.process.stop();
    expect(await fn.process.exited).toMatchObject({ signal: null });
    const { files, total } = readCostMeterFiles(dir);
    expect(files.map((f) => [f.process, f.pid])).toEqual([[FUNCTION, fn.process.pid]]);
    expect(total.invocations[FUNCTION]).toMatchObject({ count: 1 });
    expect(total.deliveries).toEqual({
      requests: 1,
      bytes: messageBytes({ dataBytes: data.length, attributes: { k: 'v' }, messageId: 'm-1' }),
      billedBytes: 1000,
    });
  }, 60_000);

  it('writes its counts within a second of a change, so a process killed outright loses at most that', async () => {
    const dir = scratch();
    const fn = await startMetered(dir);
    await push(fn);
    await push(fn);
    await waitFor(() => Promise.resolve(invocationsIn(dir) === 2), 'the periodic write', 10_000, 100);
    fn.process.child.kill('SIGKILL');
    await fn.process.exited;
    expect(invocationsIn(dir)).toBe(2);
    expect(readdirSync(dir).filter((f) => !f.endsWith('.json'))).toEqual([]);
  }, 60_000);
});

describe('the cost meter is off unless asked for', () => {
  it('builds no meter, and so no wrapper, without PHASEGATE_COST_METER', () => {
    expect(costMeterFromEnv({})).toBeUndefined();
    expect(costMeterFromEnv({ PHASEGATE_COST_METER: '' })).toBeUndefined();
  });

  it('refuses a relative directory, naming the variable', () => {
    expect(() => costMeterFromEnv({ PHASEGATE_COST_METER: 'cost' })).toThrow(
      'PHASEGATE_COST_METER must be an absolute directory path (the bench sets it), got "cost"',
    );
  });

  it("a file that is not the meter's is an error naming it", () => {
    const dir = scratch();
    const meter = costMeterFromEnv({ PHASEGATE_COST_METER: dir }, 'here');
    expect(meter && existsSync(meter.file)).toBe(true);
    rmSync(meter!.file);
    const bad = join(dir, 'other.json');
    writeFileSync(bad, '{"process":"x"}');
    expect(() => readCostMeterFiles(dir)).toThrow(`${bad} is not a cost meter file: pid:`);
  });
});
