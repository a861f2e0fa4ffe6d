/*
 * The escalation benchmark's output: a table of Parley against the bare WebRTC baseline with the ratio,
 * a breakdown of where the time goes when the target is missed (or when asked), and one JSON line.
 */
import type { Side, TimingSummary } from './timing.ts';

/** Parley may take at most this multiple of the baseline's accept → first frame time. */
export const ESCALATION_TARGET_RATIO = 0.6;

const ms = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? '—' : value.toFixed(0));
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}×` : '—');

/** The side-by-side table (markdown). */
export function renderTable(parley: TimingSummary | null, baseline: TimingSummary | null): string {
  const rows: Array<[string, Side | 'both']> = [
    ['accept → first remote frame, agent side (median ms)', 'agent'],
    ['accept → first remote frame, visitor side (median ms)', 'visitor'],
    ['accept → first frame on both sides (median of the later, ms)', 'both'],
  ];
  const lines = [
    '| metric | parley | bare WebRTC | ratio | target | met? |',
    '|---|---|---|---|---|---|',
  ];
  for (const [label, key] of rows) {
    const p = parley?.medianMs[key];
    const b = baseline?.medianMs[key];
    const both = p !== undefined && b !== undefined;
    const met = key === 'both' && both ? (p / b <= ESCALATION_TARGET_RATIO ? 'yes' : '**no**') : '';
    lines.push(`| ${label} | ${ms(p)} | ${ms(b)} | ${both ? ratio(p, b) : '—'} | ${key === 'both' ? `≤ ${ESCALATION_TARGET_RATIO}× baseline` : ''} | ${met} |`);
  }
  lines.push('', `runs: parley ${parley?.runs ?? 0}, baseline ${baseline?.runs ?? 0}`);
  return lines.join('\n');
}

/** Whether Parley met the target (null when one half did not run). */
export function targetMet(parley: TimingSummary | null, baseline: TimingSummary | null): boolean | null {
  if (!parley || !baseline) return null;
  return parley.medianMs.both / baseline.medianMs.both <= ESCALATION_TARGET_RATIO;
}

/** Where the time goes: every step's median time after the accept, per page, for each half. */
export function renderBreakdown(parley: TimingSummary | null, baseline: TimingSummary | null): string {
  const out: string[] = ['Where the time goes (median ms after the accept, first occurrence per run):'];
  for (const [name, summary] of [['parley', parley], ['bare WebRTC', baseline]] as const) {
    if (!summary) continue;
    for (const side of ['agent', 'visitor'] as const) {
      out.push('', `${name}, ${side === 'agent' ? 'accepting (agent)' : 'requesting (visitor)'} page:`);
      for (const step of summary.steps[side]) {
        out.push(`  ${ms(step.medianMs).padStart(6)}  ${step.step}${step.runs < summary.runs ? `  (${step.runs}/${summary.runs} runs)` : ''}`);
      }
    }
  }
  return out.join('\n');
}

/** One JSON line for the records. */
export function jsonRecord(parley: TimingSummary | null, baseline: TimingSummary | null, startedAt: Date): string {
  return JSON.stringify({
    bench: 'escalation',
    date: startedAt.toISOString(),
    parleyMedianMs: parley?.medianMs ?? null,
    baselineMedianMs: baseline?.medianMs ?? null,
    ratioBoth: parley && baseline ? Number((parley.medianMs.both / baseline.medianMs.both).toFixed(3)) : null,
    target: ESCALATION_TARGET_RATIO,
    met: targetMet(parley, baseline),
    runs: { parley: parley?.runs ?? 0, baseline: baseline?.runs ?? 0 },
  });
}
