import type { z } from 'zod';
import { HttpError, NotReadyError, PermanentError, ValidationError } from '../../../shared/index.ts';
import type { HttpClient } from '../../../shared/index.ts';
import { parseMessage } from '../../../shared/index.ts';

/**
 * Reads the source API. Tells "not published yet" (a 404 whose body says not_published:
 * not ready, wait for the source) from a wrong URL (any other 404: permanent), and a
 * malformed payload (permanent, with the reason) from a transient failure (thrown as is).
 */
export function createSourceClient(http: HttpClient, baseUrl: string) {
  async function getJson<S extends z.ZodType>(
    path: string,
    params: Record<string, string>,
    schema: S,
  ): Promise<z.infer<S>> {
    const url = `${baseUrl.replace(/\/$/, '')}${path}?${new URLSearchParams(params).toString()}`;
    let text: string;
    try {
      text = (await http.get(url)).text;
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) {
        let body: unknown;
        try {
          body = JSON.parse(error.body);
        } catch {
          body = undefined;
        }
        if (
          typeof body === 'object' &&
          body !== null &&
          (body as { error?: unknown }).error === 'not_published'
        ) {
          throw new NotReadyError(
            `source has not published ${Object.values(params).join(' ')} yet (${url})`,
            {
              cause: error,
            },
          );
        }
        throw new PermanentError(`source endpoint not found: ${url}`, { cause: error });
      }
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ValidationError(
        `malformed payload from ${url}: not valid JSON (${text.length} bytes, starts ${JSON.stringify(text.slice(0, 40))})`,
        [{ path: '(root)', message: 'not JSON' }],
        { cause: error },
      );
    }
    return parseMessage(schema, json, `payload from ${url}`);
  }
  return { getJson, baseUrl };
}
export type SourceClient = ReturnType<typeof createSourceClient>;
