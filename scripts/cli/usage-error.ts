/** A mistake in how a command was called, found while running it: printed as is, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
