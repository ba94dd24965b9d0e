import type { ApiHandler } from './api-state.ts';

/** APIs enabled (every one already is), and the service agents of the project. */
export const serviceusage: ApiHandler = ({ done, projectNumber }, { method, resource }) => {
  if (method === 'GET' && /\/services\/[^/:]+$/.test(resource))
    return { code: 200, body: { name: resource, state: 'ENABLED' } };
  if (resource.endsWith(':batchEnable')) return done(resource.split('/services')[0]!, { services: [] });
  if (resource.endsWith(':generateServiceIdentity')) {
    const service = resource.split('/services/')[1]!.split(':')[0]!;
    const agent = `service-${projectNumber}@gcp-sa-${service.split('.')[0]}.iam.gserviceaccount.com`;
    return done('services', {
      '@type': 'type.googleapis.com/google.api.serviceusage.v1beta1.ServiceIdentity',
      email: agent,
      uniqueId: '1234',
    });
  }
  return undefined;
};
