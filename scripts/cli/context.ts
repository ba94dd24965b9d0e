import type { Connection } from '../lib/connection.ts';
import type { LoadedPipeline, PipelineProject } from '../lib/pipeline-module.ts';

export interface CliContext {
  connection(): Promise<Connection>;
  /** The project the command runs in (the nearest package.json with a "phasegate" section). */
  project(): PipelineProject;
  /** The pipeline it works on: --pipeline, else the one the local stack runs, else the project's first. */
  pipeline(): Promise<LoadedPipeline>;
  print(text: string): void;
}
