import * as functions from '@google-cloud/functions-framework';
import type { LoadedDefinition } from '../definition/load.ts';
import { OPERATIONS_ENTRY_POINTS, ORCHESTRATOR_ENTRY_POINTS, phaseEntryPoint, RECOVERY_ENTRY_POINTS } from '../entry-points.ts';
import type { CompletenessRules } from '../operations/completeness.ts';
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
import { createOrchestrator } from '../orchestration/orchestrator.ts';
import { systemClock } from '../ports/clock.ts';
import { createFaultInjector, parseFaultSpec } from '../runtime/faults.ts';
import { createPhaseHandler, type PhaseHandler } from '../runtime/phase-handler.ts';
import type { Processor } from '../runtime/processor.ts';
import type { PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { createPushHandler } from '../runtime/push-handler.ts';
import { createFirestore, createFirestoreStore } from './firestore-store.ts';
import { createIdTokenVerifier, loadPushAuth, pushAuthCheck } from './push-auth.ts';
import { createPubSub, createPubSubPublisher } from './pubsub-publisher.ts';


/** Real clients, built on first use and once per instance. */
function buildDeps() {
  const config = loadConfig();
  const faults = config.faults ? createFaultInjector(parseFaultSpec(config.faults)) : undefined;
  const publisher = createPubSubPublisher(createPubSub(config.projectId));
  const store = createFirestoreStore(createFirestore(config.projectId));
  const logger = createLogger({ name: 'phasegate', level: config.logLevel });
  // Read at cold start: a misconfigured production function fails at once, not on its first push.
  const pushAuth = pushAuthCheck(loadPushAuth(process.env));
  return {
    pushAuth,
    config,
    store,
    publisher: faults ? faults.publisher(publisher) : publisher,
    http: createHttpClient({ timeoutMs: config.httpTimeoutMs, retries: config.httpRetries }),
    logger,
    faults,
    notifier: createNotifier({ store, logger, clock: systemClock, webhookUrl: config.alertWebhookUrl }),
  };
}

let deps: ReturnType<typeof buildDeps> | undefined;
const getDeps = () => (deps ??= buildDeps());

type Registry = Readonly<Record<string, Processor>>;

const registered = new Map<string, 'http'>();
/** What this module registered with the functions framework: `validate` compares it with the plan. */
export function registeredEntryPoints(): ReadonlyMap<string, 'http'> {
  return registered;
}
function registerHttp(name: string, handler: functions.HttpFunction): void {
  functions.http(name, handler);
  registered.set(name, 'http');
}

const headersOf = (req: functions.Request) => Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));

/**
 * A Pub/Sub-driven function: an HTTP endpoint its push subscription calls with the push
 * envelope, on the emulators and in production alike (see `createPushHandler`).
 */
function registerPush(name: string, handle: () => (event: PubSubCloudEvent) => Promise<void>): void {
  let push: ReturnType<typeof createPushHandler> | undefined;
  registerHttp(name, (req, res) => {
    const deps = getDeps();
    push ??= createPushHandler(name, (event) => handle()(event), { logger: deps.logger, auth: deps.pushAuth });
    push({ path: req.path, headers: headersOf(req), body: req.body as unknown })
      .then((response) => res.status(response.status).send(response.body))
      .catch((error: unknown) => {
        deps.logger.error({ function: name, err: error instanceof Error ? error.message : String(error) }, 'push handling failed');
        res.status(500).send('internal');
      });
  });
}

export interface PipelineFunctions {
  definition: LoadedDefinition;
  /** The processors, or a factory run at first use (so configuration is read at cold start). */
  processors: Registry | (() => Registry);
  expectations: GateExpectations;
  /** What a date must hold, for the completeness check (built at first use, with the instance's HTTP client). */
  completeness?: (deps: { http: HttpClient }) => CompletenessRules;
}

/** Registers every function of a pipeline: one per phase, and the orchestrator's two. Wiring only. */
export function registerPipelineFunctions(pipeline: PipelineFunctions): void {
  let registry: Registry | undefined;
  for (const phase of pipeline.definition.phases) {
    let handler: PhaseHandler | undefined;
    registerPush(phaseEntryPoint(phase.id), () => {
      registry ??= typeof pipeline.processors === 'function' ? pipeline.processors() : pipeline.processors;
      return (handler ??= createPhaseHandler({ definition: pipeline.definition, phaseId: phase.id, processors: registry, clock: systemClock, ...getDeps() }));
    });
  }
  let orchestrator: ReturnType<typeof createOrchestrator> | undefined;
  const getOrchestrator = () => (orchestrator ??= createOrchestrator({ definition: pipeline.definition, expectations: pipeline.expectations, clock: systemClock, ...getDeps() }));
  registerPush(ORCHESTRATOR_ENTRY_POINTS.runs, () => (event) => getOrchestrator().onRunRequest(event));
  registerPush(ORCHESTRATOR_ENTRY_POINTS.completions, () => (event) => getOrchestrator().onProcessorOutcome(event));

  let recorder: ReturnType<typeof createDlqRecorder> | undefined;
  registerPush(RECOVERY_ENTRY_POINTS.dlqRecorder, () => (recorder ??= createDlqRecorder({ definition: pipeline.definition, clock: systemClock, ...getDeps() })));
  registerPush(RECOVERY_ENTRY_POINTS.autoRetry, () => async () => {
    await runAutoRetryTick({ definition: pipeline.definition, clock: systemClock, ...getDeps() });
  });
  let dashboard: ReturnType<typeof createDashboard> | undefined;
  registerHttp(OPERATIONS_ENTRY_POINTS.dashboard, (req, res) => {
    const deps = getDeps();
    if (!dashboard) {
      const auth = loadDashboardAuth(process.env);
      dashboard = createDashboard({ definition: pipeline.definition, clock: systemClock, auth, verifyIdToken: auth.mode === 'google' ? createIdTokenVerifier({ audiences: auth.audiences }) : undefined, ...deps });
    }
    const headers = headersOf(req);
    const query = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));
    dashboard({ method: req.method, path: req.path, query, headers, body: req.body as unknown })
      .then((response) => res.status(response.status).set(response.headers).send(response.body))
      .catch((error: unknown) => {
        deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'dashboard request failed');
        res.status(500).json({ error: 'internal' });
      });
  });
  let completeness: CompletenessRules | undefined;
  registerPush(OPERATIONS_ENTRY_POINTS.reconciler, () => async (event) => {
    const deps = getDeps();
    completeness ??= pipeline.completeness?.({ http: deps.http });
    await handleReconcileTick({ definition: pipeline.definition, clock: systemClock, ...deps, completeness: completeness ? { rules: completeness } : undefined }, event, deps.logger);
  });
}
