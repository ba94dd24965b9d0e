import { z } from 'zod';
import { WEBHOOK_FORMATS } from './recovery/slack-payload.ts';

/** Defaults in one place; units in names. */
const DEFAULTS = {
  LOG_LEVEL: 'info',
  /** Per-request timeout for calls to a source API. */
  PHASEGATE_HTTP_TIMEOUT_MS: 10_000,
  /** In-process retries of an idempotent outgoing call; the long tail is Pub/Sub's. */
  PHASEGATE_HTTP_RETRIES: 2,
  /** The reconciler deletes expired bookkeeping: `auto` where Firestore is the emulator (no TTL there). */
  PHASEGATE_TTL_SWEEP: 'auto',
} as const;

export const ConfigSchema = z.object({
  projectId: z.string().min(1, 'set GOOGLE_CLOUD_PROJECT (the project id; on the emulators, the namespace)'),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']),
  httpTimeoutMs: z.coerce.number().int().positive(),
  httpRetries: z.coerce.number().int().min(0).max(3),
  /** JSON fault spec (tests, demo, chaos). Unset in production. */
  faults: z.string().optional(),
  /** Alerts are always logged; with this set they are also POSTed here as JSON. */
  alertWebhookUrl: z.url().optional(),
  /** `json` (the alert itself) or `slack` (a Slack incoming-webhook message, text and blocks). */
  alertWebhookFormat: z.enum(WEBHOOK_FORMATS),
  /** `on`, `off`, or `auto`: on against the emulator, off in production, where TTL policies delete. */
  ttlSweep: z.enum(['auto', 'on', 'off']),
});
export type Config = z.infer<typeof ConfigSchema>;

/** Parsed once at cold start; a bad value fails loudly with the variable's name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = ConfigSchema.safeParse({
    projectId: env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT ?? '',
    logLevel: env.LOG_LEVEL ?? DEFAULTS.LOG_LEVEL,
    httpTimeoutMs: env.PHASEGATE_HTTP_TIMEOUT_MS ?? DEFAULTS.PHASEGATE_HTTP_TIMEOUT_MS,
    httpRetries: env.PHASEGATE_HTTP_RETRIES ?? DEFAULTS.PHASEGATE_HTTP_RETRIES,
    faults: env.PHASEGATE_FAULTS,
    alertWebhookUrl: env.ALERT_WEBHOOK_URL || undefined,
    alertWebhookFormat: env.ALERT_WEBHOOK_FORMAT || 'json',
    ttlSweep: env.PHASEGATE_TTL_SWEEP || DEFAULTS.PHASEGATE_TTL_SWEEP,
  });
  if (!result.success) {
    const names: Record<string, string> = {
      projectId: 'GOOGLE_CLOUD_PROJECT',
      logLevel: 'LOG_LEVEL',
      httpTimeoutMs: 'PHASEGATE_HTTP_TIMEOUT_MS',
      httpRetries: 'PHASEGATE_HTTP_RETRIES',
      alertWebhookUrl: 'ALERT_WEBHOOK_URL',
      alertWebhookFormat: 'ALERT_WEBHOOK_FORMAT',
      ttlSweep: 'PHASEGATE_TTL_SWEEP',
    };
    const problems = result.error.issues.map(
      (i) => `${names[String(i.path[0])] ?? i.path.join('.')}: ${i.message}`,
    );
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Whether the reconciler deletes expired bookkeeping itself: where no TTL policy does (the emulator). */
export function sweepsExpired(
  config: Pick<Config, 'ttlSweep'>,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return config.ttlSweep === 'auto' ? Boolean(env.FIRESTORE_EMULATOR_HOST) : config.ttlSweep === 'on';
}
