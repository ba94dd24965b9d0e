// Faults injected while the dates run: poison messages published up front, and kills of random
// functions at random moments (the stack restarts what it lost).
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { phaseTopic, TOPICS } from '../../shared/messages/messages.ts';
import type { Stack } from '../lib/stack.ts';
import type { ChaosContext } from './context.ts';
import type { FaultPlan } from './fault-plan.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bytes that are not JSON, JSON that is not a request, a run request with no date: their message ids. */
export async function publishPoison(
  ctx: ChaosContext,
  stack: Stack,
  definition: LoadedDefinition,
  count: number,
): Promise<string[]> {
  const messages = Array.from({ length: count }, (_, i) => {
    const phase = ctx.random.pick(definition.phases);
    return [
      { topic: phaseTopic(phase.id), data: Buffer.from('{not json') },
      { topic: phaseTopic(phase.id), data: Buffer.from(JSON.stringify({ hello: 'world', n: i })) },
      {
        topic: TOPICS.runRequests,
        data: Buffer.from(JSON.stringify({ partition: 'yesterday-ish', triggerSource: 'manual' })),
      },
    ][i % 3]!;
  });
  const ids: string[] = [];
  for (const m of messages) ids.push(await stack.pubsub.topic(m.topic).publishMessage({ data: m.data }));
  ctx.tally.count('poison message', 'injected', ids.length);
  return ids;
}

export interface Killer {
  /** No more kills after the one in progress. */
  halt(): void;
  /** Halts and waits for the last kill to be done with. */
  stop(): Promise<void>;
}

/** Kills `plan.kills` random functions, one every 3 to 10 s, until halted. */
export function startKiller(ctx: ChaosContext, stack: Stack, plan: FaultPlan): Killer {
  let running = true;
  const done = (async () => {
    for (let k = 0; k < plan.kills && running; k += 1) {
      await sleep(ctx.random.int(3, 10) * 1000);
      if (!running) break;
      const victim = ctx.random.pick(plan.functionNames);
      stack.functions.get(victim)?.process.child.kill('SIGKILL');
      ctx.tally.count('process kill', 'injected');
      ctx.say(`  killed ${victim}`);
    }
  })();
  return {
    halt() {
      running = false;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}
