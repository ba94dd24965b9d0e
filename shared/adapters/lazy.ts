/**
 * A value built on first use and kept for the life of the instance, the way an entry file builds
 * its clients and handlers. A build that throws, or a promise that rejects, is not kept: the next
 * use builds again (and reports its error again).
 */
export function lazy<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    if (built) return built.value;
    const value = build();
    const kept = { value };
    built = kept;
    if (value instanceof Promise)
      value.catch(() => {
        if (built === kept) built = undefined;
      });
    return value;
  };
}
