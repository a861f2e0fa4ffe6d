import { availableParallelism, totalmem } from 'node:os';
import type { BenchOptions, BenchTarget } from './args.ts';
import type { PhaseFigures, TargetFigures } from './figures.ts';

/*
 * The benchmark's output: a table with Parley and the bare relay side by side, their ratio, the target
 * and whether it is met; a note on what bounded each phase; and one JSON line for the records.
 */

/** The targets from the issue. */
export const TARGETS = {
  /** Durable throughput at least this fraction of the bare relay's. */
  throughputRatio: 0.5,
  /** Latency p99 below this, at the reference load below. */
  p99Ms: 20,
  referenceRate: 2000,
  referenceConversations: 1000,
  /** Idle memory per connection at most this (KB = 1,024 bytes). */
  idleBytesPerConnection: 12 * 1024,
} as const;

type Results = Partial<Record<BenchTarget, TargetFigures>>;

interface Row {
  metric: string;
  parley: string;
  relay: string;
  ratio: string;
  target: string;
  met: string;
}

/** The side-by-side table. */
export function renderTable(results: Results, options: BenchOptions): string {
  const p = results.parley;
  const r = results.relay;
  const atReference = options.rate === TARGETS.referenceRate && options.conversations === TARGETS.referenceConversations;
  const throughputRatio = p && r ? p.throughput.messagesPerSecond / r.throughput.messagesPerSecond : NaN;
  const rows: Row[] = [
    {
      metric: `throughput, msg/s (closed loop, window ${options.window}, ${options.conversations} conv)`,
      parley: whole(p?.throughput.messagesPerSecond),
      relay: whole(r?.throughput.messagesPerSecond),
      ratio: ratio(throughputRatio),
      target: `≥ ${TARGETS.throughputRatio}× relay`,
      met: verdict(Number.isNaN(throughputRatio) ? null : throughputRatio >= TARGETS.throughputRatio),
    },
    {
      metric: `latency p50, ms (${options.rate} msg/s offered over ${options.conversations} conv)`,
      parley: ms(p?.latency.p50Ms),
      relay: ms(r?.latency.p50Ms),
      ratio: ratio(divide(p?.latency.p50Ms, r?.latency.p50Ms)),
      target: '',
      met: '',
    },
    {
      metric: `latency p99, ms (same load)`,
      parley: ms(p?.latency.p99Ms),
      relay: ms(r?.latency.p99Ms),
      ratio: ratio(divide(p?.latency.p99Ms, r?.latency.p99Ms)),
      target: `< ${TARGETS.p99Ms} ms at ${TARGETS.referenceRate}/s over ${TARGETS.referenceConversations} conv`,
      met: verdict(p ? p.latency.p99Ms < TARGETS.p99Ms : null) + (p && !atReference ? ' (other load)' : ''),
    },
    {
      metric: `latency phase: delivered msg/s / offered`,
      parley: p ? `${whole(p.latency.messagesPerSecond)} / ${options.rate}` : '—',
      relay: r ? `${whole(r.latency.messagesPerSecond)} / ${options.rate}` : '—',
      ratio: '',
      target: '= offered',
      met: verdict(p ? p.latency.messagesPerSecond >= options.rate * 0.99 && p.latency.lost === 0 : null),
    },
    {
      metric: `idle RSS per connection, KB (${p?.connections ?? r?.connections ?? 0} conn)`,
      parley: kb(p?.perConnection.rss),
      relay: kb(r?.perConnection.rss),
      ratio: ratio(divide(p?.perConnection.rss, r?.perConnection.rss)),
      target: `≤ ${TARGETS.idleBytesPerConnection / 1024} KB`,
      met: verdict(p ? p.perConnection.rss <= TARGETS.idleBytesPerConnection : null),
    },
    {
      metric: '  same, after a forced full GC: RSS / live JS heap, KB',
      parley: p ? `${kb(p.perConnection.rssAfterGc)} / ${kb(p.perConnection.heapUsed)}` : '—',
      relay: r ? `${kb(r.perConnection.rssAfterGc)} / ${kb(r.perConnection.heapUsed)}` : '—',
      ratio: ratio(divide(p?.perConnection.rssAfterGc, r?.perConnection.rssAfterGc)),
      target: '',
      met: '',
    },
    {
      metric: 'per started conversation: RSS / after GC / live JS heap, KB',
      parley: p ? `${kb(p.perConversation.rss)} / ${kb(p.perConversation.rssAfterGc)} / ${kb(p.perConversation.heapUsed)}` : '—',
      relay: r ? 'n/a' : '—',
      ratio: '',
      target: '',
      met: '',
    },
    {
      metric: 'closed-loop latency p50 / p99, ms (throughput phase)',
      parley: p ? `${ms(p.throughput.p50Ms)} / ${ms(p.throughput.p99Ms)}` : '—',
      relay: r ? `${ms(r.throughput.p50Ms)} / ${ms(r.throughput.p99Ms)}` : '—',
      ratio: '',
      target: '',
      met: '',
    },
    {
      metric: 'server CPU, % of a core (throughput / latency phase)',
      parley: p ? `${percent(p.throughput.cpu.server)} / ${percent(p.latency.cpu.server)}` : '—',
      relay: r ? `${percent(r.throughput.cpu.server)} / ${percent(r.latency.cpu.server)}` : '—',
      ratio: '',
      target: '',
      met: '',
    },
    {
      metric: 'server CPU time per message, µs (throughput phase)',
      parley: micros(p && cpuPerMessage(p)),
      relay: micros(r && cpuPerMessage(r)),
      ratio: ratio(divide(p && cpuPerMessage(p), r && cpuPerMessage(r))),
      target: '',
      met: '',
    },
    {
      metric: 'load generator CPU, % of a core (throughput / latency)',
      parley: p ? `${percent(p.throughput.cpu.loadGenerator)} / ${percent(p.latency.cpu.loadGenerator)}` : '—',
      relay: r ? `${percent(r.throughput.cpu.loadGenerator)} / ${percent(r.latency.cpu.loadGenerator)}` : '—',
      ratio: '',
      target: '',
      met: '',
    },
    {
      metric: 'error frames / lost messages',
      parley: p ? `${p.latency.errors} / ${p.throughput.lost + p.latency.lost}` : '—',
      relay: r ? `${r.latency.errors} / ${r.throughput.lost + r.latency.lost}` : '—',
      ratio: '',
      target: '0 / 0',
      met: verdict(p ? p.latency.errors === 0 && p.throughput.lost + p.latency.lost === 0 : null),
    },
  ];
  const header: Row = { metric: 'metric', parley: 'parley', relay: 'bare ws relay', ratio: 'ratio', target: 'target', met: 'met?' };
  const columns = Object.keys(header) as (keyof Row)[];
  const widths = columns.map((c) => Math.max(...[header, ...rows].map((row) => row[c].length)));
  const line = (row: Row): string => columns.map((c, i) => row[c].padEnd(widths[i] ?? 0)).join(' | ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('-|-');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** One sentence per measured phase on what bounded it. */
export function bottleneckNotes(results: Results): string[] {
  const notes: string[] = [];
  for (const figures of Object.values(results)) {
    for (const phase of ['throughput', 'latency'] as const) {
      notes.push(`${figures.target} ${phase}: ${describeBound(figures[phase], phase)}`);
    }
  }
  return notes;
}

function describeBound(figures: PhaseFigures, phase: 'throughput' | 'latency'): string {
  const { server, loadGenerator, machine, others } = figures.cpu;
  const threads = figures.threadUtilisation.map((u) => u.toFixed(2)).join('/');
  const cores = availableParallelism();
  const facts = `server ${percent(server)} of a core, load generator ${percent(loadGenerator)} (thread event loops ${threads} busy), other processes ${percent(others)}; machine ${machine.toFixed(2)} of ${cores} cores`;
  const bounds: string[] = [];
  if (server >= 0.85) bounds.push("the server's single event loop (≈ one full core)");
  if (figures.threadUtilisation.some((u) => u >= 0.85)) bounds.push('a saturated load-generator thread');
  if (machine >= cores * 0.85) bounds.push(`the machine (${cores} cores shared by server and load generator)`);
  const disturbed = others >= 0.2 ? ` Other processes took ${percent(others)} of a core: these figures are disturbed; rerun on a quiet machine.` : '';
  if (phase === 'latency') {
    const lag = figures.maxSendLagMs >= 5 ? `; the sender lagged its schedule by up to ${ms(figures.maxSendLagMs)} ms` : '';
    return `${facts}${lag}.${disturbed}`;
  }
  const bound = bounds.length > 0 ? bounds.join(' and ') : 'nothing saturated (latency-bound closed loop: raise --window)';
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
  });
}

/** Server CPU seconds per delivered message: a cost that does not depend on how hard the load generator pushed. */
function cpuPerMessage(figures: TargetFigures): number {
  return figures.throughput.cpu.server / figures.throughput.messagesPerSecond;
}

function micros(seconds: number | undefined): string {
  return seconds === undefined || !Number.isFinite(seconds) ? '—' : (seconds * 1e6).toFixed(1);
}

function divide(a: number | undefined, b: number | undefined): number {
  return a === undefined || b === undefined ? NaN : a / b;
}

function whole(n: number | undefined): string {
  return n === undefined ? '—' : Math.round(n).toLocaleString('en-US');
}

function ms(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '—';
  return n < 10 ? n.toFixed(2) : n.toFixed(1);
}

function kb(bytes: number | undefined): string {
  return bytes === undefined ? '—' : (bytes / 1024).toFixed(1);
}

function ratio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)}×` : '—';
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

function verdict(met: boolean | null): string {
  return met === null ? '—' : met ? 'yes' : 'NO';
}
