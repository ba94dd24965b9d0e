import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScaffoldValues } from './schemes.ts';

const kitRoot = fileURLToPath(new URL('../..', import.meta.url));

function versionOf(pkg: string): string {
  const manifest = JSON.parse(readFileSync(join(kitRoot, 'node_modules', pkg, 'package.json'), 'utf8')) as {
    version: string;
  };
  // Exactly the versions this checkout is tested with.
  return manifest.version;
}

/**
 * The project's own files: its manifest (phasegate from this checkout, a path, until phasegate is
 * published), its TypeScript and vitest settings, and the indexes the kit's queries need.
 */
export function projectFiles({ name }: ScaffoldValues, kitPath?: string): Record<string, string> {
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    'package.json': json({
      name,
      private: true,
      type: 'module',
      engines: { node: '>=20.19' },
      scripts: {
        start: 'phasegate start',
        test: 'vitest run',
        typecheck: 'tsc --noEmit',
        validate: 'phasegate validate',
      },
      phasegate: { pipelines: { [name]: { entry: 'pipeline/index.ts', local: 'pipeline/local.ts' } } },
      dependencies: { phasegate: `file:${kitPath ?? resolve(kitRoot)}` },
      devDependencies: {
        '@types/node': versionOf('@types/node'),
        typescript: versionOf('typescript'),
        vitest: versionOf('vitest'),
      },
    }),
    '.gitignore': 'node_modules/\n.phasegate/\n',
    // The indexes the kit's own queries need (the queue, runs, events): deploy creates them, validate checks them.
    'firestore.indexes.json': readFileSync(join(kitRoot, 'firestore.indexes.json'), 'utf8'),
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023'],
        types: ['node'],
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        allowImportingTsExtensions: true,
        verbatimModuleSyntax: true,
        noEmit: true,
      },
      include: ['pipeline', 'test', '*.ts'],
    }),
    'vitest.config.ts': `import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The emulator test starts functions and, unless the environment names running emulators, the emulators.
  test: { testTimeout: 180_000, hookTimeout: 180_000 },
});
`,
  };
}

/** The project's README: what it holds, and its two commands. */
export function readme({ name, scheme, demo, keyFormat }: ScaffoldValues): string {
  return `# ${name}

A phasegate pipeline: one ${scheme} partition (${keyFormat}) per run, two phases
(\`collect\`, then \`summarise\` once the gate has checked every reading).

\`\`\`sh
npm install && npm start   # emulators, every function, the demo run of ${demo}
npm install && npm test    # unit tests in memory, then the same pipeline on the emulators
\`\`\`

The emulators need the Google Cloud CLI's \`pubsub-emulator\` and \`cloud-firestore-emulator\`
components and Java 17; \`npm start\` says what is missing. While it runs, \`npx phasegate --help\`
talks to it (\`npx phasegate trigger --partition ${demo} --wait\`, \`npx phasegate queue list\`).

| file | what it holds |
|---|---|
| \`pipeline/definition.ts\` | phases, processors and their outputs, partition scheme, schedules, queue policy |
| \`pipeline/processors.ts\` | what each processor does (replace \`readingOf\` with your source) |
| \`pipeline/expectations.ts\` | what each output must hold before the next phase runs: counts and values |
| \`pipeline/index.ts\` | the entry module every function starts from |
| \`pipeline/local.ts\` | the demo partitions of \`npm start\`, and stand-ins for your source |
| \`test/\` | \`pipeline.test.ts\` in memory, \`emulators.test.ts\` on the emulators |

To add a processor or a phase, see phasegate's README, "Build your own pipeline": the compiler
(\`npm run typecheck\`) and \`npm run validate\` name what you forgot.
`;
}
