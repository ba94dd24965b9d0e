import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { systemClock } from '../../shared/ports/clock.ts';
import { withExpiry } from '../../shared/store/retention.ts';
import { CancelError, cancelRun } from '../../shared/operations/cancel-run.ts';
import { heldCounts, pausePipeline, resumePipeline } from '../../shared/operations/pause.ts';
import { readPause } from '../../shared/orchestration/pause-state.ts';
import type { CliContext } from './context.ts';
import { requireNote } from './option-parsers.ts';
import { UsageError } from './usage-error.ts';

/** Who acted, as the events record it: the operating-system user at the CLI. */
const cliActor = (): string => `cli:${process.env.USER ?? userInfo().username}`;

const requireLogNote = (note: string | undefined): string => requireNote(note, 'in the event log');

/** `pause`, `resume`, `paused` and `cancel`: an operator stops new work durably, lets it go again, or stops one run. */
export function registerControlCommands(program: Command, context: CliContext): void {
  const deps = async () => {
    const c = await context.connection();
    const { definition } = (await context.pipeline()).pipeline;
    return {
      store: withExpiry(c.store, definition.retention, systemClock),
      publisher: c.publisher,
      clock: systemClock,
    };
  };

  program
    .command('pause')
    .description('hold new run requests and phase triggers (durably; nothing is dropped) until resume')
    .requiredOption('--note <text>', 'why; kept in the event log')
    .action(async (options: { note: string }) => {
      const d = await deps();
      const paused = await pausePipeline(d, { by: cliActor(), note: requireLogNote(options.note) });
      const state = await readPause(d.store);
      context.print(
        paused
          ? `paused: new run requests and phase triggers are held (running processors finish); resume with ` +
              `phasegate resume --note "…"`
          : `already paused since ${state.since ?? '?'} by ${state.by ?? '?'}: ${state.note ?? ''}`,
      );
    });

  program
    .command('resume')
    .description('release what a pause held, in order, and let new work start again')
    .requiredOption('--note <text>', 'why; kept in the event log')
    .action(async (options: { note: string }) => {
      const d = await deps();
      const { wasPaused, released } = await resumePipeline(d, {
        by: cliActor(),
        note: requireLogNote(options.note),
      });
      context.print(
        `${wasPaused ? 'resumed' : 'was not paused'}: released ${released.runRequests} run request(s) ` +
          `and ${released.triggers} phase trigger(s)`,
      );
    });

  program
    .command('cancel')
    .description('cancel a run: no further phase is triggered, it ends CANCELLED, its queue entries close')
    .requiredOption('--run <runId>', 'the run')
    .requiredOption('--note <text>', 'why; kept on the run and in the event log')
    .action(async (options: { run: string; note: string }) => {
      const d = await deps();
      let outcome;
      try {
        outcome = await cancelRun(d, options.run, { by: cliActor(), note: requireLogNote(options.note) });
      } catch (error) {
        if (error instanceof CancelError) throw new UsageError(error.message);
        throw error;
      }
      if (!outcome.cancelled) {
        const leftovers = outcome.closedEntries.length + outcome.withdrawnTriggers;
        return context.print(
          `${options.run} is ${outcome.status} already: ` +
            (leftovers === 0
              ? 'nothing to cancel'
              : `closed ${outcome.closedEntries.length} queue entries and withdrew ${outcome.withdrawnTriggers} ` +
                'triggers an earlier cancel left'),
        );
      }
      context.print(
        `${options.run} CANCELLED: no further phase will be triggered (processors running now finish and ` +
          `are recorded); ${outcome.closedEntries.length} queue entr${outcome.closedEntries.length === 1 ? 'y' : 'ies'} ` +
          `closed, ${outcome.withdrawnTriggers} pending trigger(s) withdrawn`,
      );
    });

  program
    .command('paused')
    .description('whether the pipeline is paused, since when, by whom, and how much it holds')
    .option('--json', 'JSON output for scripts')
    .action(async (options: { json?: boolean }) => {
      const { store } = await context.connection();
      const [state, held] = await Promise.all([readPause(store), heldCounts(store)]);
      if (options.json) return context.print(JSON.stringify({ ...state, held }, null, 2));
      context.print(
        state.paused
          ? `PAUSED since ${state.since ?? '?'} by ${state.by ?? '?'}: ${state.note ?? ''}\n` +
              `  held: ${held.runRequests} run request(s), ${held.triggers} phase trigger(s)`
          : `not paused (${held.runRequests} run request(s) and ${held.triggers} trigger(s) pending)`,
      );
    });
}
