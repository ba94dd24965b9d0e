import type { ApiHandler } from './api-state.ts';

/** The project itself: its number, which deploy looks up. */
export const cloudresourcemanager: ApiHandler = ({ projectNumber }, { method, resource }) => {
  if (method === 'GET' && /^projects\/[^/]+$/.test(resource))
    return {
      code: 200,
      body: {
        projectId: resource.split('/')[1],
        projectNumber,
        lifecycleState: 'ACTIVE',
      },
    };
  return undefined;
};
