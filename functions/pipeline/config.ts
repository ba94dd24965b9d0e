import { z } from 'zod';

/** The reference pipeline's own settings, parsed at cold start. */
const PipelineConfigSchema = z.object({
  /** Base URL of the stats provider (the local source API in development). */
  sourceApiUrl: z.url({
    message: 'set SOURCE_API_URL to the source API base URL, e.g. http://127.0.0.1:8090',
  }),
});
export type PipelineConfig = z.infer<typeof PipelineConfigSchema>;

export function loadPipelineConfig(env: NodeJS.ProcessEnv = process.env): PipelineConfig {
  const result = PipelineConfigSchema.safeParse({ sourceApiUrl: env.SOURCE_API_URL });
  if (!result.success)
    throw new Error(
      `invalid configuration: SOURCE_API_URL: ${result.error.issues.map((i) => i.message).join('; ')}`,
    );
  return result.data;
}

/** What a deployment must set for the reference pipeline (`phasegate deploy --env NAME=value`). */
export const REQUIRED_ENV = ['SOURCE_API_URL'] as const;
