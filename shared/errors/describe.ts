/** Caps keep one runaway message from bloating every document that records it. */
export const MAX_ERROR_MESSAGE_CHARS = 1000;
export const MAX_STACK_CHARS = 4000;

export interface ErrorDescription {
  name: string;
  message: string;
  stack: string | null;
}

export function truncate(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

/** A never-empty message for any thrown value: failures are recorded with a reason, not NULL. */
export function describeError(error: unknown): ErrorDescription {
  if (error instanceof Error) {
    const causes: string[] = [];
    let cause: unknown = error.cause;
    for (let depth = 0; cause !== undefined && depth < 3; depth += 1) {
      causes.push(
        cause instanceof Error
          ? `${cause.name}: ${cause.message}`
          : typeof cause === 'string'
            ? cause
            : JSON.stringify(cause),
      );
      cause = cause instanceof Error ? cause.cause : undefined;
    }
    const message = [error.message || error.name, ...causes.map((c) => `caused by ${c}`)].join('; ');
    return {
      name: error.name,
      message: truncate(message, MAX_ERROR_MESSAGE_CHARS),
      stack: error.stack ? truncate(error.stack, MAX_STACK_CHARS) : null,
    };
  }
  const text = typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
  return {
    name: 'NonError',
    message: truncate(text || 'thrown value without a message', MAX_ERROR_MESSAGE_CHARS),
    stack: null,
  };
}
