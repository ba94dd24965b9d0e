// The limit: the reference pipeline's topology (a run function, one function per phase, a
// completions function; two processors a phase) with no work, no state in Firestore and no
// checks. Only the push path of the same emulators, and one write when a date is done.
import * as functions from '@google-cloud/functions-framework';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { eventFromPush } from '../../shared/runtime/push-envelope.ts';
import { LIMIT_DONE_COLLECTION, LIMIT_ENTRY_POINTS, limitTopic, type LimitWork } from './limit-names.ts';

function push(handle: (message: LimitWork) => Promise<unknown>): functions.HttpFunction {
  return (req, res) => {
    const event = eventFromPush(req.body, req.path);
    const data = event?.data?.message?.data;
    if (!data) {
      res.status(400).send('not a push');
      return;
    }
    handle(JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as LimitWork).then(
      () => res.status(204).send(''),
      () => res.status(500).send('failed'),
    );
  };
}

/** The three handlers of one instance; its clients are made on first use, and what it has seen lives here. */
function limitHandlers(env: NodeJS.ProcessEnv) {
  const phases = (env.LIMIT_PHASES ?? '').split(',').filter(Boolean);
  const perPhase = Number(env.LIMIT_PROCESSORS ?? '2');
  const projectId = env.GOOGLE_CLOUD_PROJECT ?? '';
  let pubsub: PubSub | undefined;
  let db: Firestore | undefined;
  const publish = (topic: string, message: unknown) =>
    (pubsub ??= new PubSub({ projectId }))
      .topic(topic, { batching: { maxMessages: 1, maxMilliseconds: 0 } })
      .publishMessage({ json: message });
  const fanOut = (partition: string, phase: string): Promise<unknown> =>
    Promise.all(
      Array.from({ length: perPhase }, (_, processor) =>
        publish(limitTopic(`phase-${phase}`), { partition, phase, processor } satisfies LimitWork),
      ),
    );
  /** partition|phase -> the processors whose completion arrived. */
  const seen = new Map<string, Set<number>>();
  return {
    runs: push((run) => fanOut(run.partition, phases[0]!)),
    phase: push((work) => publish(limitTopic('completions'), work)),
    completions: push(async (work) => {
      const key = `${work.partition}|${work.phase}`;
      const done = seen.get(key) ?? new Set<number>();
      seen.set(key, done);
      const before = done.size;
      done.add(work.processor);
      if (before === perPhase || done.size < perPhase) return;
      const next = phases[phases.indexOf(work.phase) + 1];
      if (next) await fanOut(work.partition, next);
      else
        await (db ??= new Firestore({ projectId }))
          .collection(LIMIT_DONE_COLLECTION)
          .doc(work.partition)
          .set({ at: new Date().toISOString() });
    }),
  };
}

const handlers = limitHandlers(process.env);
functions.http(LIMIT_ENTRY_POINTS.runs, handlers.runs);
functions.http(LIMIT_ENTRY_POINTS.phase, handlers.phase);
functions.http(LIMIT_ENTRY_POINTS.completions, handlers.completions);
