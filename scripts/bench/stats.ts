/** Polls every `everyMs` until `check` holds; the same poll for every pipeline measured. */
export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 600_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const ratio = (value: number, baseline: number): number => Math.round((value / baseline) * 100) / 100;

/** Runs each date chain in order, chains in parallel up to `concurrency` (a backfill's shape). */
export async function runChains(
  chains: readonly string[][],
  concurrency: number,
  runDate: (partition: string) => Promise<unknown>,
  onDone?: () => void,
): Promise<void> {
  const pending = [...chains];
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, pending.length)) }, async () => {
      for (let chain = pending.shift(); chain; chain = pending.shift()) {
        for (const date of chain) {
          await runDate(date);
          onDone?.();
        }
      }
    }),
  );
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}
