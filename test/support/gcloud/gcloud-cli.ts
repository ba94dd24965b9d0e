import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CommandResult, RunCommand } from '../../../scripts/lib/deploy-runner.ts';
import { sdkRoots } from '../../../scripts/lib/emulators.ts';

const DRIVER = fileURLToPath(new URL('./driver.py', import.meta.url));

/** The installed Cloud SDK: its root and the Python its `gcloud` script runs (the bundled one if any). */
export function installedGcloud(): { root: string; python: string } {
  const root = sdkRoots(process.env).find((r) =>
    existsSync(join(r, 'lib', 'googlecloudsdk', 'gcloud_main.py')),
  );
  if (!root)
    throw new Error(
      'the Google Cloud CLI is not installed (https://cloud.google.com/sdk/docs/install): the deploy tests run the real gcloud',
    );
  const bundled = join(root, 'platform', 'bundledpythonunix', 'bin', 'python3');
  return { root, python: process.env.CLOUDSDK_PYTHON ?? (existsSync(bundled) ? bundled : 'python3') };
}

/**
 * A gcloud configuration of its own: no account, a dummy access token (the recorder takes
 * any), and optionally a default project, as on a machine that used gcloud for something else.
 */
export function gcloudEnv(options: {
  apis: Record<string, string>;
  defaultProject?: string;
}): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'phasegate-gcloud-'));
  const config = join(dir, 'config');
  mkdirSync(join(config, 'configurations'), { recursive: true });
  writeFileSync(join(config, 'active_config'), 'default');
  writeFileSync(
    join(config, 'configurations', 'config_default'),
    options.defaultProject ? `[core]\nproject = ${options.defaultProject}\n` : '',
  );
  writeFileSync(join(dir, 'token'), 'ya29.local-test-token');
  const { root } = installedGcloud();
  return {
    PATH: process.env.PATH,
    HOME: dir,
    CLOUDSDK_ROOT_DIR: root,
    CLOUDSDK_CONFIG: config,
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(dir, 'token'),
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
    ...options.apis,
  };
}

export interface GcloudSession {
  /** Runs `argv` (starting with "gcloud") in the session's gcloud; `before` is called first. */
  run: RunCommand;
  close(): Promise<void>;
}

/** One Python process with gcloud's CLI loaded, taking commands one at a time (see driver.py). */
export async function startGcloudSession(
  env: NodeJS.ProcessEnv,
  before: (argv: readonly string[]) => void = () => undefined,
): Promise<GcloudSession> {
  const { python } = installedGcloud();
  const child = spawn(python, [DRIVER], { env, stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines = createInterface({ input: child.stdio[3] as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const line = await lines.next();
    if (line.done) throw new Error(`the gcloud driver exited: ${stderr.trim()}`);
    return line.value;
  };
  await next();
  let queue = Promise.resolve();
  const run: RunCommand = (argv) => {
    if (argv[0] !== 'gcloud') return Promise.reject(new Error(`not a gcloud command: ${argv.join(' ')}`));
    const result = queue.then(async (): Promise<CommandResult> => {
      before(argv);
      child.stdin!.write(`${JSON.stringify(argv.slice(1))}\n`);
      return JSON.parse(await next()) as CommandResult;
    });
    queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  };
  return {
    run,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('close', () => resolve());
        child.stdin!.end();
      }),
  };
}

/**
 * The `gcloud` on PATH: bash (a Node client would cost more per call than gcloud's own work
 * here) sends its argument count and arguments, NUL-terminated, over TCP to the test's session,
 * and prints the exit code's stdout and stderr it gets back (base64 lines).
 */
const SHIM = `#!/usr/bin/env bash
exec 3<>"/dev/tcp/127.0.0.1/$PHASEGATE_GCLOUD_SHIM_PORT" || exit 127
printf '%s\\0' "$#" "$@" >&3
read -r code <&3; read -r out <&3; read -r err <&3
printf '%s' "$out" | base64 -d
printf '%s' "$err" | base64 -d >&2
exit "$code"
`;

/**
 * A `gcloud` command for other processes (`phasegate deploy`, `bash deploy.sh`): a directory to
 * put first on PATH whose `gcloud` runs each command in `session`.
 */
export async function gcloudOnPath(
  session: GcloudSession,
): Promise<{ env: NodeJS.ProcessEnv; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'phasegate-gcloud-path-'));
  writeFileSync(join(dir, 'gcloud'), SHIM, { mode: 0o755 });
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let input = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      input = Buffer.concat([input, chunk]);
      const fields = input.toString('utf8').split('\0');
      const count = Number(fields[0]);
      if (fields.length < count + 2) return;
      const reply = (r: CommandResult) =>
        socket.end(
          `${r.code}\n${Buffer.from(r.stdout).toString('base64')}\n${Buffer.from(r.stderr).toString('base64')}\n`,
        );
      session
        .run(['gcloud', ...fields.slice(1, count + 1)])
        .then(reply, (error: unknown) =>
          reply({ code: 1, stdout: '', stderr: `gcloud shim: ${String(error)}\n` }),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    env: { PATH: `${dir}:${process.env.PATH}`, PHASEGATE_GCLOUD_SHIM_PORT: String(port) },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
