// How `npm start` runs the reference pipeline on this machine: the local source API (the real
// data set in ../shared/data, or a synthetic season with SOURCE_API_SYNTHETIC_SEED; faults from
// SOURCE_API_FAULTS) stands in for the stats provider, and two dates of the 2023-24 season are the demo.
import type { PipelineLocal } from '../shared/index.ts';
import { loadCsvDataset } from '../scripts/source-api/dataset.ts';
import { loadSourceApiConfig } from '../scripts/source-api/config.ts';
import { syntheticDataset } from '../scripts/source-api/synthetic.ts';
import { startSourceApi } from '../scripts/source-api/server.ts';
import { preferredOrFreePort } from '../scripts/lib/ports.ts';

export const local: PipelineLocal = {
  demo: ['2024-04-20', '2024-04-21'],
  async services() {
    const config = loadSourceApiConfig(process.env);
    const dataset =
      config.syntheticSeed === undefined
        ? loadCsvDataset()
        : syntheticDataset({ seed: config.syntheticSeed, headers: loadCsvDataset().headers });
    const source = await startSourceApi({
      dataset,
      faults: config.faults,
      port: await preferredOrFreePort(8090),
    });
    return {
      env: { SOURCE_API_URL: source.url },
      describe: [`${'source API'.padEnd(26)} ${source.url} (faults: ${source.url}/admin/faults)`],
      stop: () => source.close(),
    };
  },
};
