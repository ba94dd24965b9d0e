import { z } from 'zod';

export const SOURCE_ENDPOINTS = [
  'schedule',
  'boxscores',
  'next-game-date',
  'season-games',
  'game-dates',
] as const;
export type SourceEndpoint = (typeof SOURCE_ENDPOINTS)[number];

export const FAULT_KINDS = [
  'rate_limit',
  'server_error',
  'slow',
  'not_published',
  'malformed',
  'missing_rows',
] as const;

/** One switchable fault. `times` counts the requests it affects; omitted, it lasts until cleared. */
export const FaultRuleSchema = z
  .object({
    endpoint: z.enum([...SOURCE_ENDPOINTS, '*']),
    kind: z.enum(FAULT_KINDS),
    /** Only requests for these dates (the `date`/`after`/`through` parameter); omitted, every date. */
    dates: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/)).optional(),
    times: z.number().int().positive().optional(),
    /** rate_limit: the Retry-After header, in seconds. */
    retryAfterSeconds: z.number().int().min(0).default(1),
    /** slow: how long to wait before answering. */
    delayMs: z.number().int().min(0).default(15_000),
    /** server_error: which 5xx. */
    status: z.number().int().min(500).max(599).default(503),
    /** missing_rows: how many team rows of the date's box scores are left out (from the end; 2 is one game). */
    rows: z.number().int().positive().default(2),
  })
  .strict()
  .refine((r) => r.kind !== 'missing_rows' || r.endpoint === 'boxscores' || r.endpoint === '*', {
    message: 'missing_rows drops box score rows: its endpoint is boxscores (or *)',
    path: ['endpoint'],
  });
export type FaultRule = z.infer<typeof FaultRuleSchema>;
export type FaultRuleInput = z.input<typeof FaultRuleSchema>;

export interface FaultBook {
  add(rule: FaultRuleInput): FaultRule;
  clear(): void;
  list(): FaultRule[];
  /** The fault to apply to this request, consuming one of its `times`. */
  take(endpoint: SourceEndpoint, date: string | undefined): FaultRule | undefined;
}

export function createFaultBook(initial: FaultRuleInput[] = []): FaultBook {
  let rules: FaultRule[] = initial.map((r) => FaultRuleSchema.parse(r));
  return {
    add(rule) {
      const parsed = FaultRuleSchema.parse(rule);
      rules.push(parsed);
      return parsed;
    },
    clear() {
      rules = [];
    },
    list: () => rules.map((r) => ({ ...r })),
    take(endpoint, date) {
      const index = rules.findIndex(
        (r) =>
          (r.endpoint === '*' || r.endpoint === endpoint) &&
          (!r.dates || (date !== undefined && r.dates.includes(date))),
      );
      const rule = rules[index];
      if (!rule) return undefined;
      if (rule.times !== undefined) {
        if (rule.times <= 1) rules.splice(index, 1);
        else rules[index] = { ...rule, times: rule.times - 1 };
      }
      return rule;
    },
  };
}
