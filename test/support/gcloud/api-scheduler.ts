import type { ApiHandler } from './api-state.ts';

/** Cloud Scheduler jobs. */
export const cloudscheduler: ApiHandler = ({ create }, { method, resource, body }) => {
  if (method === 'POST' && resource.endsWith('/jobs')) {
    const name = (body as { name: string }).name;
    return create(`${resource}/${name.split('/').pop()}`, () => body, `Job ${name} already exists.`);
  }
  if (method === 'PATCH') return { code: 200, body };
  return undefined;
};
