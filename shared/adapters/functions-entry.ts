import * as functions from '@google-cloud/functions-framework';
import type { CloudEvent } from '@google-cloud/functions-framework';
import type { LoadedDefinition } from '../definition/load.ts';
import { loadConfig } from '../config.ts';
import { createHttpClient } from '../lib/http-client.ts';
import { createLogger } from '../lib/logger.ts';
import { systemClock } from '../ports/clock.ts';
import { createFaultInjector, parseFaultSpec } from '../runtime/faults.ts';
import { createPhaseHandler, type PhaseHandler } from '../runtime/phase-handler.ts';
import type { Processor } from '../runtime/processor.ts';
import type { PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { createFirestore, createFirestoreStore } from './firestore-store.ts';
import { createPubSub, createPubSubPublisher } from './pubsub-publisher.ts';

/** Entry point name of a phase's function (`--target` locally, `--entry-point` on deploy). */
export const phaseEntryPoint = (phaseId: string): string => `phase-${phaseId}`;

/** Real clients, built on first use and once per instance. */
function buildDeps() {
  const config = loadConfig();
  const db = createFirestore(config.projectId);
  return {
    config,
    store: createFirestoreStore(db),
    publisher: createPubSubPublisher(createPubSub(config.projectId)),
    http: createHttpClient({ timeoutMs: config.httpTimeoutMs, retries: config.httpRetries }),
    logger: createLogger({ name: 'phasegate', level: config.logLevel }),
    faults: config.faults ? createFaultInjector(parseFaultSpec(config.faults)) : undefined,
  };
}

let deps: ReturnType<typeof buildDeps> | undefined;

/** Registers one cloudEvent function per phase of the definition. Wiring only; `processors` may be a factory run at first use. */
export function registerPhaseFunctions(definition: LoadedDefinition, processors: Readonly<Record<string, Processor>> | (() => Readonly<Record<string, Processor>>)): void {
  let registry: Readonly<Record<string, Processor>> | undefined;
  for (const phase of definition.phases) {
    let handler: PhaseHandler | undefined;
    functions.cloudEvent<PubSubCloudEvent['data']>(phaseEntryPoint(phase.id), (event: CloudEvent<PubSubCloudEvent['data']>) => {
      deps ??= buildDeps();
      registry ??= typeof processors === 'function' ? processors() : processors;
      handler ??= createPhaseHandler({ definition, phaseId: phase.id, processors: registry, clock: systemClock, ...deps });
      return handler({ id: event.id, source: event.source, type: event.type, data: event.data });
    });
  }
}
