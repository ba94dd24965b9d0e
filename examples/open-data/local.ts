// How `npm start -- --pipeline open-data` runs the example: a stand-in portal serves the made-up
// data set (data.ts); the demo runs a good week, then the week whose file is wrong.
import type { PipelineLocal } from '../../shared/index.ts';
import { FAULTY_WEEK } from './data.ts';
import { startOpenDataPortal } from './source.ts';

export const local: PipelineLocal = {
  demo: ['2024-W16', FAULTY_WEEK],
  async services() {
    const portal = await startOpenDataPortal();
    return {
      env: { OPEN_DATA_URL: portal.url },
      describe: [
        `${'open-data portal'.padEnd(26)} ${portal.url}/weeks/<YYYY-Www>.csv (published: 2024-W01 … 2024-W26)`,
      ],
      stop: () => portal.close(),
    };
  },
};
