import { error, type ApiHandler } from './api-state.ts';

/** Topics and subscriptions: created by PUT, updated by PATCH, read by GET. */
export const pubsub: ApiHandler = ({ create, exists }, { method, resource, body }) => {
  if (method === 'PUT')
    return create(
      resource,
      () => ({ ...(body as object), name: resource }),
      `Resource already exists in the project (resource=${resource.split('/').pop()}).`,
    );
  if (method === 'PATCH') return { code: 200, body: (body as { subscription?: unknown }).subscription ?? {} };
  if (method === 'GET')
    return exists(resource)
      ? { code: 200, body: { name: resource } }
      : error(404, 'NOT_FOUND', `Resource not found (resource=${resource})`);
  return undefined;
};
