import { availableParallelism, totalmem } from 'node:os';
import type { BenchOptions, BenchTarget } from './args.ts';
import type { PhaseFigures, TargetFigures } from './figures.ts';

/*
 * The benchmark's output: a table with Parley on SQLite, Parley on PostgreSQL and the bare relay side by
 * side, with the ratios that the targets are about; each target and whether it is met; a note on what
 * bounded each phase; and one JSON line for the records.
 */

/** The targets from the issues. */
export const TARGETS = {
  /** Durable throughput (on SQLite) at least this fraction of the bare relay's. */
  throughputRatio: 0.5,
  /** Throughput on PostgreSQL at least this fraction of SQLite's in the same run. */
  postgresThroughputRatio: 0.6,
  /** Latency p99 below this, at the reference load below (on either store). */
  p99Ms: 20,
  referenceRate: 2000,
  referenceConversations: 1000,
  /** Idle memory per connection at most this (KB = 1,024 bytes). */
  idleBytesPerConnection: 12 * 1024,
} as const;

export type Results = Partial<Record<BenchTarget, TargetFigures>>;

/** How each target is named in the output. */
export const TARGET_NAMES: Record<BenchTarget, string> = {
  sqlite: 'Parley on SQLite',
  postgres: 'Parley on PostgreSQL',
  relay: 'bare ws relay',
};

/** One row of a side-by-side table: a metric, its cell for one server's figures, and what its ratios divide. */
export interface Row<F = TargetFigures> {
  metric: string;
  cell: (figures: F) => string;
  /** Also shown as ratios between servers (PostgreSQL ÷ SQLite and SQLite ÷ relay here). */
  ratioOf?: (figures: F) => number;
}

/** The first rows of every chat table: throughput, then latency at the offered rate. */
export function loadRows<F extends { throughput: PhaseFigures; latency: PhaseFigures }>(options: Pick<BenchOptions, 'window' | 'conversations' | 'rate'>): Row<F>[] {
  return [
    {
      metric: `throughput, msg/s (closed loop, window ${options.window}, ${options.conversations} conv)`,
      cell: (f) => whole(f.throughput.messagesPerSecond),
      ratioOf: (f) => f.throughput.messagesPerSecond,
    },
    {
      metric: `latency p50, ms (${options.rate} msg/s offered over ${options.conversations} conv)`,
      cell: (f) => ms(f.latency.p50Ms),
      ratioOf: (f) => f.latency.p50Ms,
    },
    { metric: 'latency p99, ms (same load)', cell: (f) => ms(f.latency.p99Ms), ratioOf: (f) => f.latency.p99Ms },
    { metric: 'latency phase: delivered msg/s / offered', cell: (f) => `${whole(f.latency.messagesPerSecond)} / ${options.rate}` },
  ];
}

/** The side-by-side table of every figure. */
export function renderTable(results: Results, options: BenchOptions): string {
  const rows: Row[] = [
    ...loadRows<TargetFigures>(options),
    {
      metric: `idle RSS per connection, KB (${Object.values(results)[0]?.connections ?? 0} conn)`,
      cell: (f) => kb(f.perConnection.rss),
      ratioOf: (f) => f.perConnection.rss,
    },
    {
      metric: '  same, after a forced full GC: RSS / live JS heap, KB',
      cell: (f) => `${kb(f.perConnection.rssAfterGc)} / ${kb(f.perConnection.heapUsed)}`,
    },
    {
      metric: 'per started conversation: RSS / after GC / live JS heap, KB',
      cell: (f) => (f.target === 'relay' ? 'n/a' : `${kb(f.perConversation.rss)} / ${kb(f.perConversation.rssAfterGc)} / ${kb(f.perConversation.heapUsed)}`),
    },
    { metric: 'closed-loop latency p50 / p99, ms (throughput phase)', cell: (f) => `${ms(f.throughput.p50Ms)} / ${ms(f.throughput.p99Ms)}` },
    {
      metric: 'server CPU, % of a core (throughput / latency phase)',
      cell: (f) => `${percent(f.throughput.cpu.server)} / ${percent(f.latency.cpu.server)}`,
    },
    {
      metric: 'PostgreSQL backends CPU, % of a core (same)',
      cell: (f) => (f.target === 'postgres' ? `${percent(f.throughput.cpu.database)} / ${percent(f.latency.cpu.database)}` : 'n/a'),
    },
    {
      metric: 'server CPU per message, µs (throughput / latency phase)',
      cell: (f) => `${micros(cpuPerMessage(f.throughput, 'server'))} / ${micros(cpuPerMessage(f.latency, 'server'))}`,
      ratioOf: (f) => cpuPerMessage(f.throughput, 'server'),
    },
    {
      metric: 'PostgreSQL backends CPU per message, µs (same)',
      cell: (f) =>
        f.target === 'postgres'
          ? `${micros(cpuPerMessage(f.throughput, 'database'))} / ${micros(cpuPerMessage(f.latency, 'database'))}`
          : 'n/a',
    },
    {
      metric: 'server + PostgreSQL backends CPU per message, µs (throughput phase)',
      cell: (f) => micros(cpuPerMessage(f.throughput, 'server') + cpuPerMessage(f.throughput, 'database')),
      ratioOf: (f) => cpuPerMessage(f.throughput, 'server') + cpuPerMessage(f.throughput, 'database'),
    },
    {
      metric: 'PostgreSQL commits/s, messages per commit (throughput / latency phase)',
      cell: (f) => (f.target === 'postgres' ? `${commits(f.throughput)} / ${commits(f.latency)}` : 'n/a'),
    },
    {
      metric: "  WAL flushes/s of the whole cluster (other people's included)",
      cell: (f) => (f.target === 'postgres' ? `${walSyncs(f.throughput)} / ${walSyncs(f.latency)}` : 'n/a'),
    },
    {
      metric: 'PostgreSQL background (WAL writer, checkpointer; shared), % of a core',
      cell: (f) => (f.target === 'postgres' ? `${percent(f.throughput.cpu.databaseShared)} / ${percent(f.latency.cpu.databaseShared)}` : 'n/a'),
    },
    {
      metric: 'load generator CPU, % of a core (throughput / latency)',
      cell: (f) => `${percent(f.throughput.cpu.loadGenerator)} / ${percent(f.latency.cpu.loadGenerator)}`,
    },
    {
      metric: 'error frames / lost messages',
      cell: (f) => `${f.latency.errors} / ${f.throughput.lost + f.latency.lost}`,
    },
  ];
  const header = ['metric', TARGET_NAMES.sqlite, TARGET_NAMES.postgres, TARGET_NAMES.relay, 'postgres ÷ sqlite', 'sqlite ÷ relay'];
  const lines = rows.map((row) => {
    const value = (target: BenchTarget): string => {
      const figures = results[target];
      return figures ? row.cell(figures) : '—';
    };
    const ratioOf = (a: BenchTarget, b: BenchTarget): string => {
      const fa = results[a];
      const fb = results[b];
      return row.ratioOf && fa && fb ? ratio(row.ratioOf(fa) / row.ratioOf(fb)) : '';
    };
    return [row.metric, value('sqlite'), value('postgres'), value('relay'), ratioOf('postgres', 'sqlite'), ratioOf('sqlite', 'relay')];
  });
  return renderColumns([header, ...lines]);
}

/** One target of the issues, as this run measured it. */
export interface TargetCheck {
  /** What is promised, in words. */
  target: string;
  /** What this run measured. */
  measured: string;
  /** null: not measured in this run (a side is missing). */
  met: boolean | null;
  /** Why the verdict does not settle the target, when it does not (another load than the target's). */
  caveat: string | null;
}

/** Every target that applies to the measured servers, with this run's figure and verdict. */
export function targetChecks(results: Results, options: BenchOptions): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const atReference = options.rate === TARGETS.referenceRate && options.conversations === TARGETS.referenceConversations;
  const otherLoad = atReference ? null : `measured at ${options.rate} msg/s over ${options.conversations} conv, not the reference load`;
  const { sqlite, postgres, relay } = results;
  for (const figures of [sqlite, postgres]) {
    if (!figures) continue;
    const name = TARGET_NAMES[figures.target];
    checks.push({
      target: `${name}: latency p99 < ${TARGETS.p99Ms} ms at ${TARGETS.referenceRate} msg/s over ${TARGETS.referenceConversations} conv`,
      measured: `${ms(figures.latency.p99Ms)} ms`,
      met: figures.latency.p99Ms < TARGETS.p99Ms,
      caveat: otherLoad,
    });
    checks.push({
      target: `${name}: delivers the offered rate, nothing lost, no error frame`,
      measured: `${whole(figures.latency.messagesPerSecond)} of ${options.rate} msg/s; ${figures.throughput.lost + figures.latency.lost} lost, ${figures.latency.errors} errors`,
      met: figures.latency.messagesPerSecond >= options.rate * 0.99 && figures.throughput.lost + figures.latency.lost === 0 && figures.latency.errors === 0,
      caveat: null,
    });
    checks.push({
      target: `${name}: idle RSS ≤ ${TARGETS.idleBytesPerConnection / 1024} KB per connection`,
      measured: `${kb(figures.perConnection.rss)} KB`,
      met: figures.perConnection.rss <= TARGETS.idleBytesPerConnection,
      caveat: null,
    });
  }
  if (sqlite || postgres) {
    const pair = sqlite && postgres ? postgres.throughput.messagesPerSecond / sqlite.throughput.messagesPerSecond : NaN;
    checks.push({
      target: `${TARGET_NAMES.postgres}: throughput ≥ ${TARGETS.postgresThroughputRatio}× SQLite's in the same run`,
      measured: Number.isNaN(pair) ? 'not measured' : ratio(pair),
      met: Number.isNaN(pair) ? null : pair >= TARGETS.postgresThroughputRatio,
      caveat: null,
    });
  }
  const durable = sqlite ?? postgres;
  if (durable) {
    const r = relay ? durable.throughput.messagesPerSecond / relay.throughput.messagesPerSecond : NaN;
    checks.push({
      target: `${TARGET_NAMES[durable.target]}: throughput ≥ ${TARGETS.throughputRatio}× the bare relay's`,
      measured: Number.isNaN(r) ? 'not measured' : ratio(r),
      met: Number.isNaN(r) ? null : r >= TARGETS.throughputRatio,
      caveat: null,
    });
  }
  return checks;
}

/** The targets as lines: verdict, target, measured figure. */
export function renderTargets(checks: TargetCheck[]): string {
  return renderColumns([
    ['met?', 'target', 'measured'],
    ...checks.map((c) => [verdict(c.met), c.target, c.measured + (c.caveat ? ` (${c.caveat})` : '')]),
  ]);
}

/** One sentence per measured phase on what bounded it. */
export function bottleneckNotes(results: Results): string[] {
  const notes: string[] = [];
  for (const figures of Object.values(results)) {
    for (const phase of ['throughput', 'latency'] as const) {
      notes.push(`${TARGET_NAMES[figures.target]}, ${phase}: ${describeBound(figures[phase], phase)}`);
    }
  }
  return notes;
}

function describeBound(figures: PhaseFigures, phase: 'throughput' | 'latency'): string {
  const { server, loadGenerator, database, databaseShared, machine, others } = figures.cpu;
  const threads = figures.threadUtilisation.map((u) => u.toFixed(2)).join('/');
  const cores = availableParallelism();
  const postgres = database + databaseShared > 0 ? `, PostgreSQL ${percent(database)} (+${percent(databaseShared)} shared background)` : '';
  const facts =
    `server ${percent(server)} of a core${postgres}, load generator ${percent(loadGenerator)} (thread event loops ${threads} busy), ` +
    `other processes ${percent(others)}; machine ${machine.toFixed(2)} of ${cores} cores`;
  const bounds: string[] = [];
  if (server >= 0.85) bounds.push("the server's single event loop (≈ one full core)");
  if (figures.threadUtilisation.some((u) => u >= 0.85)) bounds.push('a saturated load-generator thread');
  if (machine >= cores * 0.85) bounds.push(`the machine (${cores} cores shared by server, database and load generator)`);
  const disturbed = others >= 0.2 ? ` Other processes took ${percent(others)} of a core: these figures are disturbed; rerun on a quiet machine.` : '';
  if (phase === 'latency') {
    const lag = figures.maxSendLagMs >= 5 ? `; the sender lagged its schedule by up to ${ms(figures.maxSendLagMs)} ms` : '';
    return `${facts}${lag}.${disturbed}`;
  }
  const bound = bounds.length > 0 ? bounds.join(' and ') : 'nothing saturated (a latency-bound closed loop: waiting on commits or round trips)';
  return `${facts} → bounded by ${bound}.${disturbed}`;
}

/** One line of JSON with the options, the machine and every figure (latency samples left out). */
export function jsonRecord(results: Results, options: BenchOptions, startedAt: Date, loadBefore: number): string {
  return JSON.stringify({
    bench: 'chat',
    date: startedAt.toISOString(),
    machine: { cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, busyCoresBeforeRun: loadBefore },
    options,
    results,
    targets: targetChecks(results, options),
  });
}

/**
 * CPU seconds per delivered message of the server or of PostgreSQL's backends: a cost that does not
 * depend on how hard the load generator pushed.
 */
export function cpuPerMessage(phase: PhaseFigures, whose: 'server' | 'database'): number {
  return phase.cpu[whose] / phase.messagesPerSecond;
}

/** Commits per second and delivered messages per commit, e.g. `1,234 (5.6)`. */
export function commits(phase: PhaseFigures): string {
  if (!phase.database) return '—';
  const perCommit = phase.messagesPerSecond / phase.database.commitsPerSecond;
  return `${whole(phase.database.commitsPerSecond)} (${Number.isFinite(perCommit) ? perCommit.toFixed(1) : '—'})`;
}

function walSyncs(phase: PhaseFigures): string {
  return phase.database ? whole(phase.database.walSyncsPerSecond) : '—';
}

/** Rows of cells as aligned columns with a rule under the first. */
export function renderColumns(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]): string => row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('-|-');
  const [header, ...rest] = rows;
  return [line(header ?? []), rule, ...rest.map(line)].join('\n');
}

export function micros(seconds: number): string {
  return Number.isFinite(seconds) ? (seconds * 1e6).toFixed(1) : '—';
}

export function whole(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function ms(n: number): string {
  if (Number.isNaN(n)) return '—';
  return n < 10 ? n.toFixed(2) : n.toFixed(1);
}

function kb(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}

export function ratio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)}×` : '—';
}

export function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

function verdict(met: boolean | null): string {
  return met === null ? '—' : met ? 'yes' : 'NO';
}
