import { z } from 'zod';
import { ERROR_KINDS } from '../../errors/classify.ts';
import { QueueActionError } from '../../recovery/queue-actions.ts';
import {
  applyBulk,
  BULK_ACTIONS,
  BulkInterruptedError,
  bulkFilter,
  previewBulk,
} from '../../recovery/queue-bulk.ts';
import { QUEUE_STATUSES } from '../../recovery/queue-status.ts';
import { crossSiteRefusal } from './cross-site.ts';
import type { DashboardDeps } from './handler.ts';
import { json, type DashboardRequest, type DashboardResponse } from './http.ts';
import { noteOf, queueActionDeps, signedNote } from './queue-action.ts';
import { shellQuote } from '../../recovery/slack-payload.ts';

/**
 * More than this in one request is the command line's job: each entry is a transaction, and a
 * request has a timeout. The answer names the command that does the same.
 */
export const DASHBOARD_BULK_MAX = 100;

const optional = z
  .string()
  .trim()
  .transform((v) => v || undefined)
  .optional();
const BulkBodySchema = z.object({
  action: z.enum(BULK_ACTIONS),
  dryRun: z.boolean().default(false),
  /** The count the person confirmed (the preview's): a different count now is refused, not acted on. */
  expected: z.number().int().min(0).optional(),
  filter: z
    .object({
      status: z.enum(QUEUE_STATUSES).or(z.literal('')).optional(),
      phase: optional,
      processor: optional,
      errorType: z.enum(ERROR_KINDS).or(z.literal('')).optional(),
      errorReason: optional,
      from: optional,
      to: optional,
    })
    .strict(),
});

/** The CLI's words for the same filter: what to run when the page's limit is passed. */
function cliCommand(action: string, filter: Record<string, string | undefined>): string {
  const flags = Object.entries(filter)
    .filter(([, v]) => v)
    .map(([k, v]) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${shellQuote(v!)}`);
  return `phasegate queue ${action} ${flags.join(' ')} --note '<why>'`;
}

/**
 * `POST /api/queue/bulk` `{ action, filter, dryRun, note }`: the CLI's bulk retry, resolve or discard
 * from the page. A dry run answers the count and the first ten; an action needs a note (signed with
 * the caller, as a single action's is) and at most DASHBOARD_BULK_MAX matches.
 */
export async function handleBulkAction(
  deps: Pick<DashboardDeps, 'definition' | 'store' | 'publisher' | 'clock' | 'logger' | 'auth'>,
  req: DashboardRequest,
  caller: string | undefined,
): Promise<DashboardResponse> {
  const refused = crossSiteRefusal(req, deps.auth);
  if (refused) return refused;
  const parsed = BulkBodySchema.safeParse(req.body);
  if (!parsed.success)
    return json(400, {
      error: 'bad_request',
      message: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    });
  const { action, dryRun } = parsed.data;
  const given = Object.fromEntries(Object.entries(parsed.data.filter).filter(([, v]) => v)) as Record<
    string,
    string
  >;
  if (Object.keys(given).length === 0)
    return json(400, {
      error: 'bad_request',
      message: 'choose at least one filter (status, phase, processor, error, partitions)',
    });
  const { scheme } = deps.definition;
  for (const bound of ['from', 'to'] as const) {
    const problem = given[bound] ? scheme.problem(given[bound]) : null;
    if (problem)
      return json(400, {
        error: 'bad_request',
        message: `${bound} "${given[bound]}": ${problem} (${scheme.describe})`,
      });
  }
  if (given.from && given.to && scheme.compare(given.from, given.to) > 0)
    return json(400, { error: 'bad_request', message: `from ${given.from} is after to ${given.to}` });
  const note = noteOf(req.body);
  if (!dryRun && !note) return json(400, { error: 'bad_request', message: 'a note saying why is required' });
  const actionDeps = queueActionDeps(deps);
  try {
    const filter = bulkFilter(action, { ...given, compare: (a, b) => scheme.compare(a, b) });
    const { matched, sample } = await previewBulk(actionDeps, filter);
    if (dryRun) return json(200, { action, matched, sample });
    const { expected } = parsed.data;
    if (expected !== undefined && expected !== matched)
      return json(409, {
        error: 'conflict',
        message: `${matched} entries match now, not the ${expected} you confirmed: preview again`,
      });
    if (matched > DASHBOARD_BULK_MAX)
      return json(413, {
        error: 'too_many',
        message:
          `${matched} entries match: the page acts on at most ${DASHBOARD_BULK_MAX}; narrow the filter, ` +
          `or run ${cliCommand(action, given)}`,
      });
    const result = await applyBulk(actionDeps, action, filter, signedNote(deps, caller, note));
    deps.logger.info(
      {
        action,
        filter: given,
        matched,
        done: result.done.length,
        skipped: result.skipped.length,
        note,
        by: deps.auth.mode === 'iam' ? (caller ?? null) : 'act token',
      },
      'bulk queue action from the dashboard',
    );
    return json(200, { action, matched, ...result });
  } catch (error) {
    if (error instanceof BulkInterruptedError)
      return json(503, { error: 'interrupted', message: error.message, ...error.result });
    if (error instanceof QueueActionError) return json(409, { error: 'conflict', message: error.message });
    throw error;
  }
}
