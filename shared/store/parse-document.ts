import type { z } from 'zod';
import { PermanentError } from '../errors/errors.ts';
import type { DocData } from '../ports/store.ts';

/** A document that does not have the shape the kit wrote: a person (or a foreign writer) changed it. */
export class CorruptDocumentError extends PermanentError {
  override readonly name = 'CorruptDocumentError';
}

/**
 * Reads a stored document through its schema, as messages are read off the wire: a corrupt
 * document is an error naming the document and the field, never a value cast into a type it
 * does not have. Unknown fields are kept (the schemas are loose), so a read-modify-write loses
 * nothing a newer version wrote.
 */
export function parseDocument<S extends z.ZodType>(
  schema: S,
  collection: string,
  id: string,
  data: DocData | undefined,
): z.infer<S> | undefined {
  if (data === undefined) return undefined;
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`)
    .join('; ');
  throw new CorruptDocumentError(`${collection}/${id} is corrupt: ${issues}`);
}

/** Where a document can be read from: a store or a transaction. */
export interface DocumentReader {
  get(collection: string, id: string): Promise<DocData | undefined>;
}
