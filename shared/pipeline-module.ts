/**
 * What a pipeline gives the tools around it, beside its functions: the command line
 * (`requiredEnv`, `backfillChain`) and the local stack of `npm start` (`PipelineLocal`, in a
 * module of its own so that the functions' bundle never holds a stand-in server).
 */

export interface PipelineOperations {
  /** Settings every deployed function needs (`phasegate deploy --env NAME=value` refuses to deploy without them). */
  readonly requiredEnv?: readonly string[];
  /**
   * Backfill runs the partitions of one chain in order and different chains at once (the
   * reference pipeline: one chain per season). Without it every partition is its own chain.
   */
  backfillChain?(partition: string): string;
}

/** Stand-ins a pipeline's functions need on this machine, started before them. */
export interface LocalServices {
  /** Given to every function and to the command line while the stack runs (a source's URL, say). */
  readonly env: Readonly<Record<string, string>>;
  /** One line per service for `npm start` to print (what it is, where it listens). */
  readonly describe: readonly string[];
  stop(): Promise<void>;
}

/** How `npm start` runs a pipeline on this machine. */
export interface PipelineLocal {
  /** The partitions `npm start` runs, in order, once everything is up. */
  readonly demo: readonly string[];
  /** Starts what the functions need besides the emulators; stopped after them. */
  services?(options: { logDir: string }): Promise<LocalServices>;
}
