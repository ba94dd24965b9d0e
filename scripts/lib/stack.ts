import { join } from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import { createPubSub } from '../../shared/adapters/pubsub-publisher.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { planResources, type ResourcePlan } from '../../infra/plan.ts';
import { provisionLocal } from '../../infra/local/provision.ts';
import type { Emulators } from './emulators.ts';
import { startFunction, type RunningFunction } from './functions.ts';

export interface StackOptions {
  definition: LoadedDefinition;
  /** The entry module that registers every function of the definition. */
  functionsSource: string;
  projectId: string;
  emulators: Pick<Emulators, 'env'>;
  logDir: string;
  /** Extra environment per function (fault injection, log level...). */
  functionEnv?: (functionName: string) => Record<string, string>;
  echo?: (name: string, line: string) => void;
}

export interface Stack {
  projectId: string;
  plan: ResourcePlan;
  functions: Map<string, RunningFunction>;
  pubsub: PubSub;
  /** How often each function died and was started again. */
  restarts: Map<string, number>;
  /** Stops and starts one function on the same port, as a crashed instance is replaced. */
  restartFunction(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts every function of the definition and provisions its topics and subscriptions on the emulators. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const plan = planResources(options.definition);
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.emulators.env,
    GOOGLE_CLOUD_PROJECT: options.projectId,
    // No metadata server here: stop the Google auth library from probing for one.
    METADATA_SERVER_DETECTION: 'none',
  };
  const specFor = (name: string, port?: number) => {
    const fn = plan.functions.find((f) => f.name === name);
    if (!fn) throw new Error(`unknown function ${name}`);
    return {
      name,
      target: fn.entryPoint,
      source: options.functionsSource,
      // Every function is an HTTP endpoint; Pub/Sub-driven ones take the push envelope.
      signatureType: 'http' as const,
      env: { ...baseEnv, ...options.functionEnv?.(name) },
      logDir: options.logDir,
      port,
      echo: options.echo,
    };
  };
  const functions = new Map<string, RunningFunction>();
  const restarts = new Map<string, number>();
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    await Promise.all([...functions.values()].map((f) => f.process.stop()));
  };
  /** Like Cloud Functions replacing a crashed instance: a function that dies is started again on its port. */
  const supervise = (fn: RunningFunction) => {
    functions.set(fn.name, fn);
    fn.process.child.once('exit', (code, signal) => {
      if (stopping || functions.get(fn.name) !== fn) return;
      restarts.set(fn.name, (restarts.get(fn.name) ?? 0) + 1);
      options.echo?.(fn.name, `exited (${signal ?? `code ${String(code)}`}); restarting`);
      startFunction(specFor(fn.name, fn.port)).then(supervise, (error: unknown) => options.echo?.(fn.name, `restart failed: ${String(error)}`));
    });
  };
  try {
    const started = await Promise.all(plan.functions.map((f) => startFunction(specFor(f.name))));
    for (const f of started) supervise(f);
  } catch (error) {
    await stopAll();
    throw error;
  }
  const pubsub = createPubSub(options.projectId, options.emulators.env.PUBSUB_EMULATOR_HOST);
  try {
    await provisionLocal(pubsub, plan, options.projectId, new Map([...functions].map(([name, f]) => [name, f.url])));
  } catch (error) {
    await stopAll();
    await pubsub.close();
    throw error;
  }
  return {
    projectId: options.projectId,
    plan,
    functions,
    pubsub,
    restarts,
    async restartFunction(name) {
      const current = functions.get(name);
      if (!current) throw new Error(`unknown function ${name}`);
      functions.delete(name);
      await current.process.stop();
      supervise(await startFunction(specFor(name, current.port)));
    },
    async stop() {
      await stopAll();
      await pubsub.close();
    },
  };
}

export const defaultLogDir = (root: string): string => join(root, '.phasegate', 'logs');
