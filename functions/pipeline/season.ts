/**
 * Seasons that did not end by October: the 2019-20 playoffs (the bubble) ran to 2020-10-11, and
 * the 2020-21 season began on 2020-12-22.
 */
const LATE_SEASON_ENDS: readonly { through: string; season: string }[] = [
  { through: '2020-11-30', season: '2019-20' },
];

/**
 * The NBA season a date belongs to: October onwards starts a season (`2023-24`), earlier
 * months end the previous one, except where a season ran late (above). Dates of one season
 * depend on each other (series state, form); seasons do not.
 */
export function seasonOfDate(gameDate: string): string {
  const late = LATE_SEASON_ENDS.find(
    (s) =>
      gameDate.slice(0, 4) === s.through.slice(0, 4) && gameDate <= s.through && gameDate.slice(5, 7) >= '10',
  );
  if (late) return late.season;
  const year = Number(gameDate.slice(0, 4));
  const month = Number(gameDate.slice(5, 7));
  const start = month >= 10 ? year : year - 1;
  return `${start}-${String((start + 1) % 100).padStart(2, '0')}`;
}
