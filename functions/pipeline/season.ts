/**
 * The NBA season a date belongs to: October onwards starts a season (`2023-24`), earlier
 * months end the previous one (the 2019-20 playoffs ran into August 2020). Dates of one
 * season depend on each other (series state, form); seasons do not.
 */
export function seasonOfDate(gameDate: string): string {
  const year = Number(gameDate.slice(0, 4));
  const month = Number(gameDate.slice(5, 7));
  const start = month >= 10 ? year : year - 1;
  return `${start}-${String((start + 1) % 100).padStart(2, '0')}`;
}
