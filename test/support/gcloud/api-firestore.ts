import type { ApiHandler } from './api-state.ts';

/** The database, its composite indexes and its TTL policies. */
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
  // A TTL policy: `fields ttls update` PATCHes the field's ttlConfig; with --async gcloud takes the
  // operation and does not wait (enabling one takes minutes on a real project).
  if (method === 'PATCH' && /\/collectionGroups\/[^/]+\/fields\/[^/]+$/.test(resource)) {
    return {
      code: 200,
      body: {
        name: `${resource.split('/collectionGroups')[0]}/operations/ttl-${nextOperation()}`,
        done: false,
        metadata: { field: resource, ttlConfigDelta: { changeType: 'ADD' } },
      },
    };
  }
  return undefined;
};
