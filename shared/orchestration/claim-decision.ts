import { COLLECTIONS } from '../runtime/collections.ts';
import type { OrchestratorDeps } from './orchestrator.ts';

/** A claim this old no longer stops another delivery from deciding (its owner is gone). */
export const CLAIM_STALE_MS = 60_000;

/**
 * The last completions of a phase often arrive together, and both would run the decision
 * transaction: two read-write transactions on the same documents wait on each other's locks
 * (about 2 s on the emulator, each phase). The first delivery to create the claim decides; a
 * redelivery of that same completion decides again (its owner crashed or failed); a stale
 * claim stops nobody. The decision itself stays a transaction: the claim only saves the wait.
 */
export async function claimDecision(
  deps: OrchestratorDeps,
  decisionId: string,
  requestId: string,
): Promise<boolean> {
  const now = deps.clock.now();
  const claim = { decisionId, owner: requestId, at: now.toISOString() };
  if (await deps.store.create(COLLECTIONS.decisionClaims, decisionId, claim)) return true;
  const held = await deps.store.get(COLLECTIONS.decisionClaims, decisionId);
  if (!held || held.owner === requestId) return true;
  return now.getTime() - Date.parse(String(held.at)) > CLAIM_STALE_MS;
}
