import { join } from 'node:path';
import { startEmulators } from './lib/emulators.ts';
import { startStack } from './lib/stack.ts';
import { startSourceApi } from './source-api/server.ts';
import { loadCsvDataset } from './source-api/dataset.ts';
import { referenceDefinition } from '../functions/pipeline/definition.ts';
import { repoRoot } from './lib/local-pipeline.ts';
import { createFirestore, createFirestoreStore } from '../shared/adapters/firestore-store.ts';
process.env.METADATA_SERVER_DETECTION = 'none';
const em = await startEmulators({ logDir: '/tmp/tlogs' });
const source = await startSourceApi({ dataset: loadCsvDataset() });
const lines: string[] = [];
const stack = await startStack({ definition: referenceDefinition, functionsSource: join(repoRoot, 'functions', 'index.ts'), projectId: 'timing', emulators: em, logDir: '/tmp/tlogs', functionEnv: () => ({ SOURCE_API_URL: source.url, LOG_LEVEL: 'warn' }), echo: (n, l) => { if (l.includes('TIMING')) lines.push(`${new Date().toISOString().slice(17, 23)} ${n} ${l}`); } });
const store = createFirestoreStore(createFirestore('timing', em.env.FIRESTORE_EMULATOR_HOST), {});
for (const d of ['2024-04-20', '2024-04-21']) {
  const id = await stack.pubsub.topic('run-requests').publishMessage({ json: { gameDate: d, triggerSource: 'manual' } });
  for (;;) { const [r] = await store.query('runs', { filters: [{ field: 'requestMessageId', op: '==', value: id }] }); if (r && ['SUCCESS', 'PARTIAL', 'FAILED'].includes(String(r.data.status))) break; await new Promise((x) => setTimeout(x, 100)); }
}
console.log(lines.join('\n'));
await stack.stop(); await source.close(); await em.stop(); process.exit(0);
