/** Compile-time exhaustiveness: a new union member that is not handled is a type error. */
export function assertNever(value: never): never {
  throw new Error(`Unhandled value: ${JSON.stringify(value)}`);
}
