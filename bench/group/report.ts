/*
 * The output of bench:group: the join times and the held call's costs, mesh and Janus side by side
 * (markdown tables), a plain statement when a call carried no media at all, and one JSON line.
 */
import type { HoldResult } from './hold.ts';
import type { JoinSummary, Spread } from './joinTiming.ts';
import type { Topology } from './joins.ts';
import type { PhaseFigures, RssSpan } from './phaseMeter.ts';

/** The join runs of one topology, summarised. */
export interface JoinResults {
  third: JoinSummary;
  fourth: JoinSummary;
  failures: string[];
}

/** Everything a run of bench:group found. */
export interface GroupResults {
  startedAt: Date;
  node: string;
  cores: number;
  /** 1/5/15-minute load averages at the start and at the end. */
  loadAtStart: number[];
  loadAtEnd: number[];
  topologies: Topology[];
  runs: number;
  joins: Partial<Record<Topology, JoinResults>>;
  holds: Partial<Record<Topology, HoldResult>>;
}

const DASH = '—';
const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(0) : DASH);
const spreadText = (s: Spread | undefined): string => (s && s.runs > 0 ? `${ms(s.median)} / ${ms(s.max)}` : DASH);
/**
 * A fraction of a core as a percentage; small figures keep decimals so an idle server does not read 0 (one
 * 10 ms tick of CPU time in a 60 s span is 0.017%).
 */
const pct = (core: number | null | undefined): string => {
  if (core === null || core === undefined || !Number.isFinite(core)) return DASH;
  const p = core * 100;
  return `${p.toFixed(p < 1 ? 2 : p < 10 ? 1 : 0)}%`;
};
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0);
const rssText = (rss: RssSpan | null | undefined): string => (rss ? `${mib(rss.start)} / ${mib(rss.end)} / ${mib(rss.peak)}` : DASH);
const rate = (value: number): string => (Number.isFinite(value) ? value.toFixed(1) : DASH);
const spreadOfRates = (s: { min: number; median: number; max: number } | undefined): string => (s ? `${rate(s.min)} / ${rate(s.median)} / ${rate(s.max)}` : DASH);

/** The markdown table of join times. */
export function renderJoinTable(results: GroupResults): string {
  const topologies = results.topologies.filter((t) => results.joins[t]);
  if (topologies.length === 0) return '';
  const head = `| join: start → first decoded frame at everyone, ms (median / max) | ${topologies.join(' | ')} |`;
  const rule = `|---|${topologies.map(() => '---').join('|')}|`;
  const row = (label: string, pick: (j: JoinResults) => string) => `| ${label} | ${topologies.map((t) => pick(results.joins[t]!)).join(' | ')} |`;
  return [
    head,
    rule,
    row('3rd participant (guest: `joinAsGuest` called → everyone)', (j) => spreadText(j.third.everyone)),
    row('— the guest decodes both others', (j) => spreadText(j.third.newcomerReceivesAll)),
    row('— both others decode the guest', (j) => spreadText(j.third.allReceiveNewcomer)),
    row('4th participant (colleague: `invite.accept` called → everyone)', (j) => spreadText(j.fourth.everyone)),
    row('— the colleague decodes the three others', (j) => spreadText(j.fourth.newcomerReceivesAll)),
    row('— the three others decode the colleague', (j) => spreadText(j.fourth.allReceiveNewcomer)),
    row('joins measured (3rd / 4th); failed', (j) => `${j.third.everyone.runs} / ${j.fourth.everyone.runs}; ${j.third.failed + j.fourth.failed}`),
  ].join('\n');
}

/** The markdown table of the held call. */
export function renderHoldTable(results: GroupResults): string {
  const topologies = results.topologies.filter((t) => results.holds[t]);
  if (topologies.length === 0) return '';
  const holds = topologies.map((t) => results.holds[t]!);
  const seconds = (pick: (h: HoldResult) => PhaseFigures | null) => {
    const s = holds.map(pick).find((p) => p !== null)?.seconds;
    return s === undefined ? '' : `${s.toFixed(0)} s`;
  };
  const row = (label: string, pick: (h: HoldResult) => string) => `| ${label} | ${holds.map(pick).join(' | ')} |`;
  const phases = (pick: (p: PhaseFigures) => number | null) => (h: HoldResult) =>
    [h.idle, h.twoParty, h.sixParty].map((p) => (p ? pct(pick(p)) : DASH)).join(' / ');
  const r = (h: HoldResult) => h.rates;
  return [
    `| held call (idle ${seconds((h) => h.idle)}, 2-party ${seconds((h) => h.twoParty)}, 6-party ${seconds((h) => h.sixParty)}) | ${topologies.join(' | ')} |`,
    `|---|${topologies.map(() => '---').join('|')}|`,
    row('Parley server CPU, % of a core: idle / 2-party / 6-party', phases((p) => p.serverCpu)),
    row('Parley server RSS in the 6-party call, MiB: start / end / peak', (h) => rssText(h.sixParty?.serverRss)),
    row('Janus CPU, % of a core: idle / 2-party / 6-party', (h) => (h.topology === 'janus' ? phases((p) => p.janusCpu)(h) : 'no Janus')),
    row('Janus RSS in the 6-party call, MiB: start / end / peak', (h) => (h.topology === 'janus' ? rssText(h.sixParty?.janusRss) : 'no Janus')),
    row('Chromium CPU (all its processes), % of a core: idle / 2-party / 6-party', phases((p) => p.chromiumCpu)),
    row('Chromium CPU per participant in the 6-party call', (h) => (h.sixParty ? pct(h.sixParty.chromiumCpu / 6) : DASH)),
    row('decoded frames/s per (receiver, sender) pair, 2-party: min / median / max', (h) => spreadOfRates(h.twoPartyRates?.framesPerSecond)),
    row('decoded frames/s per (receiver, sender) pair, 6-party: min / median / max', (h) => spreadOfRates(r(h)?.framesPerSecond)),
    row('frames decoded per second by all six pages together, 6-party', (h) => (r(h) ? rate(r(h)!.totalFramesPerSecond) : DASH)),
    row('Chromium CPU per decoded frame, 6-party (ms)', (h) =>
      r(h) && h.sixParty && r(h)!.totalFramesPerSecond > 0 ? ((h.sixParty.chromiumCpu * 1000) / r(h)!.totalFramesPerSecond).toFixed(1) : DASH,
    ),
    row('audio packets/s per pair, 6-party: min / median / max', (h) => spreadOfRates(r(h)?.audioPacketsPerSecond)),
    row('pairs (of 30) with no video / no audio over the span', (h) => (r(h) ? `${r(h)!.silentVideo.length} / ${r(h)!.silentAudio.length}` : DASH)),
    row('media from everyone to everyone: start / end of the span', (h) => `${h.proofAtStart === 'ok' ? 'ok' : h.proofAtStart ? 'FAILED' : DASH} / ${h.proofAtEnd === 'ok' ? 'ok' : h.proofAtEnd ? 'FAILED' : DASH}`),
    row('machine, all processes, % of a core: idle / 2-party / 6-party', phases((p) => p.machineCpu)),
    row('— of which others (not this benchmark): idle / 2-party / 6-party', phases((p) => p.othersCpu)),
    row('1-min load average at the end of each span', (h) => [h.idle, h.twoParty, h.sixParty].map((p) => (p ? p.loadAverage.toFixed(1) : DASH)).join(' / ')),
  ].join('\n');
}

/** Plain statements about calls that did not carry media, or did not run to the end; empty when all is well. */
export function renderProblems(results: GroupResults): string[] {
  const out: string[] = [];
  for (const topology of results.topologies) {
    const joins = results.joins[topology];
    for (const failure of joins?.failures ?? []) out.push(`${topology} join: ${failure}`);
    const hold = results.holds[topology];
    if (!hold) continue;
    if (hold.failure) out.push(`${topology} held call stopped early: ${hold.failure}`);
    const rates = hold.rates;
    if (rates && rates.framesPerSecond.max === 0 && rates.audioPacketsPerSecond.max === 0) {
      out.push(`${topology}: NO MEDIA FLOWED in the 6-party call — not a single frame or audio packet over the span`);
    } else if (rates && (rates.silentVideo.length > 0 || rates.silentAudio.length > 0)) {
      out.push(`${topology}: some pairs received nothing over the 6-party span — video: ${rates.silentVideo.join(', ') || 'none'}; audio: ${rates.silentAudio.join(', ') || 'none'}`);
    }
    if (hold.proofAtStart && hold.proofAtStart !== 'ok') out.push(`${topology}: media proof at the start of the 6-party span: ${hold.proofAtStart}`);
    if (hold.proofAtEnd && hold.proofAtEnd !== 'ok') out.push(`${topology}: media proof at the end of the 6-party span: ${hold.proofAtEnd}`);
  }
  return out;
}

/** Each receiver's decoded frames/s from each sender in the 6-party call (the detail behind the table). */
export function renderPairs(hold: HoldResult): string {
  const receivers = [...new Set(hold.pairs.map((p) => p.receiver))];
  return receivers
    .map((receiver) => {
      const from = hold.pairs.filter((p) => p.receiver === receiver).map((p) => `${p.sender} ${rate(p.framesPerSecond)}`);
      return `  ${receiver.padEnd(12)} ← ${from.join(', ')}`;
    })
    .join('\n');
}

const round = (value: number | null | undefined, digits = 4): number | null =>
  value === null || value === undefined || !Number.isFinite(value) ? null : Number(value.toFixed(digits));

const phaseJson = (p: PhaseFigures | null) =>
  p && {
    seconds: round(p.seconds, 1),
    serverCpu: round(p.serverCpu),
    serverRssMiB: { start: round(p.serverRss.start / 2 ** 20, 1), end: round(p.serverRss.end / 2 ** 20, 1), peak: round(p.serverRss.peak / 2 ** 20, 1) },
    janusCpu: round(p.janusCpu),
    chromiumCpu: round(p.chromiumCpu),
    chromiumProcesses: p.chromiumProcesses,
    benchCpu: round(p.benchCpu),
    machineCpu: round(p.machineCpu),
    othersCpu: round(p.othersCpu),
    loadAverage: round(p.loadAverage, 2),
  };

/** One JSON line for the records. */
export function jsonRecord(results: GroupResults): string {
  const joins = Object.fromEntries(
    results.topologies.map((t) => {
      const j = results.joins[t];
      return [t, j ? { third: j.third, fourth: j.fourth } : null];
    }),
  );
  const holds = Object.fromEntries(
    results.topologies.map((t) => {
      const h = results.holds[t];
      return [
        t,
        h
          ? {
              idle: phaseJson(h.idle),
              twoParty: phaseJson(h.twoParty),
              sixParty: phaseJson(h.sixParty),
              framesPerSecond: h.rates?.framesPerSecond ?? null,
              totalFramesPerSecond: round(h.rates?.totalFramesPerSecond, 1),
              twoPartyFramesPerSecond: h.twoPartyRates?.framesPerSecond ?? null,
              audioPacketsPerSecond: h.rates?.audioPacketsPerSecond ?? null,
              silentPairs: h.rates ? { video: h.rates.silentVideo.length, audio: h.rates.silentAudio.length } : null,
              proof: { start: h.proofAtStart, end: h.proofAtEnd },
              failure: h.failure,
            }
          : null,
      ];
    }),
  );
  return JSON.stringify(
    {
      bench: 'group',
      date: results.startedAt.toISOString(),
      node: results.node,
      cores: results.cores,
      loadAverage: { start: results.loadAtStart.map((l) => round(l, 2)), end: results.loadAtEnd.map((l) => round(l, 2)) },
      runs: results.runs,
      joinsMs: joins,
      hold: holds,
    },
    (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value),
  );
}
