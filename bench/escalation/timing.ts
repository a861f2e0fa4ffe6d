/*
 * Turning the two pages' timelines of one run into figures: time from the accept to the first decoded remote
 * frame on each side, and when each step (signaling frames, getUserMedia, peer connection, SDP, ICE, DTLS,
 * first frame) first happened after the accept — the material for a breakdown.
 */
import type { TimelineEntry } from '../../e2e/support/page/probe.ts';

/** The two sides of a call: the one that accepts and the one that asked. */
export type Side = 'agent' | 'visitor';

/** One measured run. */
export interface RunTiming {
  /** Accept → first decoded remote frame, per side, in ms. */
  firstFrameMs: Record<Side, number>;
  /** Step → ms after the accept, first occurrence per side. */
  steps: Record<Side, Record<string, number>>;
}

/** The name of the accept mark in the accepting page's timeline. */
export const ACCEPT_MARK = 'accept';
/** The probe's mark for the first decoded remote video frame. */
export const FIRST_FRAME_MARK = 'frame:first';

/** Median of a non-empty list. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The epoch time of the accept mark, or null when the run has none. */
export function acceptTime(timeline: TimelineEntry[]): number | null {
  return timeline.find((e) => e.what === ACCEPT_MARK)?.at ?? null;
}

/** Each step's first occurrence at or after `t0`, in ms after it. */
export function stepsAfter(timeline: TimelineEntry[], t0: number): Record<string, number> {
  const steps: Record<string, number> = {};
  for (const entry of timeline) {
    if (entry.at < t0 || entry.what === ACCEPT_MARK) continue;
    const name = stepName(entry.what);
    if (!(name in steps)) steps[name] = entry.at - t0;
  }
  return steps;
}

/** A step's name without what varies from run to run (call ids). */
export function stepName(what: string): string {
  return what.replace(/^(ws:(?:recv|send) call\.updated \S+) \S+$/, '$1');
}

/** Figures of one run from both timelines; throws when a side never decoded a frame. */
export function runTiming(agent: TimelineEntry[], visitor: TimelineEntry[]): RunTiming {
  const t0 = acceptTime(agent);
  if (t0 === null) throw new Error('the accepting page has no accept mark');
  const steps = { agent: stepsAfter(agent, t0), visitor: stepsAfter(visitor, t0) };
  const first = (side: Side): number => {
    const ms = steps[side][FIRST_FRAME_MARK];
    if (ms === undefined) throw new Error(`the ${side} page decoded no remote frame after the accept`);
    return ms;
  };
  return { firstFrameMs: { agent: first('agent'), visitor: first('visitor') }, steps };
}

/** Summary of many runs. */
export interface TimingSummary {
  runs: number;
  /** Median accept → first frame per side, and of the later of the two per run ("both sides"). */
  medianMs: Record<Side | 'both', number>;
  /** Per side: step → median ms after the accept, over the runs that had the step; sorted by time. */
  steps: Record<Side, Array<{ step: string; medianMs: number; runs: number }>>;
}

/** Medians over runs. */
export function summarize(runs: RunTiming[]): TimingSummary {
  const stepMedians = (side: Side) => {
    const byStep = new Map<string, number[]>();
    for (const run of runs) {
      for (const [step, ms] of Object.entries(run.steps[side])) byStep.set(step, [...(byStep.get(step) ?? []), ms]);
    }
    return [...byStep]
      .map(([step, values]) => ({ step, medianMs: median(values), runs: values.length }))
      .sort((a, b) => a.medianMs - b.medianMs);
  };
  return {
    runs: runs.length,
    medianMs: {
      agent: median(runs.map((r) => r.firstFrameMs.agent)),
      visitor: median(runs.map((r) => r.firstFrameMs.visitor)),
      both: median(runs.map((r) => Math.max(r.firstFrameMs.agent, r.firstFrameMs.visitor))),
    },
    steps: { agent: stepMedians('agent'), visitor: stepMedians('visitor') },
  };
}
