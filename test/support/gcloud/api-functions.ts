import { error, type ApiHandler } from './api-state.ts';

const FUNCTION_OPERATION = {
  '@type': 'type.googleapis.com/google.cloud.functions.v2.OperationMetadata',
  stages: [],
};

function gen2Function(name: string) {
  const [, project, , region, , fn] = name.split('/');
  return {
    name,
    environment: 'GEN_2',
    state: 'ACTIVE',
    url: `https://${region}-${project}.cloudfunctions.net/${fn}`,
    serviceConfig: {
      service: `projects/${project}/locations/${region}/services/${fn}`,
      uri: `https://${fn}-abc123-ew.a.run.app`,
    },
    buildConfig: { runtime: 'nodejs20', entryPoint: fn },
  };
}

/** Gen2 functions: runtimes, the source upload, deploys (create or patch) and reads. */
export const cloudfunctions: ApiHandler = (state, { method, resource, query }) => {
  const { created, done, exists } = state;
  if (method === 'GET' && resource.endsWith('/runtimes')) {
    return {
      code: 200,
      body: {
        runtimes: ['nodejs18', 'nodejs20', 'nodejs22'].map((name) => ({
          name,
          displayName: name,
          stage: 'GA',
          environment: 'GEN_2',
        })),
      },
    };
  }
  if (method === 'POST' && resource.endsWith('/functions:generateUploadUrl')) {
    const upload = state.nextOperation();
    return {
      code: 200,
      body: {
        uploadUrl: `${state.base}/upload/${upload}`,
        storageSource: { bucket: 'gcf-v2-uploads', object: `source-${upload}.zip` },
      },
    };
  }
  if (method === 'GET' && /\/functions\/[^/]+$/.test(resource))
    return exists(resource)
      ? { code: 200, body: gen2Function(resource) }
      : error(404, 'NOT_FOUND', `Resource '${resource}' was not found`);
  if (method === 'POST' && resource.endsWith('/functions')) {
    const name = `${resource}/${query.get('functionId')}`;
    created.add(name);
    return done(resource.split('/functions')[0]!, gen2Function(name), FUNCTION_OPERATION);
  }
  if (method === 'PATCH')
    return done(resource.split('/functions')[0]!, gen2Function(resource), FUNCTION_OPERATION);
  return undefined;
};
