// The example's data set, made here rather than shipped: every published week of four counters,
// the same numbers on every machine (each count is derived from a hash of week, counter and day).
import { createHash } from 'node:crypto';

export const COUNTERS = ['harbour-bridge', 'river-path', 'station-square', 'north-gate'] as const;
/** The portal has published these weeks; a later week is "not published yet". */
export const FIRST_WEEK = '2024-W01';
export const LAST_WEEK = '2024-W26';
/** A week whose file is wrong as published: a counter reset reads -3 on its Wednesday (the value gate's case). */
export const FAULTY_WEEK = '2024-W13';

const BASE: Record<(typeof COUNTERS)[number], number> = {
  'harbour-bridge': 2400,
  'river-path': 1300,
  'station-square': 3100,
  'north-gate': 650,
};
const DAY_MS = 86_400_000;

/** The seven days (YYYY-MM-DD) of an ISO week, Monday first. */
export function daysOfWeek(week: string): string[] {
  const match = /^(\d{4})-W(\d{2})$/.exec(week);
  if (!match) throw new Error(`"${week}" is not an ISO week (YYYY-Www)`);
  const jan4 = Date.UTC(Number(match[1]), 0, 4);
  const monday = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY_MS + (Number(match[2]) - 1) * 7 * DAY_MS;
  return Array.from({ length: 7 }, (_, i) => new Date(monday + i * DAY_MS).toISOString().slice(0, 10));
}

const unit = (text: string) => createHash('sha256').update(text).digest().readUInt32BE(0) / 0xffffffff;

/** The week's file as the portal publishes it (`date,counter,count`), or undefined before it is published. */
export function weekFile(week: string): string | undefined {
  if (week < FIRST_WEEK || week > LAST_WEEK) return undefined;
  const rows = ['date,counter,count'];
  for (const [i, date] of daysOfWeek(week).entries()) {
    for (const counter of COUNTERS) {
      const weekend = i >= 5 ? 0.55 : 1;
      let count = Math.round(BASE[counter] * weekend * (0.8 + 0.4 * unit(`${week}/${counter}/${date}`)));
      if (week === FAULTY_WEEK && counter === 'harbour-bridge' && i === 2) count = -3;
      rows.push(`${date},${counter},${count}`);
    }
  }
  return `${rows.join('\n')}\n`;
}
