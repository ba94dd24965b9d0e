import type { ApiHandler } from './api-state.ts';

/** Service accounts. */
export const iam: ApiHandler = ({ create }, { method, resource, body }) => {
  if (method === 'POST' && resource.endsWith('/serviceAccounts')) {
    const { accountId, serviceAccount } = body as {
      accountId: string;
      serviceAccount?: { displayName?: string };
    };
    const project = resource.split('/')[1]!;
    const email = `${accountId}@${project}.iam.gserviceaccount.com`;
    const message = `Service account ${accountId} already exists within project projects/${project}.`;
    return create(
      `${resource}/${email}`,
      () => ({
        name: `${resource}/${email}`,
        email,
        projectId: project,
        displayName: serviceAccount?.displayName,
      }),
      message,
    );
  }
  return undefined;
};
