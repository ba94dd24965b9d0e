import { randomBytes } from 'node:crypto';
import { z } from 'zod';

export const TRIGGER_SOURCES = ['scheduled', 'manual', 'retry', 'backfill'] as const;
export const TriggerSourceSchema = z.enum(TRIGGER_SOURCES);
export type TriggerSource = z.infer<typeof TriggerSourceSchema>;

/** Phase ids, processor names and run ids become topic names and document ids: no `/`, no spaces. */
export const IdentifierSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, starting with a letter');
/** An id that becomes a Firestore document id: no `/` (a path), bounded. */
export const DocumentIdSchema = z
  .string()
  .regex(/^[^/]{1,300}$/, '1-300 characters, no "/" (it names a document)')
  .refine(
    (v) => v !== '.' && v !== '..' && !/^__.*__$/.test(v),
    'not ".", ".." or __name__ (Firestore reserves them)',
  );
export const RunIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'letters, digits, _ and -');

/** W3C trace context, version 00: `00-<trace-id 32 hex>-<parent-id 16 hex>-<flags 2 hex>`. */
export const TraceparentSchema = z
  .string()
  .regex(
    /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/,
    'expected a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)',
  );

export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** The next hop of the same trace: same trace id, a new span id. */
export function childTraceparent(parent: string): string {
  const parts = parent.split('-');
  const traceId = parts[1];
  const flags = parts[3];
  if (parts.length !== 4 || traceId === undefined || flags === undefined) return newTraceparent();
  return `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
}

export function traceIdOf(traceparent: string): string | undefined {
  return traceparent.split('-')[1];
}
