import { loadDashboardAuth } from '../operations/dashboard/auth.ts';
import { createDashboard, type DashboardDeps } from '../operations/dashboard/handler.ts';
import { headersOf, type Endpoint } from './http-endpoint.ts';
import { createIdTokenVerifier } from './push-auth.ts';

/**
 * The dashboard as an HTTP function: its authentication read from the environment when it is
 * built (in `iam` mode, the caller's Google ID token is verified), and each functions-framework
 * request handed to the dashboard as a plain request.
 */
export function dashboardEndpoint(deps: Omit<DashboardDeps, 'auth' | 'verifyIdToken'>): Endpoint {
  const auth = loadDashboardAuth(process.env);
  const verifyIdToken =
    auth.mode === 'iam' ? createIdTokenVerifier({ audiences: auth.audiences, behindIam: true }) : undefined;
  const dashboard = createDashboard({ ...deps, auth, verifyIdToken });
  return (req) =>
    dashboard({
      method: req.method,
      path: req.path,
      query: Object.fromEntries(
        Object.entries(req.query).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]),
      ),
      headers: headersOf(req),
      body: req.body as unknown,
    });
}
