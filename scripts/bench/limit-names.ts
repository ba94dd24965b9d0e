// What the limit pipeline's functions and the bench that starts them agree on (no I/O here:
// importing limit-functions.ts would register its functions in the importing process).
export const LIMIT_DONE_COLLECTION = 'limit_done';
export const limitTopic = (name: string): string => `limit-${name}`;

/** The functions-framework targets in limit-functions.ts. */
export const LIMIT_ENTRY_POINTS = {
  runs: 'limit-runs',
  phase: 'limit-phase',
  completions: 'limit-completions',
} as const;

/** One processor's work for a date, as the limit pipeline passes it along. */
export interface LimitWork {
  partition: string;
  phase: string;
  processor: number;
}
