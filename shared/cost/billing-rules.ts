/**
 * How Google counts what it bills, as the pricing pages state it (shared/cost/prices.ts cites them).
 * The cost meter (shared/adapters/cost-meter.ts) applies these to every call it sees.
 */

/** Firestore: a query is billed one read per document it returns, and at least one read, even when empty. */
export const queryReads = (documentsReturned: number): number => Math.max(1, documentsReturned);

/** Firestore: an aggregation (`count()`) is one read per batch of up to 1,000 index entries matched, at least one. */
export const COUNT_ENTRIES_PER_READ = 1000;
export const countReads = (entriesMatched: number): number =>
  Math.max(1, Math.ceil(entriesMatched / COUNT_ENTRIES_PER_READ));

/** Pub/Sub: every publish, push or pull request is billed at least 1,000 bytes, whatever the message size. */
export const MIN_BILLED_BYTES_PER_REQUEST = 1000;
/** Pub/Sub: the publish timestamp counts as 20 bytes of every message. */
export const TIMESTAMP_BYTES = 20;

/**
 * A message's data volume as Pub/Sub bills it: the data, each attribute's key and value, 20 bytes
 * for the timestamp and the message id.
 */
export function messageBytes(message: {
  dataBytes: number;
  attributes?: Readonly<Record<string, string>>;
  messageId: string;
}): number {
  const attributes = Object.entries(message.attributes ?? {}).reduce(
    (n, [key, value]) => n + Buffer.byteLength(key) + Buffer.byteLength(value),
    0,
  );
  return message.dataBytes + attributes + TIMESTAMP_BYTES + Buffer.byteLength(message.messageId);
}

/** The billed volume of one request carrying `bytes` of messages. */
export const billedRequestBytes = (bytes: number): number => Math.max(MIN_BILLED_BYTES_PER_REQUEST, bytes);

/** Cloud Run bills an instance's time rounded up to the next 100 ms. */
export const BILLING_GRANULARITY_MS = 100;
export const billedMs = (handlerMs: number): number =>
  Math.ceil(handlerMs / BILLING_GRANULARITY_MS) * BILLING_GRANULARITY_MS;
