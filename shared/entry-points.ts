/**
 * Names of the deployable functions, which are also their entry points (`--target` locally,
 * `--entry-point` on deploy). The wiring registers them and infra plans them from here, so
 * the two cannot drift apart.
 */
export const phaseEntryPoint = (phaseId: string): string => `phase-${phaseId}`;
export const ORCHESTRATOR_ENTRY_POINTS = {
  runs: 'orchestrator-runs',
  completions: 'orchestrator-completions',
} as const;
export const RECOVERY_ENTRY_POINTS = { dlqRecorder: 'dlq-recorder', autoRetry: 'auto-retry' } as const;
export const OPERATIONS_ENTRY_POINTS = { reconciler: 'reconciler', dashboard: 'dashboard' } as const;
