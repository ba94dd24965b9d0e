import { NotReadyError, PermanentError, TransientError } from '../../../shared/errors/errors.ts';
import type { Processor } from '../../../shared/runtime/processor.ts';
import { PROCESSORS, type ProcessorName } from './actions.ts';

/** What a processor's source does next: fail transiently, not be ready, return short data, fail for good. */
export interface SourceFaults {
  transient: number;
  notReady: number;
  short: number;
  permanent: boolean;
}

/** A delivery held inside its processor until `release`: `reached` says it got there. */
export interface Hold {
  requestId: string;
  reached: () => void;
  release: Promise<void>;
}

/** The processors of the test pipeline over sources whose next faults the model sets. */
export function createSources() {
  const faults: Record<ProcessorName, SourceFaults> = Object.fromEntries(
    PROCESSORS.map((p) => [p, { transient: 0, notReady: 0, short: 0, permanent: false }]),
  ) as Record<ProcessorName, SourceFaults>;
  let hold: Hold | null = null;
  const source = async (name: ProcessorName, requestId: string): Promise<boolean> => {
    if (hold?.requestId === requestId) {
      const { reached, release } = hold;
      hold = null;
      reached();
      await release;
    }
    const f = faults[name];
    if (f.permanent) throw new PermanentError(`${name}: the source refuses this date`);
    if (f.notReady > 0) {
      f.notReady -= 1;
      throw new NotReadyError(`${name}: the source has not published yet`);
    }
    if (f.transient > 0) {
      f.transient -= 1;
      throw new TransientError(`${name}: 503 from the source`);
    }
    if (f.short > 0) {
      f.short -= 1;
      return true;
    }
    return false;
  };
  const processors: Record<ProcessorName, Processor> = {
    widgets: {
      async run(ctx) {
        const short = await source('widgets', ctx.request.requestId);
        const d = ctx.request.partition;
        await ctx.write(
          'widgets',
          [0, 1, 2]
            .slice(0, short ? 2 : 3)
            .map((i) => ({ id: `${d}_${i}`, data: { partition: d, index: i } })),
        );
        return {};
      },
    },
    gadgets: {
      async run(ctx) {
        const short = await source('gadgets', ctx.request.requestId);
        const d = ctx.request.partition;
        await ctx.write(
          'gadgets',
          ['a', 'b']
            .slice(0, short ? 1 : 2)
            .map((x) => ({ id: `${d}_${x}`, data: { partition: d, part: x } })),
        );
        return {};
      },
    },
    summary: {
      async run(ctx) {
        const short = await source('summary', ctx.request.requestId);
        const d = ctx.request.partition;
        const widgets = await ctx.store.countWhere('widgets', [{ field: 'partition', op: '==', value: d }]);
        await ctx.write('summaries', short ? [] : [{ id: d, data: { partition: d, widgets } }]);
        return {};
      },
    },
  };
  return { faults, processors, setHold: (next: Hold | null) => void (hold = next) };
}
