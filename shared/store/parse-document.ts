import type { z } from 'zod';
import { PermanentError } from '../errors/errors.ts';
import type { DocData, StoredDoc } from '../ports/store.ts';

/** A document that does not have the shape the kit wrote: a person (or a foreign writer) changed it. */
export class CorruptDocumentError extends PermanentError {
  override readonly name = 'CorruptDocumentError';
  constructor(
    /** `collection/id`. */
    readonly document: string,
    readonly issues: string,
  ) {
    super(`${document} is corrupt: ${issues}`);
  }
}

/** Where a document can be read from: a store or a transaction. */
export interface DocumentReader {
  get(collection: string, id: string): Promise<DocData | undefined>;
}

/** Says that a corrupt document was passed over (by default one WARNING line on stderr, as Cloud Logging reads it). */
export type CorruptReport = (error: CorruptDocumentError) => void;

export const reportCorruptToStderr: CorruptReport = (error) => {
  const line = { severity: 'WARNING', message: `${error.message}; passed over`, document: error.document };
  process.stderr.write(`${JSON.stringify(line)}\n`);
};

/** The document parsed, or the error naming its document and first fields (undefined for none). */
export function tryParseDocument<S extends z.ZodType>(
  schema: S,
  collection: string,
  id: string,
  data: DocData | undefined,
): { value: z.infer<S> | undefined; corrupt?: CorruptDocumentError } {
  if (data === undefined) return { value: undefined };
  const result = schema.safeParse(data);
  if (result.success) return { value: result.data };
  const issues = result.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`)
    .join('; ');
  return { value: undefined, corrupt: new CorruptDocumentError(`${collection}/${id}`, issues) };
}

/**
 * Reads a stored document through its schema, as messages are read off the wire: a corrupt
 * document is an error naming the document and the field, never a value cast into a type it
 * does not have. For a read that cannot go on without the document (a run being decided, a
 * person's queue action).
 */
export function parseDocument<S extends z.ZodType>(
  schema: S,
  collection: string,
  id: string,
  data: DocData | undefined,
): z.infer<S> | undefined {
  const { value, corrupt } = tryParseDocument(schema, collection, id, data);
  if (corrupt) throw corrupt;
  return value;
}

/**
 * The documents of a query or a batch, parsed; a corrupt one is reported and passed over, so one
 * bad document never stops a listing, a tick or a batch (nothing is written over it either).
 */
export function parseEach<S extends z.ZodType>(
  schema: S,
  collection: string,
  docs: readonly StoredDoc[],
  report: CorruptReport = reportCorruptToStderr,
): z.infer<S>[] {
  return docs.flatMap((d) => {
    const { value, corrupt } = tryParseDocument(schema, collection, d.id, d.data);
    if (corrupt) report(corrupt);
    return value === undefined ? [] : [value];
  });
}

/** One document, parsed; a corrupt one is reported and read as absent (the caller writes nothing over it). */
export function parseOrPassOver<S extends z.ZodType>(
  schema: S,
  collection: string,
  id: string,
  data: DocData | undefined,
  report: CorruptReport = reportCorruptToStderr,
): z.infer<S> | undefined {
  const { value, corrupt } = tryParseDocument(schema, collection, id, data);
  if (corrupt) report(corrupt);
  return value;
}
