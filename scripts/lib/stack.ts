import { join } from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import { createPubSub } from '../../shared/adapters/pubsub-publisher.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { planResources, type ResourcePlan } from '../../infra/plan.ts';
import { provisionLocal } from '../../infra/local/provision.ts';
import type { Emulators } from './emulators.ts';
import { compiledEntry } from './function-build.ts';
import { spawnFunction, startFunctions, type RunningFunction } from './functions.ts';
import { describeExit, type ManagedProcess } from './processes.ts';
import { authEnv, serviceAccountEmail } from '../../infra/deploy/target.ts';
import { OPERATIONS_ENTRY_POINTS } from '../../shared/entry-points.ts';
import { startIamFrontEnd, type IamFrontEnd } from './iam-front-end.ts';

/** Who the local dashboard proxy (`--iam`) calls the dashboard as: an actor. */
export const LOCAL_OPERATOR = 'operator@example.com';

export interface StackOptions {
  definition: LoadedDefinition;
  /** The entry module that registers every function of the definition (TypeScript; the stack runs its compiled build). */
  functionsSource: string;
  /** The project the entry module belongs to, when it is not this checkout (`phasegate init`'s). */
  projectRoot?: string;
  /** The compiled entry module when its build is already under way (`compiledEntry`); otherwise the stack builds it. */
  compiled?: Promise<string>;
  projectId: string;
  /**
   * The emulators' addresses, and with `ready` emulators still coming up: the functions start
   * meanwhile (they connect on first use), the topics and subscriptions are made once they answer.
   */
  emulators: Pick<Emulators, 'env'> & { ready?: Promise<unknown> };
  logDir: string;
  /** Extra environment per function (fault injection, log level...). */
  functionEnv?: (functionName: string) => Record<string, string>;
  echo?: (name: string, line: string) => void;
  /**
   * Production's request path in front of every function: Pub/Sub push tokens and Cloud Run IAM
   * (see iam-front-end.ts), with the functions in the auth mode deploy sets. Off: no auth, as the
   * emulators have none.
   */
  iam?: boolean;
  /**
   * The functions that build their clients and make their first calls as soon as they serve, not
   * on their first request (PHASEGATE_WARM_START, shared/adapters/warm-start.ts). None by default
   * (tests, benchmarks); `npm start` warms those its demo would otherwise wait on one after another.
   */
  warm?: (functionName: string) => boolean;
}

export interface Stack {
  projectId: string;
  plan: ResourcePlan;
  functions: Map<string, RunningFunction>;
  pubsub: PubSub;
  /** How often each function died and was started again. */
  restarts: Map<string, number>;
  /** With `iam`: the front end every push and call goes through. */
  frontEnd?: IamFrontEnd;
  /** Where a person opens the dashboard (with `iam`, a local `gcloud run services proxy` as LOCAL_OPERATOR). */
  dashboardUrl: string;
  /** With `iam`: who the dashboard's address calls it as (LOCAL_OPERATOR). */
  dashboardAs?: string;
  /** Stops and starts one function on the same port, as a crashed instance is replaced. */
  restartFunction(name: string): Promise<void>;
  stop(): Promise<void>;
}

const reasonOf = (settled: PromiseSettledResult<unknown>): unknown =>
  settled.status === 'rejected' ? settled.reason : undefined;

/** Starts every function of the definition and provisions its topics and subscriptions on the emulators. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const plan = planResources(options.definition);
  // One build for the whole stack, restarts included: every function runs the same code.
  const source = await (options.compiled ?? compiledEntry(options.functionsSource, options.projectRoot));
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.emulators.env,
    GOOGLE_CLOUD_PROJECT: options.projectId,
    // No metadata server here: stop the Google auth library from probing for one.
    METADATA_SERVER_DETECTION: 'none',
  };
  const functions = new Map<string, RunningFunction>();
  const pushServiceAccount = serviceAccountEmail({ project: options.projectId }, 'push');
  const frontEnd = options.iam
    ? await startIamFrontEnd({
        portOf: (name) => functions.get(name)?.port,
        invokers: (name) =>
          plan.functions.find((f) => f.name === name)?.trigger.kind === 'http'
            ? [LOCAL_OPERATOR]
            : [pushServiceAccount],
        pushServiceAccount,
      })
    : undefined;
  // What deploy sets (behind the front end), or no auth; always explicit, as on Cloud Run.
  const authFor = (fn: (typeof plan.functions)[number]): Record<string, string> =>
    frontEnd
      ? authEnv(fn, {
          functionUrl: (name) => frontEnd.functionUrl(name),
          pushServiceAccount,
          actors: [LOCAL_OPERATOR],
        })
      : { PHASEGATE_AUTH: 'off', DASHBOARD_AUTH: 'off' };
  const specFor = (name: string, port?: number) => {
    const fn = plan.functions.find((f) => f.name === name);
    if (!fn) throw new Error(`unknown function ${name}`);
    return {
      name,
      target: fn.entryPoint,
      source,
      // Every function is an HTTP endpoint; Pub/Sub-driven ones take the push envelope.
      signatureType: 'http' as const,
      env: {
        ...baseEnv,
        ...authFor(fn),
        ...(options.warm?.(name) ? { PHASEGATE_WARM_START: 'on' } : {}),
        ...options.functionEnv?.(name),
      },
      logDir: options.logDir,
      port,
      echo: options.echo,
    };
  };
  const restarts = new Map<string, number>();
  /** Processes of restarts still coming up: stopping the stack stops them too. */
  const coming = new Set<ManagedProcess>();
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    await Promise.all([...[...functions.values()].map((f) => f.process), ...coming].map((p) => p.stop()));
    await frontEnd?.close();
  };
  /** Starts `name` again on its port; throws when it does not come up (and leaves no process). */
  const restart = async (name: string, port: number) => {
    if (stopping) return;
    const starting = await spawnFunction(specFor(name, port));
    coming.add(starting.process);
    try {
      const fn = await starting.ready;
      if (stopping) await fn.process.stop();
      else supervise(fn);
    } catch (error) {
      await starting.process.stop();
      throw error;
    } finally {
      coming.delete(starting.process);
    }
  };
  /** Like Cloud Functions replacing a crashed instance: a function that dies is started again on its port. */
  const supervise = (fn: RunningFunction) => {
    functions.set(fn.name, fn);
    void fn.process.exited.then((exit) => {
      if (stopping || functions.get(fn.name) !== fn) return;
      restarts.set(fn.name, (restarts.get(fn.name) ?? 0) + 1);
      options.echo?.(fn.name, `${describeExit(exit)}; restarting`);
      restart(fn.name, fn.port).catch((error: unknown) => {
        if (!stopping) options.echo?.(fn.name, `restart failed: ${String(error)}`);
      });
    });
  };
  const [functionsUp, emulatorsUp] = await Promise.allSettled([
    startFunctions(
      plan.functions.map((f) => specFor(f.name)),
      { stopWhenRejected: options.emulators.ready },
    ),
    options.emulators.ready,
  ]);
  if (functionsUp.status === 'rejected' || emulatorsUp.status === 'rejected') {
    if (functionsUp.status === 'fulfilled') await Promise.all(functionsUp.value.map((f) => f.process.stop()));
    await frontEnd?.close();
    // An emulator that did not come up is the cause to name, whatever else failed with it.
    throw reasonOf(emulatorsUp) ?? reasonOf(functionsUp);
  }
  for (const f of functionsUp.value) supervise(f);
  const pubsub = createPubSub(options.projectId, options.emulators.env.PUBSUB_EMULATOR_HOST);
  let dashboardUrl = functions.get(OPERATIONS_ENTRY_POINTS.dashboard)?.url ?? '';
  try {
    // Behind the front end, the emulator pushes to it, and it adds the token Pub/Sub would.
    const pushTargets = new Map(
      [...functions].map(([name, f]) => [name, frontEnd ? frontEnd.pushUrl(name) : f.url]),
    );
    await provisionLocal(pubsub, plan, options.projectId, pushTargets);
    if (frontEnd)
      dashboardUrl = (await frontEnd.proxy(OPERATIONS_ENTRY_POINTS.dashboard, LOCAL_OPERATOR)).url;
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
    frontEnd,
    dashboardUrl,
    dashboardAs: frontEnd ? LOCAL_OPERATOR : undefined,
    async restartFunction(name) {
      const current = functions.get(name);
      if (!current) throw new Error(`unknown function ${name}`);
      functions.delete(name);
      await current.process.stop();
      await restart(name, current.port);
    },
    async stop() {
      await stopAll();
      await pubsub.close();
    },
  };
}

export const defaultLogDir = (root: string): string => join(root, '.phasegate', 'logs');
