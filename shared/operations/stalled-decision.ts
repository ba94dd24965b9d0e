import {
  makeRequestId,
  PROCESSOR_COMPLETED_TOPIC,
  ProcessorCompletedSchema,
  type ProcessorCompleted,
} from '../messages/messages.ts';
import type { Transaction } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { OutboxEntry } from '../orchestration/outbox.ts';
import { phaseDecisionId, type RunDoc, type RunPhaseDoc } from '../orchestration/run-doc.ts';

/**
 * A phase whose every completion is recorded but which nobody decided: the delivery that claimed the
 * decision died (crashed, or its redeliveries ran out) and no other completion is coming. Its gate
 * is due, so the stall re-drive re-publishes one stored completion (the runtime keeps each in
 * `processor_runs`): the completion handler records it again (a no-op), finds the phase complete and
 * decides. The claim owner's completion is preferred, since its claim stops every other one for a
 * minute; otherwise the first processor's with a stored completion.
 */
export async function completionToRedeliver(
  tx: Transaction,
  run: RunDoc,
  phaseDoc: RunPhaseDoc,
): Promise<ProcessorCompleted | undefined> {
  const requestIds = phaseDoc.expected.map((processor) =>
    makeRequestId({ runId: run.runId, phase: phaseDoc.phase, processor }),
  );
  const [claim, ...records] = await tx.getAll([
    { collection: COLLECTIONS.decisionClaims, id: phaseDecisionId(run.runId, phaseDoc.phase) },
    ...requestIds.map((id) => ({ collection: COLLECTIONS.processorRuns, id })),
  ]);
  const stored = records
    .map((record) => ProcessorCompletedSchema.safeParse(record?.completion))
    .flatMap((parsed) => (parsed.success ? [parsed.data] : []));
  return stored.find((c) => c.requestId === claim?.owner) ?? stored[0];
}

/** The outbox entry that re-publishes a stored completion (`redrive` names the stall's decision, its sender). */
export function redeliveryEntry(redrive: string, completion: ProcessorCompleted, now: Date): OutboxEntry {
  return {
    id: `${redrive}--completion`,
    decisionId: redrive,
    runId: completion.runId,
    topic: PROCESSOR_COMPLETED_TOPIC,
    message: { ...completion },
    attributes: { requestId: completion.requestId, redrive: 'stall' },
    status: 'pending',
    createdAt: now.toISOString(),
    sentAt: null,
    sender: redrive,
  };
}
