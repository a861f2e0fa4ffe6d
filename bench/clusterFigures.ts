import type { ClusterTarget } from './clusterArgs.ts';
import type { PhaseFigures } from './figures.ts';
import type { OrderCounts } from './fleet.ts';
import type { ThreadResults } from './threadMessages.ts';

/*
 * The figures of the load part of bench:cluster, per set-up: bench:chat's phase figures, the order of
 * deliveries, and which processes the CPU is broken out for.
 */

/** The name each set-up goes by in the output. */
export const CLUSTER_TARGET_NAMES: Record<ClusterTarget, string> = {
  relay: 'bare ws relay',
  sqlite: '1 node, SQLite',
  postgres: '1 node, PostgreSQL',
  single: '1 node, PostgreSQL + Redis',
  split: '2 nodes, split',
};

/** Names of the processes whose CPU is broken out (keys of CpuShare.also, beside `server`). */
export const SECOND_NODE = 'node 2';
export const REDIS = 'Redis';

/** One phase of one set-up: bench:chat's figures, and the order of deliveries (null: the relay has no seq). */
export interface ClusterPhase extends PhaseFigures {
  order: OrderCounts | null;
}

export interface ClusterFigures {
  target: ClusterTarget;
  connections: number;
  /** Processes measured: what `cpu.server` is, and which names `cpu.also` holds. */
  processes: { server: string; also: string[] };
  /** PostgreSQL's version and commit settings; null without PostgreSQL. */
  databaseSettings: string | null;
  throughput: ClusterPhase;
  latency: ClusterPhase;
}

/** The threads' order counts added up; null when no thread had any (the relay). */
export function sumOrder(results: readonly Pick<ThreadResults['throughput'], 'order'>[]): OrderCounts | null {
  const counted = results.flatMap((r) => (r.order ? [r.order] : []));
  if (counted.length === 0) return null;
  return counted.reduce((sum, o) => ({ duplicated: sum.duplicated + o.duplicated, reordered: sum.reordered + o.reordered }), { duplicated: 0, reordered: 0 });
}
