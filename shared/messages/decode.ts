import type { z } from 'zod';
import type { PartitionScheme } from '../definition/partition.ts';
import { ValidationError } from '../errors/errors.ts';

export interface IssueSummary {
  path: string;
  message: string;
}

export function summariseIssues(error: z.ZodError): IssueSummary[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
}

/** Parse once at the boundary; a payload that fails is a permanent error carrying the issues. */
export function parseMessage<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = summariseIssues(result.error);
  const listed = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new ValidationError(`invalid ${what}: ${listed}`, issues, { cause: result.error });
}

/** base64 -> UTF-8 -> JSON; each step's failure is a ValidationError naming that step. */
export function decodeBase64Json(data: string | undefined | null, what: string): unknown {
  if (data === undefined || data === null || data === '') {
    throw new ValidationError(`invalid ${what}: message has no data`, [{ path: '(root)', message: 'empty' }]);
  }
  const text = Buffer.from(data, 'base64').toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ValidationError(
      `invalid ${what}: data is not JSON (${text.slice(0, 80)})`,
      [{ path: '(root)', message: 'not JSON' }],
      { cause: error },
    );
  }
}

/** The message's partition must be a key of the pipeline's scheme (the schemas check only that it is an id). */
export function checkPartition(scheme: PartitionScheme, partition: string, what: string): string {
  const problem = scheme.problem(partition);
  if (!problem) return partition;
  const message = `${problem} (this pipeline's partitions: ${scheme.describe})`;
  throw new ValidationError(`invalid ${what}: partition: ${message}`, [{ path: 'partition', message }]);
}
