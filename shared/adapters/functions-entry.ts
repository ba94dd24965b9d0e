import * as functions from '@google-cloud/functions-framework';
import { loadConfig, sweepsExpired } from '../config.ts';
import type { LoadedDefinition } from '../definition/load.ts';
import {
  OPERATIONS_ENTRY_POINTS,
  ORCHESTRATOR_ENTRY_POINTS,
  phaseEntryPoint,
  RECOVERY_ENTRY_POINTS,
} from '../entry-points.ts';
import { createHttpClient, type HttpClient } from '../lib/http-client.ts';
import { createLogger } from '../lib/logger.ts';
import { CONTROL_DLQ_SUBSCRIPTION } from '../messages/messages.ts';
import { loadDashboardAuth } from '../operations/dashboard/auth.ts';
import type { CompletenessRules } from '../operations/completeness.ts';
import { handleReconcileTick } from '../operations/reconcile-tick.ts';
import type { GateExpectations } from '../orchestration/gate.ts';
import { createOrchestrator } from '../orchestration/orchestrator.ts';
import { withCrashPoints } from './crash-points.ts';
import { withExpiry } from '../store/retention.ts';
import { meteredHttp } from './cost-meter.ts';
import { costMeterFromEnv } from './cost-meter-file.ts';
import type { PipelineOperations } from '../pipeline-module.ts';
import { systemClock } from '../ports/clock.ts';
import { runAutoRetryTick } from '../recovery/auto-retry.ts';
import { createDlqRecorder } from '../recovery/dlq-recorder.ts';
import { createNotifier } from '../recovery/notifier.ts';
import {
  withDuplicatePublishes,
  withFailingWrites,
  withInjectedFaults,
} from '../runtime/fault-decorators.ts';
import { createFaultInjector, parseFaultSpec } from '../runtime/faults.ts';
import { createPhaseHandler } from '../runtime/phase-handler.ts';
import type { Processor } from '../runtime/processor.ts';
import type { PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { fileCrashMarkers } from './crash-markers.ts';
import { dashboardEndpoint } from './dashboard-http.ts';
import { answer, pushEndpoint, type Endpoint } from './http-endpoint.ts';
import { lazy } from './lazy.ts';
import { warmClients, warmsAtStart } from './warm-start.ts';
import { loadPushAuth } from './push-auth.ts';

type Registry = Readonly<Record<string, Processor>>;
type PushHandle = (event: PubSubCloudEvent) => Promise<void>;

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

/** The cost meter, when PHASEGATE_COST_METER asks for one (the bench); otherwise nothing is wrapped. */
const costMeter = lazy(() => costMeterFromEnv());

/**
 * Real clients, built on first use and once per instance, with PHASEGATE_FAULTS' decorators
 * around them (and the cost meter's, innermost, so it counts what reaches Firestore and Pub/Sub).
 * The Firestore and Pub/Sub SDKs are imported here, not at the top: loading them is most of a
 * cold start (about 0.7 s of CPU), and an instance that never receives a request (a dashboard
 * nobody opens) never pays for it.
 */
const instanceClients = lazy(async () => {
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
  const faults = config.faults
    ? createFaultInjector(parseFaultSpec(config.faults), { crashMarkers: fileCrashMarkers() })
    : undefined;
  const pubsub = createPubSub(config.projectId);
  const meter = costMeter();
  const firestore = createFirestoreStore(createFirestore(config.projectId));
  const store = meter ? meter.store(firestore) : firestore;
  const pubsubPublisher = createPubSubPublisher(pubsub);
  const logger = createLogger({ name: 'phasegate', level: config.logLevel });
  // Their first calls now (warm-start.ts); one that fails here fails again, and is answered, on a request.
  if (warmsAtStart(process.env)) {
    const started = Date.now();
    warmClients(firestore, pubsub).then(
      () => logger.info({ durationMs: Date.now() - started }, 'warm start: first calls made'),
      (error: unknown) => logger.warn({ error: String(error) }, 'warm start: a first call failed'),
    );
  }
  return {
    store,
    publisher: withDuplicatePublishes(meter ? meter.publisher(pubsubPublisher) : pubsubPublisher, faults),
    http: createHttpClient({ timeoutMs: config.httpTimeoutMs, retries: config.httpRetries }),
    logger,
    notifier: createNotifier({
      store,
      logger,
      clock: systemClock,
      webhookUrl: config.alertWebhookUrl,
      webhookFormat: config.alertWebhookFormat,
      source: config.projectId,
    }),
    /** Read by the reconcile tick (an alert) and the dashboard; the runtime account may pull it (deploy grants it). */
    controlDlq: createHeldPeek(pubsub, CONTROL_DLQ_SUBSCRIPTION),
    /** Where no TTL policy deletes expired bookkeeping (the emulator), the reconcile tick does. */
    sweepExpired: sweepsExpired(config),
    faults,
  };
});
type Clients = Awaited<ReturnType<typeof instanceClients>>;

/**
 * Every function of the pipeline as an endpoint, each built on its first request and once: an
 * instance serves one function and builds nothing for the others. Faults wrap the processors, the
 * recorder's store and the orchestrator's decisions here (the publisher above): no handler sees them.
 */
function composeEndpoints(
  pipeline: PipelineFunctions,
  clients: Clients,
): ReadonlyMap<string, () => Endpoint> {
  const { faults, ...ports } = clients;
  const { definition } = pipeline;
  // Every bookkeeping write gets its expiry here (Firestore's TTL policies, or the sweep, delete it then).
  const store = withExpiry(ports.store, definition.retention, systemClock);
  const deps = { ...ports, store, definition, clock: systemClock };
  const processors = lazy(() =>
    withInjectedFaults(
      typeof pipeline.processors === 'function' ? pipeline.processors() : pipeline.processors,
      faults,
    ),
  );
  const orchestrator = lazy(() =>
    createOrchestrator({ ...deps, expectations: pipeline.expectations }, withCrashPoints(faults)),
  );
  const recorder = lazy(() =>
    createDlqRecorder({ ...deps, store: withFailingWrites(store, 'dlq-recorder', faults) }),
  );
  const completeness = lazy(() => pipeline.completeness?.({ http: ports.http }));
  const handlers: [string, PushHandle][] = [
    ...definition.phases.map((phase): [string, PushHandle] => {
      const handler = lazy(() =>
        createPhaseHandler({ ...deps, phaseId: phase.id, processors: processors() }),
      );
      return [phaseEntryPoint(phase.id), (event) => handler()(event)];
    }),
    [ORCHESTRATOR_ENTRY_POINTS.runs, (event) => orchestrator().onRunRequest(event)],
    [ORCHESTRATOR_ENTRY_POINTS.completions, (event) => orchestrator().onProcessorOutcome(event)],
    [RECOVERY_ENTRY_POINTS.dlqRecorder, (event) => recorder()(event)],
    [
      RECOVERY_ENTRY_POINTS.autoRetry,
      async () => {
        await runAutoRetryTick(deps);
      },
    ],
    [
      OPERATIONS_ENTRY_POINTS.reconciler,
      (event) => {
        const rules = completeness();
        return handleReconcileTick(
          { ...deps, completeness: rules ? { rules } : undefined },
          event,
          ports.logger,
        );
      },
    ],
  ];
  return new Map([
    ...handlers.map(
      ([name, handle]) => [name, lazy(() => pushEndpoint(name, handle, ports.logger))] as const,
    ),
    [OPERATIONS_ENTRY_POINTS.dashboard, lazy(() => dashboardEndpoint(deps))],
  ]);
}

const pushFunctionNames = (definition: LoadedDefinition): string[] => [
  ...definition.phases.map((p) => phaseEntryPoint(p.id)),
  ...Object.values(ORCHESTRATOR_ENTRY_POINTS),
  ...Object.values(RECOVERY_ENTRY_POINTS),
  OPERATIONS_ENTRY_POINTS.reconciler,
];

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

const registered = new WeakMap<PipelineFunctions, Map<string, 'http'>>();
/** What `registerPipelineFunctions` registered for this pipeline: `validate` compares it with the plan. */
export function registeredEntryPoints(pipeline: PipelineFunctions): ReadonlyMap<string, 'http'> {
  return registered.get(pipeline) ?? new Map();
}

/** Registers every function of a pipeline: one per phase, the orchestrator's two, recovery and operations. */
export function registerPipelineFunctions(pipeline: PipelineFunctions): void {
  checkAuthAtStart(pipeline);
  const names = new Map<string, 'http'>();
  registered.set(pipeline, names);
  const instance = lazy(async () => {
    const clients = await instanceClients();
    return { logger: clients.logger, endpoints: composeEndpoints(pipeline, clients) };
  });
  const meter = costMeter();
  for (const name of [...pushFunctionNames(pipeline.definition), OPERATIONS_ENTRY_POINTS.dashboard]) {
    const internal = name === OPERATIONS_ENTRY_POINTS.dashboard ? { error: 'internal' } : 'internal';
    const handler: functions.HttpFunction = (req, res) =>
      answer(res, name, internal, instance, ({ endpoints }) => {
        const endpoint = endpoints.get(name);
        if (!endpoint) throw new Error(`no endpoint is composed for function ${name}`);
        return endpoint()(req);
      });
    functions.http(name, meter ? meteredHttp(meter, name, handler) : handler);
    names.set(name, 'http');
  }
  // Once functions-framework has bound its port (a later task than this module's load). A build that
  // fails is not kept (lazy): the first request builds again, and answers with its error.
  if (warmsAtStart(process.env)) setTimeout(() => void instance().catch(() => undefined), 0);
}
