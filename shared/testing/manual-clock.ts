import type { Clock } from '../ports/clock.ts';

/** A clock a test moves by hand: `now()` stays put until `advance(ms)`. */
export function manualClock(start = '2026-03-01T12:00:00.000Z'): Clock & { advance(ms: number): void } {
  let now = new Date(start).getTime();
  return { now: () => new Date(now), advance: (ms) => (now += ms) };
}
