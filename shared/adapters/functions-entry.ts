import * as functions from '@google-cloud/functions-framework';
import type { LoadedDefinition } from '../definition/load.ts';
import {
  OPERATIONS_ENTRY_POINTS,
  ORCHESTRATOR_ENTRY_POINTS,
  phaseEntryPoint,
  RECOVERY_ENTRY_POINTS,
} from '../entry-points.ts';
import type { CompletenessRules } from '../operations/completeness.ts';
import { CONTROL_DLQ_SUBSCRIPTION } from '../messages/messages.ts';
import { handleReconcileTick } from '../operations/reconcile-tick.ts';
import { createDashboard } from '../operations/dashboard/handler.ts';
import { loadDashboardAuth } from '../operations/dashboard/auth.ts';
import type { HttpClient } from '../lib/http-client.ts';
import { runAutoRetryTick } from '../recovery/auto-retry.ts';
import { createDlqRecorder } from '../recovery/dlq-recorder.ts';
import { createNotifier } from '../recovery/notifier.ts';
import { loadConfig } from '../config.ts';
import { createHttpClient } from '../lib/http-client.ts';
import { createLogger } from '../lib/logger.ts';
import type { GateExpectations } from '../orchestration/gate.ts';
import type { PipelineOperations } from '../pipeline-module.ts';
import { createOrchestrator } from '../orchestration/orchestrator.ts';
import { systemClock } from '../ports/clock.ts';
import { createFaultInjector, parseFaultSpec } from '../runtime/faults.ts';
import { createPhaseHandler, type PhaseHandler } from '../runtime/phase-handler.ts';
import type { Processor } from '../runtime/processor.ts';
import type { PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { createPushHandler } from '../runtime/push-handler.ts';
import { createIdTokenVerifier, loadPushAuth, pushAuthCheck } from './push-auth.ts';

/**
 * Real clients, built on first use and once per instance. The Firestore and Pub/Sub SDKs are
 * imported here, not at the top: loading them is most of a cold start (about 0.7 s of CPU), and
 * an instance that never receives a request (a dashboard nobody opens) never pays for it.
 */
async function buildDeps() {
  const [
    { createFirestore, createFirestoreStore },
    { createPubSub, createPubSubPublisher },
    { createHeldPeek },
  ] = await Promise.all([
    import('./firestore-store.ts'),
    import('./pubsub-publisher.ts'),
    import('./pubsub-held.ts'),
  ]);
  const config = loadConfig();
  const faults = config.faults ? createFaultInjector(parseFaultSpec(config.faults)) : undefined;
  const pubsub = createPubSub(config.projectId);
  const publisher = createPubSubPublisher(pubsub);
  const store = createFirestoreStore(createFirestore(config.projectId));
  const logger = createLogger({ name: 'phasegate', level: config.logLevel });
  return {
    config,
    store,
    publisher: faults ? faults.publisher(publisher) : publisher,
    http: createHttpClient({ timeoutMs: config.httpTimeoutMs, retries: config.httpRetries }),
    logger,
    faults,
    notifier: createNotifier({ store, logger, clock: systemClock, webhookUrl: config.alertWebhookUrl }),
    /** Read by the reconcile tick (an alert) and the dashboard; the runtime account may pull it (deploy grants it). */
    controlDlq: createHeldPeek(pubsub, CONTROL_DLQ_SUBSCRIPTION),
  };
}

type Deps = Awaited<ReturnType<typeof buildDeps>>;
let deps: Promise<Deps> | undefined;
const getDeps = () => {
  if (!deps) {
    deps = buildDeps();
    // Not cached when it fails: the next request tries again (and reports the error again).
    deps.catch(() => (deps = undefined));
  }
  return deps;
};

type Registry = Readonly<Record<string, Processor>>;

const registered = new WeakMap<PipelineFunctions, Map<string, 'http'>>();
/** What `registerPipelineFunctions` registered for this pipeline: `validate` compares it with the plan. */
export function registeredEntryPoints(pipeline: PipelineFunctions): ReadonlyMap<string, 'http'> {
  return registered.get(pipeline) ?? new Map();
}
let registering: Map<string, 'http'> | undefined;
function registerHttp(name: string, handler: functions.HttpFunction): void {
  functions.http(name, handler);
  registering?.set(name, 'http');
}

const headersOf = (req: functions.Request) =>
  Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * Answers one request once the instance's clients exist. A failure is logged and answered 500
 * (for a push: Pub/Sub redelivers); a configuration that cannot build the clients is logged as
 * a structured line on stderr, since there is no logger without it.
 */
function answer(
  res: functions.Response,
  what: string,
  internal: unknown,
  work: (deps: Deps) => Promise<Answer>,
): void {
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
  getDeps().then(
    async (deps) => {
      try {
        const response = await work(deps);
        res
          .status(response.status)
          .set(response.headers ?? {})
          .send(response.body);
      } catch (error) {
        deps.logger.error({ function: what, err: message(error) }, `${what} failed`);
        res.status(500).send(internal);
      }
    },
    (error: unknown) => {
      const line = {
        severity: 'ERROR',
        function: what,
        err: message(error),
        message: 'the function cannot build its clients',
      };
      process.stderr.write(`${JSON.stringify(line)}\n`);
      res.status(500).send(internal);
    },
  );
}

/**
 * A Pub/Sub-driven function: an HTTP endpoint its push subscription calls with the push
 * envelope, on the emulators and in production alike (see `createPushHandler`).
 */
function registerPush(
  name: string,
  handle: (deps: Deps) => (event: PubSubCloudEvent) => Promise<void>,
): void {
  let push: ReturnType<typeof createPushHandler> | undefined;
  registerHttp(name, (req, res) => {
    answer(res, name, 'internal', (deps) => {
      push ??= createPushHandler(name, (event) => handle(deps)(event), {
        logger: deps.logger,
        auth: pushAuthCheck(loadPushAuth(process.env)),
      });
      return push({ path: req.path, headers: headersOf(req), body: req.body as unknown });
    });
  });
}

export interface PipelineFunctions {
  definition: LoadedDefinition;
  /** The processors, or a factory run at first use (so configuration is read at cold start). */
  processors: Registry | (() => Registry);
  expectations: GateExpectations;
  /** What a partition must hold, for the completeness check (built at first use, with the instance's HTTP client). */
  completeness?: (deps: { http: HttpClient }) => CompletenessRules;
  /** What the command line needs to know of the pipeline beyond its definition. */
  operations?: PipelineOperations;
}

/**
 * The authentication of the function this instance serves (`FUNCTION_TARGET`), read when the
 * module loads: a function whose auth is missing (on Cloud Run) or wrong refuses to start, rather
 * than fail, or accept anyone, on its first request.
 */
function checkAuthAtStart(pipeline: PipelineFunctions): void {
  const target = process.env.FUNCTION_TARGET;
  if (!target) return;
  if (target === OPERATIONS_ENTRY_POINTS.dashboard) loadDashboardAuth(process.env);
  else if (pushFunctionNames(pipeline.definition).includes(target)) loadPushAuth(process.env);
}

const pushFunctionNames = (definition: LoadedDefinition): string[] => [
  ...definition.phases.map((p) => phaseEntryPoint(p.id)),
  ...Object.values(ORCHESTRATOR_ENTRY_POINTS),
  ...Object.values(RECOVERY_ENTRY_POINTS),
  OPERATIONS_ENTRY_POINTS.reconciler,
];

/** Registers every function of a pipeline: one per phase, and the orchestrator's two. Wiring only. */
export function registerPipelineFunctions(pipeline: PipelineFunctions): void {
  checkAuthAtStart(pipeline);
  registering = new Map();
  registered.set(pipeline, registering);
  try {
    registerEach(pipeline);
  } finally {
    registering = undefined;
  }
}

function registerEach(pipeline: PipelineFunctions): void {
  let registry: Registry | undefined;
  for (const phase of pipeline.definition.phases) {
    let handler: PhaseHandler | undefined;
    registerPush(phaseEntryPoint(phase.id), (deps) => {
      registry ??= typeof pipeline.processors === 'function' ? pipeline.processors() : pipeline.processors;
      return (handler ??= createPhaseHandler({
        definition: pipeline.definition,
        phaseId: phase.id,
        processors: registry,
        clock: systemClock,
        ...deps,
      }));
    });
  }
  let orchestrator: ReturnType<typeof createOrchestrator> | undefined;
  const getOrchestrator = (deps: Deps) =>
    (orchestrator ??= createOrchestrator({
      definition: pipeline.definition,
      expectations: pipeline.expectations,
      clock: systemClock,
      ...deps,
    }));
  registerPush(
    ORCHESTRATOR_ENTRY_POINTS.runs,
    (deps) => (event) => getOrchestrator(deps).onRunRequest(event),
  );
  registerPush(
    ORCHESTRATOR_ENTRY_POINTS.completions,
    (deps) => (event) => getOrchestrator(deps).onProcessorOutcome(event),
  );

  let recorder: ReturnType<typeof createDlqRecorder> | undefined;
  registerPush(
    RECOVERY_ENTRY_POINTS.dlqRecorder,
    (deps) =>
      (recorder ??= createDlqRecorder({ definition: pipeline.definition, clock: systemClock, ...deps })),
  );
  registerPush(RECOVERY_ENTRY_POINTS.autoRetry, (deps) => async () => {
    await runAutoRetryTick({ definition: pipeline.definition, clock: systemClock, ...deps });
  });
  let dashboard: ReturnType<typeof createDashboard> | undefined;
  registerHttp(OPERATIONS_ENTRY_POINTS.dashboard, (req, res) => {
    answer(res, OPERATIONS_ENTRY_POINTS.dashboard, { error: 'internal' }, (deps) => {
      if (!dashboard) {
        const auth = loadDashboardAuth(process.env);
        const verifyIdToken =
          auth.mode === 'iam'
            ? createIdTokenVerifier({ audiences: auth.audiences, behindIam: true })
            : undefined;
        dashboard = createDashboard({
          definition: pipeline.definition,
          clock: systemClock,
          auth,
          verifyIdToken,
          ...deps,
        });
      }
      const query = Object.fromEntries(
        Object.entries(req.query).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]),
      );
      return dashboard({
        method: req.method,
        path: req.path,
        query,
        headers: headersOf(req),
        body: req.body as unknown,
      });
    });
  });
  let completeness: CompletenessRules | undefined;
  registerPush(OPERATIONS_ENTRY_POINTS.reconciler, (deps) => async (event) => {
    completeness ??= pipeline.completeness?.({ http: deps.http });
    await handleReconcileTick(
      {
        definition: pipeline.definition,
        clock: systemClock,
        ...deps,
        completeness: completeness ? { rules: completeness } : undefined,
      },
      event,
      deps.logger,
    );
  });
}
