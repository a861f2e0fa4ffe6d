import { availableParallelism, totalmem } from 'node:os';
import type { ClusterOptions, ClusterTarget } from './clusterArgs.ts';
import { CLUSTER_TARGETS } from './clusterArgs.ts';
import { CLUSTER_TARGET_NAMES, REDIS, SECOND_NODE, type ClusterFigures, type ClusterPhase } from './clusterFigures.ts';
import type { FailoverFigures } from './failover.ts';
import type { Spread } from './failoverFigures.ts';
import { commits, loadRows, micros, ms, percent, ratio, renderColumns, whole, type Row } from './report.ts';

/*
 * The output of bench:cluster: the load on every set-up side by side (with the two nodes beside the one node
 * on the same store), the failover figures, the counts that must be zero, what bounded each figure, and one
 * JSON line for the records.
 */

export type ClusterResults = Partial<Record<ClusterTarget, ClusterFigures>>;

/** The CPU of one process (or group) in a phase, as a fraction of one core; null where it has none. */
type Share = (phase: ClusterPhase) => number | null;

/** The processes broken out, in the order the tables show them. */
const PROCESSES: Array<{ name: string; share: Share }> = [
  { name: 'relay or node 1', share: (p) => p.cpu.server },
  { name: SECOND_NODE, share: (p) => p.cpu.also?.[SECOND_NODE] ?? null },
  { name: 'PostgreSQL backends', share: (p) => (p.database ? p.cpu.database : null) },
  { name: `${REDIS} (shared)`, share: (p) => p.cpu.also?.[REDIS] ?? null },
];

/** CPU seconds per delivered message of everything the set-up runs (servers, PostgreSQL, Redis). */
export function deploymentCpuPerMessage(phase: ClusterPhase): number {
  const cores = PROCESSES.reduce((sum, { share }) => sum + (share(phase) ?? 0), 0);
  return cores / phase.messagesPerSecond;
}

/** What each step costs: the bus on one node, then the crossing between two. */
const RATIOS: Array<{ name: string; of: ClusterTarget; over: ClusterTarget }> = [
  { name: '+ Redis ÷ PostgreSQL alone', of: 'single', over: 'postgres' },
  { name: '2 nodes ÷ 1 node', of: 'split', over: 'single' },
];

const lostDuplicatedReordered = (p: ClusterPhase): string =>
  `${p.lost} / ${p.order ? p.order.duplicated : 'n/a'} / ${p.order ? p.order.reordered : 'n/a'}`;

/** The side-by-side table of the load on every set-up. */
export function renderLoadTable(results: ClusterResults, options: ClusterOptions): string {
  const perMessage = (share: Share) => (f: ClusterFigures) => {
    const t = share(f.throughput);
    const l = share(f.latency);
    return t === null || l === null ? 'n/a' : `${micros(t / f.throughput.messagesPerSecond)} / ${micros(l / f.latency.messagesPerSecond)}`;
  };
  // Ratios: those of RATIOS.
  const rows: Row<ClusterFigures>[] = [
    ...loadRows<ClusterFigures>(options),
    { metric: 'closed-loop latency p50 / p99, ms (throughput phase)', cell: (f) => `${ms(f.throughput.p50Ms)} / ${ms(f.throughput.p99Ms)}` },
    ...PROCESSES.map(({ name, share }) => ({ metric: `CPU per message, µs, ${name} (throughput / latency phase)`, cell: perMessage(share) })),
    {
      metric: 'CPU per message, µs, all of these (throughput / latency phase)',
      cell: (f) => `${micros(deploymentCpuPerMessage(f.throughput))} / ${micros(deploymentCpuPerMessage(f.latency))}`,
      ratioOf: (f) => deploymentCpuPerMessage(f.throughput),
    },
    {
      metric: 'CPU, % of a core (throughput phase): node 1 / node 2 / PostgreSQL / Redis / load generator',
      cell: (f) => [...PROCESSES.map(({ share }) => share(f.throughput)), f.throughput.cpu.loadGenerator].map((c) => (c === null ? '—' : percent(c))).join(' / '),
    },
    {
      metric: 'machine busy, cores of 2 (throughput / latency phase); others',
      cell: (f) => `${f.throughput.cpu.machine.toFixed(2)} / ${f.latency.cpu.machine.toFixed(2)}; ${percent(f.throughput.cpu.others)} / ${percent(f.latency.cpu.others)}`,
    },
    {
      metric: 'PostgreSQL commits/s (messages per commit), throughput / latency phase',
      cell: (f) => (f.throughput.database && f.latency.database ? `${commits(f.throughput)} / ${commits(f.latency)}` : 'n/a'),
    },
    { metric: 'lost / duplicated / out of order, throughput phase', cell: (f) => lostDuplicatedReordered(f.throughput) },
    { metric: 'lost / duplicated / out of order, latency phase', cell: (f) => lostDuplicatedReordered(f.latency) },
    { metric: 'error frames', cell: (f) => String(f.latency.errors) },
  ];
  const header = ['metric', ...CLUSTER_TARGETS.map((t) => CLUSTER_TARGET_NAMES[t]), ...RATIOS.map((r) => r.name)];
  const lines = rows.map((row) => {
    const ratios = RATIOS.map(({ of, over }) => {
      const a = results[of];
      const b = results[over];
      return row.ratioOf && a && b ? ratio(row.ratioOf(a) / row.ratioOf(b)) : '';
    });
    return [row.metric, ...CLUSTER_TARGETS.map((t) => (results[t] ? row.cell(results[t]) : '—')), ...ratios];
  });
  return renderColumns([header, ...lines]);
}

/** The failover figures: each step's spread over the kills, and what each direction delivered. */
export function renderFailover(figures: FailoverFigures): string {
  const step = (what: string, s: Spread): string[] => [what, String(s.n), ms(s.p50), ms(s.p99), ms(s.max), String(s.missing)];
  const steps = renderColumns([
    ['from the SIGKILL to …', 'kills', 'p50, ms', 'p99, ms', 'max, ms', 'not seen'],
    step('the client reconnected (ready on the surviving node)', figures.reconnected),
    step('its next message delivered to the other party', figures.delivered),
    step("the other party's next message delivered to it", figures.received),
    step('the dead node noticed (the survivor logs it)', figures.noticed),
  ]);
  const delivery = renderColumns([
    ['messages', 'sent', 'acknowledged', 'lost', 'duplicated', 'out of order', 'sent again', 'of which stored before', 'arrived only through a sync'],
    ...figures.delivery.map((d) => [
      `${d.from} → ${d.from === 'visitor' ? 'agent' : 'visitor'}`,
      whole(d.sent),
      whole(d.acknowledged),
      String(d.lost),
      String(d.duplicated),
      String(d.reordered),
      String(d.resent),
      String(d.storedBefore),
      String(d.throughSync),
    ]),
  ]);
  const live = Object.entries(figures.liveOrder)
    .map(([role, o]) => `${role}: ${o.duplicated} repeated, ${o.reordered} out of order`)
    .join('; ');
  return `${steps}\n\n${delivery}\n\nlive frames on one connection: ${live}; unacknowledged at the end: ${figures.unacknowledged}`;
}

/** A count that must be zero, and what it is. */
export interface IntegrityCheck {
  what: string;
  value: number;
}

/** Every count of the run that must be zero: lost, duplicated, out-of-order messages, errors, steps never seen. */
export function integrityChecks(results: ClusterResults, failover: FailoverFigures | null): IntegrityCheck[] {
  const checks: IntegrityCheck[] = [];
  for (const target of CLUSTER_TARGETS) {
    const f = results[target];
    if (!f) continue;
    const name = CLUSTER_TARGET_NAMES[target];
    const phases = [f.throughput, f.latency];
    checks.push({ what: `${name}: messages lost`, value: phases.reduce((n, p) => n + p.lost, 0) });
    if (f.throughput.order && f.latency.order) {
      checks.push({ what: `${name}: messages duplicated`, value: phases.reduce((n, p) => n + (p.order?.duplicated ?? 0), 0) });
      checks.push({ what: `${name}: messages out of order`, value: phases.reduce((n, p) => n + (p.order?.reordered ?? 0), 0) });
    }
    checks.push({ what: `${name}: error frames`, value: f.latency.errors });
  }
  if (failover) {
    for (const d of failover.delivery) {
      const way = `failover, ${d.from}'s messages`;
      checks.push({ what: `${way}: acknowledged and lost`, value: d.lost });
      checks.push({ what: `${way}: duplicated`, value: d.duplicated });
      checks.push({ what: `${way}: out of order`, value: d.reordered });
    }
    for (const [role, o] of Object.entries(failover.liveOrder)) {
      checks.push({ what: `failover, live frames to the ${role}: repeated or out of order`, value: o.duplicated + o.reordered });
    }
    checks.push({ what: 'failover: messages never acknowledged', value: failover.unacknowledged });
    const missing = [failover.reconnected, failover.delivered, failover.received, failover.noticed].reduce((n, s) => n + s.missing, 0);
    checks.push({ what: 'failover: steps not seen within their bound', value: missing });
  }
  return checks;
}

export function renderChecks(checks: readonly IntegrityCheck[]): string {
  return renderColumns([['zero?', 'count', 'value'], ...checks.map((c) => [c.value === 0 ? 'yes' : 'NO', c.what, String(c.value)])]);
}

/** One sentence per measured phase on where the CPU went and what saturated. */
export function boundNotes(results: ClusterResults): string[] {
  const cores = availableParallelism();
  const notes: string[] = [];
  for (const target of CLUSTER_TARGETS) {
    const f = results[target];
    if (!f) continue;
    for (const phase of ['throughput', 'latency'] as const) {
      const p = f[phase];
      const parts = PROCESSES.flatMap(({ name, share }) => {
        const s = share(p);
        return s === null ? [] : [`${name === PROCESSES[0]?.name ? f.processes.server : name} ${percent(s)}`];
      });
      parts.push(`load generator ${percent(p.cpu.loadGenerator)} (threads ${p.threadUtilisation.map((u) => u.toFixed(2)).join('/')} busy)`, `others ${percent(p.cpu.others)}`);
      const saturated: string[] = [];
      if (p.cpu.server >= 0.85) saturated.push(`${f.processes.server}'s event loop`);
      if ((p.cpu.also?.[SECOND_NODE] ?? 0) >= 0.85) saturated.push(`${SECOND_NODE}'s event loop`);
      if (p.threadUtilisation.some((u) => u >= 0.85)) saturated.push('a load-generator thread');
      if (p.cpu.machine >= cores * 0.85) saturated.push(`the machine (${cores} cores)`);
      const bound =
        phase === 'latency'
          ? p.maxSendLagMs >= 5
            ? `; the sender lagged its schedule by up to ${ms(p.maxSendLagMs)} ms`
            : ''
          : ` → bounded by ${saturated.length > 0 ? saturated.join(' and ') : 'nothing saturated (waiting on commits and round trips)'}`;
      const disturbed = p.cpu.others >= 0.2 ? ` Other processes took ${percent(p.cpu.others)} of a core: disturbed.` : '';
      notes.push(`${CLUSTER_TARGET_NAMES[target]}, ${phase}: ${parts.join(', ')}; machine ${p.cpu.machine.toFixed(2)} of ${cores} cores${bound}.${disturbed}`);
    }
  }
  return notes;
}

/** One line of JSON with the options, the machine and every figure (latency samples left out). */
export function clusterJson(results: ClusterResults, failover: FailoverFigures | null, options: ClusterOptions, startedAt: Date, loadBefore: number): string {
  return JSON.stringify({
    bench: 'cluster',
    date: startedAt.toISOString(),
    machine: { cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, busyCoresBeforeRun: loadBefore },
    options,
    results,
    failover,
    checks: integrityChecks(results, failover),
  });
}
