import type { ProtocolClient } from '../packages/server/test/support/ProtocolClient.ts';

/*
 * A fleet is the set of connections one load-generator thread drives: some agents and the visitors
 * they serve. The workload only sees this interface, so the same throughput and latency phases run
 * against Parley and against the bare relay.
 */

/** Called when a visitor's message reached the agent side of its conversation. */
export type DeliveryListener = (conversation: number, clientId: string) => void;

/** The connections of one load-generator thread. */
export interface ChatFleet {
  /** Conversations carrying load in this fleet, numbered 0..conversations-1. */
  readonly conversations: number;
  /** All connections this fleet holds once connected. */
  readonly connections: number;
  /** Error frames received so far, and the first one's text. */
  readonly errors: { count: number; first: string | null };
  /** Gets credentials (HTTP, before any socket is opened). */
  prepare(): Promise<void>;
  /** Opens and authenticates every socket; resolves once all are usable. */
  connect(): Promise<void>;
  /** Starts every conversation and waits until each has an agent on this fleet. */
  startChats(): Promise<void>;
  /** Makes this fleet's agents available again after `startChats`. */
  goOnline(): Promise<void>;
  /** Sends one visitor message in a conversation. */
  send(conversation: number, clientId: string, text: string): void;
  /** Where deliveries are reported; the workload sets it. */
  onDelivered: DeliveryListener;
  /**
   * The order of deliveries since the last call (duplicated and out-of-order frames, by the server's seq);
   * absent where the protocol has no seq (the bare relay).
   */
  takeOrder?(): OrderCounts;
  close(): Promise<void>;
}

/** Deliveries that broke a conversation's order, as the receiving side saw them. */
export interface OrderCounts {
  /** A seq received again on the same connection. */
  duplicated: number;
  /** A seq received after a later one. */
  reordered: number;
}

/** What the coordinator gives a load-generator thread. */
export interface FleetPlan {
  target: 'parley' | 'relay';
  /** Index of this thread, used to keep ids unique across threads. */
  thread: number;
  /** `http://127.0.0.1:PORT` of the server under test (the visitors' node when `agentBaseUrl` is set). */
  baseUrl: string;
  /** Where the agents sign in and connect, when not at `baseUrl` (another node of the same deployment). */
  agentBaseUrl?: string;
  /** Agents this thread drives (Parley: accounts created beforehand; relay: only the names matter). */
  agents: { email: string; password: string }[];
  /** Visitor connections this thread opens. */
  visitors: number;
  /** Of those visitors, how many start a conversation and carry load. */
  conversations: number;
}

/** Closes every client, each politely first (see ProtocolClient.close). */
export async function closeClients(clients: readonly ProtocolClient[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close()));
}

/** Runs `task` over `items` with at most `limit` running at once. */
export async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index] as T, index);
    }
  });
  await Promise.all(runners);
}

/** Resolves when `ready()` is true, checking on each call of the returned `check`; rejects after `timeoutMs`. */
export function condition(ready: () => boolean, timeoutMs: number, describe: () => string): { done: Promise<void>; check: () => void } {
  let settle: (() => void) | null = null;
  let timer: NodeJS.Timeout | null = null;
  const done = new Promise<void>((resolve, reject) => {
    if (ready()) {
      resolve();
      return;
    }
    settle = () => {
      if (timer) clearTimeout(timer);
      resolve();
    };
    timer = setTimeout(() => {
      settle = null;
      reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
    }, timeoutMs);
  });
  return {
    done,
    check: () => {
      if (settle && ready()) {
        const s = settle;
        settle = null;
        s();
      }
    },
  };
}

/** The text of a benchmark chat message: a plausible customer question of typical length. */
export function chatText(n: number): string {
  return `Hello, I have a question about order ${n}: could you tell me when it will be delivered? Thanks!`;
}
