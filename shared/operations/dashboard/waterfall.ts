/**
 * A run's waterfall: each processor request's attempts as bars on one time axis, the gates as
 * markers, and the slowest step named. Built from the run's events alone (the log every writer
 * appends to), so it shows what happened, retries and dead letters included, not what a status says.
 */
export const BAR_STATES = [
  'queued',
  'running',
  'succeeded',
  'retried',
  'waiting',
  'failed',
  'dead_lettered',
] as const;
export type BarState = (typeof BAR_STATES)[number];

export interface WaterfallBar {
  requestId: string;
  phase: string;
  processor: string;
  /** 0 for the time a request waited before its first attempt (or between two attempts). */
  attempt: number;
  state: BarState;
  from: string;
  /** Null while it is still running (the page draws it to `Waterfall.endAt`). */
  to: string | null;
  detail: string | null;
}

export interface Waterfall {
  startAt: string | null;
  endAt: string | null;
  bars: WaterfallBar[];
  markers: { phase: string; at: string; kind: 'gate_passed' | 'gate_failed' }[];
  /** The longest attempt (queued time is not a step), or null when none ran. */
  slowest: { phase: string; processor: string; attempt: number; ms: number } | null;
}

type Event = Record<string, unknown>;
const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const ms = (from: string, to: string) => Date.parse(to) - Date.parse(from);

/** How an attempt that failed ended: `not_ready` waits for data, `permanent` and `bug` stay failed. */
function failedState(e: Event): BarState {
  if (e.errorType === 'not_ready') return 'waiting';
  return e.errorType === 'transient' ? 'retried' : 'failed';
}

interface Request {
  phase: string;
  processor: string;
  attempts: Map<number, { start: string; end: Event | null }>;
  deadLetteredAt: string | null;
}

function requestsOf(events: readonly Event[]): Map<string, Request> {
  const requests = new Map<string, Request>();
  for (const e of events) {
    const requestId = text(e.requestId);
    const processor = text(e.processor);
    if (!requestId || !processor) continue;
    const request: Request = requests.get(requestId) ?? {
      phase: String(e.phase),
      processor,
      attempts: new Map<number, { start: string; end: Event | null }>(),
      deadLetteredAt: null,
    };
    requests.set(requestId, request);
    const attempt = typeof e.attempt === 'number' ? e.attempt : 0;
    if (e.type === 'processor_started') {
      const known = request.attempts.get(attempt);
      if (!known || String(e.at) < known.start)
        request.attempts.set(attempt, { start: String(e.at), end: known?.end ?? null });
    } else if (e.type === 'processor_completed' || e.type === 'processor_failed') {
      const known = request.attempts.get(attempt) ?? { start: String(e.at), end: null };
      request.attempts.set(attempt, { ...known, end: e });
    } else if (e.type === 'dead_lettered') request.deadLetteredAt = String(e.at);
  }
  return requests;
}

/** When each phase was triggered: the run's start for the first, the gate before it for the others. */
function phaseStarts(events: readonly Event[], phaseOrder: readonly string[]): Map<string, string> {
  const starts = new Map<string, string>();
  const runStarted = events.find((e) => e.type === 'run_started');
  if (runStarted && phaseOrder[0]) starts.set(phaseOrder[0], String(runStarted.at));
  for (const e of events)
    if (e.type === 'gate_passed') {
      const next = phaseOrder[phaseOrder.indexOf(String(e.phase)) + 1];
      if (next && !starts.has(next)) starts.set(next, String(e.at));
    }
  return starts;
}

/** The waterfall of one run from its events (any order); a bar still running reaches `now`. */
export function runWaterfall(events: readonly Event[], phaseOrder: readonly string[], now: Date): Waterfall {
  const sorted = [...events].sort((a, b) => String(a.at).localeCompare(String(b.at)));
  const starts = phaseStarts(sorted, phaseOrder);
  const bars: WaterfallBar[] = [];
  for (const [requestId, r] of requestsOf(sorted)) {
    let waitingSince = starts.get(r.phase) ?? null;
    for (const [attempt, a] of [...r.attempts].sort(([x], [y]) => x - y)) {
      const base = { requestId, phase: r.phase, processor: r.processor };
      if (waitingSince && waitingSince < a.start)
        bars.push({ ...base, attempt: 0, state: 'queued', from: waitingSince, to: a.start, detail: null });
      const end = a.end;
      const state: BarState = !end
        ? 'running'
        : end.type === 'processor_completed'
          ? 'succeeded'
          : failedState(end);
      const detail =
        end?.type === 'processor_failed' ? `${String(end.errorType)}: ${String(end.message)}` : null;
      bars.push({ ...base, attempt, state, from: a.start, to: end ? String(end.at) : null, detail });
      waitingSince = end ? String(end.at) : null;
    }
    if (r.deadLetteredAt) {
      const last = bars.findLast((b) => b.requestId === requestId);
      if (last && last.state !== 'succeeded') last.state = 'dead_lettered';
    }
  }
  const markers = sorted
    .filter((e) => e.type === 'gate_passed' || e.type === 'gate_failed')
    .map((e) => ({
      phase: String(e.phase),
      at: String(e.at),
      kind: e.type as 'gate_passed' | 'gate_failed',
    }));
  let slowest: Waterfall['slowest'] = null;
  for (const b of bars)
    if (b.attempt > 0 && b.to && (!slowest || ms(b.from, b.to) > slowest.ms))
      slowest = { phase: b.phase, processor: b.processor, attempt: b.attempt, ms: ms(b.from, b.to) };
  const open = bars.some((b) => b.to === null) ? [now.toISOString()] : [];
  const instants = [
    ...bars.flatMap((b) => [b.from, b.to ?? b.from]),
    ...markers.map((m) => m.at),
    ...open,
  ].sort();
  return { startAt: instants[0] ?? null, endAt: instants.at(-1) ?? null, bars, markers, slowest };
}
