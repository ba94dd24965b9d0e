// Runtime overhead: one processor behind the phase runtime (`phase-work`) and the same
// processor in a bare functions-framework handler (`bare-work`), both on the push path.
import * as functions from '@google-cloud/functions-framework';
import { createFirestore, createFirestoreStore } from '../../shared/adapters/firestore-store.ts';
import { registerPipelineFunctions } from '../../shared/adapters/functions-entry.ts';
import { loadDefinition } from '../../shared/definition/load.ts';
import type { GateExpectations } from '../../shared/orchestration/gate.ts';
import { createHttpClient } from '../../shared/lib/http-client.ts';
import { createLogger } from '../../shared/lib/logger.ts';
import type { ProcessorRequest } from '../../shared/messages/messages.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import type { Processor } from '../../shared/runtime/processor.ts';
import { eventFromPush } from '../../shared/runtime/push-envelope.ts';
import { OVERHEAD } from './overhead-names.ts';

/** The work: ten documents for the date, derived from the request (a redelivery overwrites them). */
export const benchProcessor: Processor = {
  async run(ctx) {
    const docs = Array.from({ length: OVERHEAD.docsPerMessage }, (_, i) => ({
      id: `${ctx.request.requestId}-${i}`,
      data: { partition: ctx.request.partition, requestId: ctx.request.requestId, i, value: i * 3.5 },
    }));
    await ctx.write(OVERHEAD.collection, docs);
    return { metrics: { docs: docs.length } };
  },
};

export const benchDefinition = loadDefinition({
  name: 'bench',
  phases: [
    {
      id: OVERHEAD.phase,
      description: 'one processor writing ten documents',
      processors: [
        {
          name: OVERHEAD.processor,
          description: 'ten documents',
          outputs: [{ collection: OVERHEAD.collection }],
        },
      ],
      subscription: {
        ackDeadlineSeconds: 120,
        minBackoffSeconds: 1,
        maxBackoffSeconds: 10,
        maxDeliveryAttempts: 5,
      },
      function: { timeoutSeconds: 60, memoryMb: 256 },
      expectedDurationSeconds: 60,
    },
  ],
  schedules: {
    run: { cron: '0 10 * * *', localEverySeconds: 3600 },
    autoRetry: { cron: '*/15 * * * *', localEverySeconds: 30 },
    reconcile: { cron: '* * * * *', localEverySeconds: 15 },
  },
});

const benchExpectations: GateExpectations = {
  table: { [OVERHEAD.phase]: { [OVERHEAD.collection]: { partition: OVERHEAD.docsPerMessage } } },
};
registerPipelineFunctions({
  definition: benchDefinition,
  processors: { [OVERHEAD.processor]: benchProcessor },
  expectations: benchExpectations,
});

/** The same processor with nothing around it: parse the push, run, write directly, 204. */
function bareHandler(projectId: string): functions.HttpFunction {
  // Made on the first request, once per instance.
  let store: DocumentStore | undefined;
  const logger = createLogger({ name: 'bare', level: 'warn' });
  const http = createHttpClient({ timeoutMs: 1000, retries: 0 });
  return (req, res) => {
    const data = eventFromPush(req.body, req.path)?.data?.message?.data;
    if (!data) {
      res.status(400).send('not a push');
      return;
    }
    const request = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as ProcessorRequest;
    const s = (store ??= createFirestoreStore(createFirestore(projectId)));
    benchProcessor
      .run({
        request,
        attempt: 1,
        store: s,
        http,
        logger,
        clock: systemClock,
        write: async (collection, docs) => (
          await s.writeBatch(docs.map((d) => ({ collection, id: d.id, data: d.data }))),
          docs.length
        ),
      })
      .then(
        () => res.status(204).send(''),
        () => res.status(500).send('failed'),
      );
  };
}

functions.http(OVERHEAD.functions.bare, bareHandler(process.env.GOOGLE_CLOUD_PROJECT ?? ''));
