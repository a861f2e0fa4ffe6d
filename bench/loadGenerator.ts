import { Worker } from 'node:worker_threads';
import type { BenchTarget } from './args.ts';
import { protocolOf } from './args.ts';
import type { FleetPlan } from './fleet.ts';
import type { ThreadCommand, ThreadReply, ThreadResults } from './threadMessages.ts';

/*
 * The coordinator's handle on the load-generator threads. Splits agents, visitors and conversations
 * between the threads (each thread's visitors are served by its own agents, so a delivery is observed in
 * the thread that sent the message and latency needs no cross-thread clock), and runs commands on them.
 */

/** How the load is shaped, for all threads together. */
export interface LoadShape {
  target: BenchTarget;
  baseUrl: string;
  /** Where the agents connect, when not at `baseUrl` (another node of the same deployment). */
  agentBaseUrl?: string;
  agents: { email: string; password: string }[];
  visitors: number;
  conversations: number;
  threads: number;
}

/** A set of running load-generator threads. */
export class LoadGenerator {
  readonly plans: FleetPlan[];
  readonly #threads: Worker[];
  #failure: Error | null = null;

  /** Starts the threads; `workerScript` is the bundled bench/loadWorker.ts. */
  constructor(workerScript: string, shape: LoadShape) {
    this.plans = splitLoad(shape);
    this.#threads = this.plans.map((plan) => {
      const thread = new Worker(workerScript, { workerData: plan });
      thread.on('error', (error) => {
        this.#failure ??= error;
      });
      return thread;
    });
  }

  /** Runs one command on every thread at once; resolves with each thread's result. */
  all<C extends ThreadCommand>(command: C): Promise<ThreadResults[C['type']][]> {
    return Promise.all(this.#threads.map((thread) => this.#run(thread, command)));
  }

  /** Runs a command made for each thread (from its plan) on every thread at once. */
  perThread<C extends ThreadCommand>(command: (plan: FleetPlan) => C): Promise<ThreadResults[C['type']][]> {
    return Promise.all(this.#threads.map((thread, t) => this.#run(thread, command(this.plans[t] as FleetPlan))));
  }

  /** Runs one command on each thread in turn. */
  async each<C extends ThreadCommand>(command: C): Promise<ThreadResults[C['type']][]> {
    const results: ThreadResults[C['type']][] = [];
    for (const thread of this.#threads) results.push(await this.#run(thread, command));
    return results;
  }

  /** Stops every thread at once. */
  async terminate(): Promise<void> {
    await Promise.all(this.#threads.map((thread) => thread.terminate()));
  }

  #run<C extends ThreadCommand>(thread: Worker, command: C): Promise<ThreadResults[C['type']]> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const onMessage = (reply: ThreadReply): void => {
        if (reply.command !== command.type) return;
        cleanup();
        if (reply.type === 'done') resolve(reply.result as ThreadResults[C['type']]);
        else reject(new Error(`load generator ${command.type}: ${reply.message}`));
      };
      const onError = (error: Error): void => {
        cleanup();
        reject(error);
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new Error(`load-generator thread exited (${code}) during ${command.type}`));
      };
      const cleanup = (): void => {
        thread.off('message', onMessage);
        thread.off('error', onError);
        thread.off('exit', onExit);
      };
      thread.on('message', onMessage);
      thread.on('error', onError);
      thread.on('exit', onExit);
      thread.postMessage(command);
    });
  }
}

/** Splits agents round-robin over the threads, and visitors and conversations in proportion. */
export function splitLoad(shape: LoadShape): FleetPlan[] {
  const threads = Math.max(1, Math.min(shape.threads, shape.agents.length));
  const plans: FleetPlan[] = [];
  for (let t = 0; t < threads; t++) {
    const agents = shape.agents.filter((_, i) => i % threads === t);
    const agentBaseUrl = shape.agentBaseUrl === undefined ? {} : { agentBaseUrl: shape.agentBaseUrl };
    plans.push({ target: protocolOf(shape.target), thread: t, baseUrl: shape.baseUrl, ...agentBaseUrl, agents, visitors: 0, conversations: 0 });
  }
  const total = shape.agents.length;
  let visitorsLeft = shape.visitors;
  let conversationsLeft = shape.conversations;
  plans.forEach((plan, t) => {
    const last = t === plans.length - 1;
    const share = plan.agents.length / total;
    plan.visitors = last ? visitorsLeft : Math.round(shape.visitors * share);
    plan.conversations = last ? conversationsLeft : Math.min(plan.visitors, Math.round(shape.conversations * share));
    visitorsLeft -= plan.visitors;
    conversationsLeft -= plan.conversations;
  });
  return plans;
}
