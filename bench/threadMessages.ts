import type { OrderCounts } from './fleet.ts';
import type { PhaseResult } from './workload.ts';

/*
 * Messages between the coordinator (main thread) and a load-generator thread. Each command is answered
 * by exactly one reply: `done` with the command's result, or `failed`.
 */

/** Coordinator → thread. */
export type ThreadCommand =
  | { type: 'prepare' }
  | { type: 'connect' }
  | { type: 'startChats' }
  | { type: 'goOnline' }
  | { type: 'throughput'; warmupMs: number; durationMs: number; window: number }
  | { type: 'latency'; durationMs: number; rate: number }
  | { type: 'close' };

/** What each command yields. */
export interface ThreadResults {
  prepare: null;
  connect: null;
  startChats: null;
  goOnline: null;
  throughput: PhaseResult & PhaseExtras;
  latency: PhaseResult & PhaseExtras;
  close: null;
}

/** What a thread adds to a phase's result: error frames, and the order of deliveries where the protocol has a seq. */
export interface PhaseExtras {
  errors: number;
  firstError: string | null;
  /** Absent for the bare relay (no seq). */
  order?: OrderCounts;
}

/** Thread → coordinator. */
export type ThreadReply =
  | { type: 'done'; command: ThreadCommand['type']; result: ThreadResults[ThreadCommand['type']] }
  | { type: 'failed'; command: ThreadCommand['type']; message: string };
