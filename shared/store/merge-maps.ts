/** A plain object (a Firestore map), not a Date, Timestamp, array or class instance. */
const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * `over` merged into `base` as Firestore's `set(…, { merge: true })` does: field by field, into
 * nested maps too; any other value (arrays included) replaces, and so does an empty map (the SDK:
 * "if your input sets any field to an empty map, all nested fields are overwritten").
 */
export function mergeMaps(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const merged = { ...base };
  for (const [field, value] of Object.entries(over)) {
    const under = merged[field];
    merged[field] =
      isMap(under) && isMap(value) && Object.keys(value).length > 0 ? mergeMaps(under, value) : value;
  }
  return merged;
}
