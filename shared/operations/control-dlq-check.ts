import { describeHeld, type HeldMessages } from '../ports/held-messages.ts';
import type { ReconcilerDeps } from './reconciler.ts';

/**
 * control-dlq holds what the dead-letter recorder could not record: every message there is an alert
 * (deduplicated like the others). Firestore may be what is down, and the notifier records its alerts
 * there: if it cannot, the ALERT line is logged here all the same.
 */
export async function checkControlDlq(
  deps: Pick<ReconcilerDeps, 'controlDlq' | 'notifier' | 'logger'>,
): Promise<HeldMessages | null> {
  if (!deps.controlDlq) return null;
  let held: HeldMessages;
  try {
    held = await deps.controlDlq();
  } catch (error) {
    deps.logger.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'could not peek control-dlq; checked again next tick',
    );
    return null;
  }
  if (held.count === 0) return held;
  const alert = {
    kind: 'control_dlq' as const,
    dedupKey: 'control_dlq',
    runId: null,
    partition: null,
    phase: null,
    processor: null,
    message: describeHeld(held),
  };
  try {
    if (!deps.notifier) throw new Error('no notifier');
    await deps.notifier(alert);
  } catch (error) {
    deps.logger.error(
      {
        alert: alert.kind,
        dedupKey: alert.dedupKey,
        err: error instanceof Error ? error.message : String(error),
      },
      `ALERT ${alert.kind}: ${alert.message}`,
    );
  }
  return held;
}
