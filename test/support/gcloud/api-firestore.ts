import type { ApiHandler } from './api-state.ts';

/** The database and its composite indexes. */
export const firestore: ApiHandler = ({ create, nextOperation }, { method, resource, query, body }) => {
  if (method === 'POST' && /^projects\/[^/]+\/databases$/.test(resource)) {
    const name = `${resource}/${query.get('databaseId') ?? '(default)'}`;
    return create(
      name,
      () => ({ name: `${name}/operations/db-${nextOperation()}`, done: true, response: { name } }),
      'Database already exists. Please use another database_id',
    );
  }
  if (method === 'POST' && resource.endsWith('/indexes')) {
    const name = `${resource}/${JSON.stringify(body)}`;
    return create(
      name,
      () => ({
        name: `${resource.split('/collectionGroups')[0]}/operations/ix-${nextOperation()}`,
        done: false,
        metadata: {},
      }),
      'index already exists',
    );
  }
  return undefined;
};
