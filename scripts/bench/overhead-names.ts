// What the runtime-overhead functions and the benchmark that times them agree on (no I/O here:
// importing overhead-functions.ts would register its functions in the importing process).
import { phaseEntryPoint } from '../../shared/entry-points.ts';

const phase = 'work';

export const OVERHEAD = {
  /** The one phase of the bench definition, and its one processor. */
  phase,
  processor: 'bench-write',
  /** Where the processor writes, and how many documents a message. */
  collection: 'bench_docs',
  docsPerMessage: 10,
  /** The processor behind the phase runtime, and the same in a bare handler; each is also its topic. */
  functions: { runtime: phaseEntryPoint(phase), bare: 'bare-work' },
} as const;
