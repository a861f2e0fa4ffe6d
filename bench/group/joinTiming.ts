/*
 * Join time of one newcomer to a group call, from the first-frame times each page recorded: the newcomer
 * has joined for everyone once it decodes every other participant and every other participant decodes it.
 * Every time here is on the epoch clock of the page that saw it (`performance.timeOrigin +
 * performance.now()`), which all pages of one browser on one machine share.
 */
import { median } from '../escalation/timing.ts';

/** What the pages saw of one newcomer's join. */
export interface JoinObservation {
  /** Epoch ms at which the newcomer's page started joining (called `joinAsGuest` or `invite.accept`). */
  startedAt: number;
  /** In the newcomer's page: the first decoded frame from each other participant, by participant id. */
  newcomerFirstFrames: Record<string, number>;
  /** The others, each with the epoch ms of its first decoded frame from the newcomer (undefined: none yet). */
  others: Array<{ id: string; firstFrameOfNewcomer: number | undefined }>;
}

/** One newcomer's join time, in ms after it started joining. */
export interface JoinTiming {
  /** Until the newcomer decoded a frame from every other participant. */
  newcomerReceivesAllMs: number;
  /** Until every other participant decoded a frame from the newcomer. */
  allReceiveNewcomerMs: number;
  /** The later of the two: the newcomer is seen by everyone and sees everyone. */
  everyoneMs: number;
}

/** The participants who have not yet decoded each other's video, as "receiver ← sender" labels. */
export function missingPairs(seen: JoinObservation, newcomerId: string): string[] {
  const missing: string[] = [];
  for (const other of seen.others) {
    if (seen.newcomerFirstFrames[other.id] === undefined) missing.push(`${newcomerId} ← ${other.id}`);
    if (other.firstFrameOfNewcomer === undefined) missing.push(`${other.id} ← ${newcomerId}`);
  }
  return missing;
}

/**
 * The join time of one newcomer; throws when a pair has no first frame yet (see `missingPairs`) or when
 * there are no others.
 */
export function joinTiming(seen: JoinObservation, newcomerId: string): JoinTiming {
  if (seen.others.length === 0) throw new Error('a join needs at least one other participant');
  const missing = missingPairs(seen, newcomerId);
  if (missing.length > 0) throw new Error(`no decoded frame yet for ${missing.join(', ')}`);
  const newcomerReceivesAll = Math.max(...seen.others.map((o) => seen.newcomerFirstFrames[o.id]!));
  const allReceiveNewcomer = Math.max(...seen.others.map((o) => o.firstFrameOfNewcomer!));
  return {
    newcomerReceivesAllMs: newcomerReceivesAll - seen.startedAt,
    allReceiveNewcomerMs: allReceiveNewcomer - seen.startedAt,
    everyoneMs: Math.max(newcomerReceivesAll, allReceiveNewcomer) - seen.startedAt,
  };
}

/** Median and maximum over runs. */
export interface Spread {
  runs: number;
  median: number;
  max: number;
}

/** The spread of a list of figures (NaN for an empty list). */
export function spread(values: number[]): Spread {
  return { runs: values.length, median: median(values), max: values.length === 0 ? Number.NaN : Math.max(...values) };
}

/** The spreads of many joins of one kind (the 3rd or the 4th participant). */
export interface JoinSummary {
  everyone: Spread;
  newcomerReceivesAll: Spread;
  allReceiveNewcomer: Spread;
  /** Joins in which some pair never decoded a frame within the bound. */
  failed: number;
}

/** Summarises the joins of one kind. */
export function summarizeJoins(timings: JoinTiming[], failed: number): JoinSummary {
  return {
    everyone: spread(timings.map((t) => t.everyoneMs)),
    newcomerReceivesAll: spread(timings.map((t) => t.newcomerReceivesAllMs)),
    allReceiveNewcomer: spread(timings.map((t) => t.allReceiveNewcomerMs)),
    failed,
  };
}
