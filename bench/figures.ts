import type { BenchTarget } from './args.ts';
import type { DatabaseCounters } from './postgres.ts';
import type { CpuShare } from './procStats.ts';
import type { ThreadResults } from './threadMessages.ts';

/*
 * The figures of one measured server, reduced from what the load-generator threads report.
 */

/** One phase, all threads together. */
export interface PhaseFigures {
  /** Messages delivered per second over the measured interval. */
  messagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  sent: number;
  delivered: number;
  lost: number;
  errors: number;
  firstError: string | null;
  cpu: CpuShare;
  /** How PostgreSQL was written during the phase; null for the other servers. */
  database: DatabaseActivity | null;
  /** Event-loop utilisation of each load-generator thread (1 = saturated). */
  threadUtilisation: number[];
  /** Latency phase: the worst lag of a send behind its schedule, in ms (shows a saturated generator). */
  maxSendLagMs: number;
}

/** PostgreSQL's writes over one phase, per second. */
export interface DatabaseActivity {
  /** Transactions committed in the benchmark's database. */
  commitsPerSecond: number;
  /** WAL flushes of the whole cluster (other databases' included). */
  walSyncsPerSecond: number;
}

/** The activity between two readings of the counters, `seconds` apart. */
export function databaseActivity(before: DatabaseCounters, after: DatabaseCounters, seconds: number): DatabaseActivity {
  return {
    commitsPerSecond: (after.commits - before.commits) / seconds,
    walSyncsPerSecond: (after.walSyncs - before.walSyncs) / seconds,
  };
}

/** The server's memory at one moment, in bytes. */
export interface MemoryReading {
  /** VmRSS as it was, garbage included. */
  rss: number;
  /** VmRSS right after a forced full garbage collection. */
  rssAfterGc: number;
  /** Live JS heap after that collection. */
  heapUsed: number;
}

/** Growth of memory per unit (connection or conversation), in bytes. */
export interface MemoryGrowth {
  rss: number;
  rssAfterGc: number;
  heapUsed: number;
}

/** Everything measured for one server. */
export interface TargetFigures {
  target: BenchTarget;
  /** PostgreSQL's version and commit settings, for the PostgreSQL target; null otherwise. */
  databaseSettings: string | null;
  connections: number;
  conversations: number;
  memory: {
    /** Before any WebSocket was opened (after Parley's HTTP token requests). */
    before: MemoryReading;
    /** Every connection open (and authenticated), after idling. */
    idle: MemoryReading;
    /** Every conversation started and assigned. */
    chats: MemoryReading;
    /** After the load phases. */
    afterLoad: MemoryReading;
  };
  /** (idle − before) / connections (see `growth`). The target applies to `rss`, as the issue defines it. */
  perConnection: MemoryGrowth;
  /** (chats − idle) / conversations; zeros for the relay, which keeps no conversation state. */
  perConversation: MemoryGrowth;
  throughput: PhaseFigures;
  latency: PhaseFigures;
}

/**
 * Memory growth from `from` to `to`, per unit. The baseline is always `from` after a full collection, so
 * `rss` is what the process holds as it stands (garbage included) and `rssAfterGc` what it retains.
 */
export function growth(from: MemoryReading, to: MemoryReading, units: number): MemoryGrowth {
  return {
    rss: (to.rss - from.rssAfterGc) / units,
    rssAfterGc: (to.rssAfterGc - from.rssAfterGc) / units,
    heapUsed: (to.heapUsed - from.heapUsed) / units,
  };
}

/** Reduces the threads' results of one phase. */
export function phaseFigures(results: ThreadResults['throughput'][], cpu: CpuShare, database: DatabaseActivity | null): PhaseFigures {
  const total = results.reduce((n, r) => n + r.latencies.length, 0);
  const all = new Float64Array(total);
  let offset = 0;
  for (const r of results) {
    all.set(r.latencies, offset);
    offset += r.latencies.length;
  }
  all.sort();
  const measuredMs = Math.max(...results.map((r) => r.measuredMs));
  const delivered = results.reduce((n, r) => n + r.delivered, 0);
  return {
    messagesPerSecond: measuredMs > 0 ? (delivered * 1000) / measuredMs : 0,
    p50Ms: percentile(all, 0.5),
    p99Ms: percentile(all, 0.99),
    maxMs: all.length > 0 ? (all[all.length - 1] ?? NaN) : NaN,
    sent: results.reduce((n, r) => n + r.sent, 0),
    delivered,
    lost: results.reduce((n, r) => n + r.lost, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    firstError: results.find((r) => r.firstError !== null)?.firstError ?? null,
    cpu,
    database,
    threadUtilisation: results.map((r) => r.eventLoopUtilisation),
    maxSendLagMs: Math.max(...results.map((r) => r.maxSendLagMs)),
  };
}

/** The nearest-rank percentile (0 < p ≤ 1) of ascending samples; NaN when there are none. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? NaN;
}
