import { loadCsvDataset, type Dataset } from '../../scripts/source-api/dataset.ts';
import type { BoxscoresResponse } from '../../functions/pipeline/source/payloads.ts';

let cached: Dataset | undefined;
/** The real CSV, bundled with the source API. */
export function realDataset(): Dataset {
  cached ??= loadCsvDataset();
  return cached;
}

/** The box-score payload the source API serves for a date. */
export function boxscoresOf(date: string, dataset: Dataset = realDataset()): BoxscoresResponse {
  return {
    date,
    resultSets: [
      {
        name: 'TeamGameLogs',
        headers: dataset.headers,
        rowSet: dataset.rowsOn(date).map((row) => dataset.headers.map((h) => row[h] ?? '')),
      },
    ],
  };
}
