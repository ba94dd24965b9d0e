// `npm run model-report -- --season 2023-24`: runs every game date of a season through the
// local pipeline, in order, and reports the model's accuracy and Brier score from the graded
// predictions the pipeline wrote, next to the baseline "the home team wins".
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DOMAIN } from '../functions/pipeline/collections.ts';
import { loadCsvDataset } from './source-api/dataset.ts';
import { repoRoot, startLocalPipeline } from './lib/local-pipeline.ts';
import { findProject, loadPipeline } from './lib/pipeline-module.ts';

const { values: args } = parseArgs({ options: { season: { type: 'string', default: '2023-24' } } });
const season = args.season;
const dataset = loadCsvDataset();
const dates = dataset.dates.filter((d) => dataset.seasonOf(d) === season);
if (dates.length === 0) {
  process.stderr.write(`no game dates for season ${season} in the data set (seasons look like 2023-24)\n`);
  process.exit(2);
}

const pipeline = await startLocalPipeline({
  loaded: await loadPipeline(findProject(repoRoot), 'reference'),
  projectId: `model-report-${season}`,
  scheduler: false,
});
try {
  for (const [i, gameDate] of dates.entries()) {
    const run = await pipeline.run({
      partition: gameDate,
      triggerSource: 'backfill',
      requestedBy: 'model-report',
    });
    process.stdout.write(
      `${String(i + 1).padStart(3)}/${dates.length} ${gameDate} ${run?.status ?? 'no run'}${run?.lastError ? ` (${run.lastError})` : ''}\n`,
    );
    if (run?.status !== 'SUCCESS')
      throw new Error(
        `run for ${gameDate} ended ${run?.status ?? 'without a run'}: the report would be incomplete`,
      );
  }
  const graded = (
    await pipeline.store.query(DOMAIN.predictions, {
      filters: [{ field: 'season', op: '==', value: season }],
    })
  )
    .map((d) => d.data as { homeTeam: string; actualWinner?: string; correct?: boolean; brier?: number })
    .filter((p) => p.actualWinner !== undefined);
  const n = graded.length;
  const homeWins = graded.filter((p) => p.actualWinner === p.homeTeam).length;
  const report = {
    season,
    dates: dates.length,
    gradedPredictions: n,
    model: {
      accuracy: graded.filter((p) => p.correct).length / n,
      brier: graded.reduce((s, p) => s + (p.brier ?? 0), 0) / n,
    },
    // "The home team wins", as a forecast of certainty: accuracy = home win rate, Brier = away win rate.
    baselineHomeTeamWins: { accuracy: homeWins / n, brier: (n - homeWins) / n },
  };
  mkdirSync(join(repoRoot, '.phasegate'), { recursive: true });
  writeFileSync(join(repoRoot, '.phasegate', `model-report-${season}.json`), JSON.stringify(report, null, 2));
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  process.stdout.write(`\n${season}: ${n} graded predictions over ${dates.length} dates\n`);
  process.stdout.write(
    `  model (net-rating-logistic-v1)  accuracy ${pct(report.model.accuracy)}  Brier ${report.model.brier.toFixed(4)}\n`,
  );
  process.stdout.write(
    `  baseline: home team wins        accuracy ${pct(report.baselineHomeTeamWins.accuracy)}  Brier ` +
      `${report.baselineHomeTeamWins.brier.toFixed(4)}\n`,
  );
} finally {
  await pipeline.stop();
}
