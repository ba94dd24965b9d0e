import * as functions from '@google-cloud/functions-framework';
import type { CloudEvent } from '@google-cloud/functions-framework';
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
import { createFirestore, createFirestoreStore } from './firestore-store.ts';
import { createPubSub, createPubSubPublisher } from './pubsub-publisher.ts';


/** Real clients, built on first use and once per instance. */
function buildDeps() {
  const config = loadConfig();
  const faults = config.faults ? createFaultInjector(parseFaultSpec(config.faults)) : undefined;
  const publisher = createPubSubPublisher(createPubSub(config.projectId));
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
  };
}

let deps: ReturnType<typeof buildDeps> | undefined;
const getDeps = () => (deps ??= buildDeps());

type Registry = Readonly<Record<string, Processor>>;

function toEvent(event: CloudEvent<PubSubCloudEvent['data']>): PubSubCloudEvent {
  return { id: event.id, source: event.source, type: event.type, data: event.data };
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
    functions.cloudEvent<PubSubCloudEvent['data']>(phaseEntryPoint(phase.id), (event: CloudEvent<PubSubCloudEvent['data']>) => {
      registry ??= typeof pipeline.processors === 'function' ? pipeline.processors() : pipeline.processors;
      handler ??= createPhaseHandler({ definition: pipeline.definition, phaseId: phase.id, processors: registry, clock: systemClock, ...getDeps() });
      return handler(toEvent(event));
    });
  }
  let orchestrator: ReturnType<typeof createOrchestrator> | undefined;
  const getOrchestrator = () => (orchestrator ??= createOrchestrator({ definition: pipeline.definition, expectations: pipeline.expectations, clock: systemClock, ...getDeps() }));
  functions.cloudEvent<PubSubCloudEvent['data']>(ORCHESTRATOR_ENTRY_POINTS.runs, (event: CloudEvent<PubSubCloudEvent['data']>) => getOrchestrator().onRunRequest(toEvent(event)));
  functions.cloudEvent<PubSubCloudEvent['data']>(ORCHESTRATOR_ENTRY_POINTS.completions, (event: CloudEvent<PubSubCloudEvent['data']>) => getOrchestrator().onProcessorOutcome(toEvent(event)));

  let recorder: ReturnType<typeof createDlqRecorder> | undefined;
  functions.cloudEvent<PubSubCloudEvent['data']>(RECOVERY_ENTRY_POINTS.dlqRecorder, (event: CloudEvent<PubSubCloudEvent['data']>) => {
    recorder ??= createDlqRecorder({ definition: pipeline.definition, clock: systemClock, ...getDeps() });
    return recorder(toEvent(event));
  });
  functions.cloudEvent<PubSubCloudEvent['data']>(RECOVERY_ENTRY_POINTS.autoRetry, async () => {
    await runAutoRetryTick({ definition: pipeline.definition, clock: systemClock, ...getDeps() });
  });
  let dashboard: ReturnType<typeof createDashboard> | undefined;
  functions.http(OPERATIONS_ENTRY_POINTS.dashboard, (req, res) => {
    const deps = getDeps();
    dashboard ??= createDashboard({ definition: pipeline.definition, clock: systemClock, auth: loadDashboardAuth(process.env), ...deps });
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
    const query = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));
    dashboard({ method: req.method, path: req.path, query, headers, body: req.body as unknown })
      .then((response) => res.status(response.status).set(response.headers).send(response.body))
      .catch((error: unknown) => {
        deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'dashboard request failed');
        res.status(500).json({ error: 'internal' });
      });
  });
  let completeness: CompletenessRules | undefined;
  functions.cloudEvent<PubSubCloudEvent['data']>(OPERATIONS_ENTRY_POINTS.reconciler, async (event: CloudEvent<PubSubCloudEvent['data']>) => {
    const deps = getDeps();
    completeness ??= pipeline.completeness?.({ http: deps.http });
    await handleReconcileTick({ definition: pipeline.definition, clock: systemClock, ...deps, completeness: completeness ? { rules: completeness } : undefined }, toEvent(event), deps.logger);
  });
}
