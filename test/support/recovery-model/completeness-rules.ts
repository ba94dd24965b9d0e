import type { CompletenessRules } from '../../../shared/operations/completeness.ts';
import { DATES } from './actions.ts';

/** The documents a date needs, for the completeness check the model runs. */
export const completenessRules: CompletenessRules = {
  partitions: (from, to) => Promise.resolve(DATES.filter((d) => d >= from && d <= to)),
  expectedDocs: (d) =>
    Promise.resolve([
      ...[0, 1, 2].map((i) => ({
        phase: 'alpha',
        processor: 'widgets',
        collection: 'widgets',
        id: `${d}_${i}`,
        unit: null,
      })),
      ...['a', 'b'].map((x) => ({
        phase: 'alpha',
        processor: 'gadgets',
        collection: 'gadgets',
        id: `${d}_${x}`,
        unit: null,
      })),
      { phase: 'beta', processor: 'summary', collection: 'summaries', id: d, unit: null },
    ]),
};
