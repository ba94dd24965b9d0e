/** What the stand-in's APIs share: the resources created so far and the long-running operations. */

export interface Policy {
  version?: number;
  etag?: string;
  bindings?: { role: string; members: string[] }[];
}

export interface Reply {
  code: number;
  body: unknown;
}

/** A call to one API: `resource` is its path without the version (`projects/p/topics/t`). */
export interface ApiCall {
  method: string;
  resource: string;
  query: URLSearchParams;
  body: unknown;
}

export const error = (code: number, status: string, message: string) => ({
  code,
  body: { error: { code, message, status } },
});

export function createApiState(options: { world: 'empty' | 'existing'; projectNumber: string }) {
  const created = new Set<string>();
  const exists = (path: string) => options.world === 'existing' || created.has(path);
  let operations = 0;
  const finished = new Map<string, unknown>();
  /** A long-running operation, done at once; gcloud polls it by name and reads its response. */
  const done = (prefix: string, response: unknown = {}, metadata?: unknown) => {
    const op = {
      name: `${prefix}/operations/op-${++operations}`,
      done: true,
      response,
      ...(metadata ? { metadata } : {}),
    };
    finished.set(op.name, op);
    return { code: 200, body: op };
  };
  /**
   * A create: 409 ALREADY_EXISTS with the API's own message if it exists (as Google's APIs word
   * them in published error reports), else remember it and answer `body`.
   */
  const create = (path: string, body: () => unknown, message: string) => {
    if (exists(path)) return error(409, 'ALREADY_EXISTS', message);
    created.add(path);
    return { code: 200, body: body() };
  };
  return {
    projectNumber: options.projectNumber,
    /** The stand-in's own URL, once it listens (an upload URL points back at it). */
    base: '',
    created,
    exists,
    finished,
    done,
    create,
    nextOperation: () => ++operations,
  };
}

export type ApiState = ReturnType<typeof createApiState>;

/** One API's answers; `undefined` for a call it does not know (the stand-in answers 501). */
export type ApiHandler = (state: ApiState, call: ApiCall) => Reply | undefined;
