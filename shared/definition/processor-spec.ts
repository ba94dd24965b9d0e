/**
 * A processor of a definition in one line, `processor(name, description, [output(collection,
 * field)])`: the same object as written out, its name and collections kept as literal types, so
 * `ProcessorRegistry` and `defineExpectations` still check them.
 */
export function processor<const N extends string, const O extends OutputInput[]>(
  name: N,
  description: string,
  outputs: O,
): { name: N; description: string; outputs: O } {
  return { name, description, outputs };
}

/** What a processor writes for a partition: `collection`, whose `partitionField` holds the partition key. */
export function output<const C extends string, const F extends string>(
  collection: C,
  partitionField: F,
): { collection: C; partitionField: F } {
  return { collection, partitionField };
}

interface OutputInput {
  collection: string;
  partitionField: string;
}
