/*
 * One measured span of the held call: the Parley server's CPU and memory, Janus's CPU and memory (SFU case),
 * the CPU of every Chromium process of this benchmark, this benchmark process, and the whole machine —
 * so that what others ran on the machine meanwhile shows too. Nothing is done in the pages during the span;
 * the server's memory is read once a second for its peak.
 */
import { loadavg } from 'node:os';
import { cpuSeconds, machineCpuSeconds, residentBytes } from '../procStats.ts';
import { cpuBetween, ourChromium, type ProcessInfo } from './processes.ts';

/** Resident memory at the start and end of a span, and the highest reading in between, in bytes. */
export interface RssSpan {
  start: number;
  end: number;
  peak: number;
}

/** The figures of one span. CPU figures are fractions of one core (1.0 = one core busy all along). */
export interface PhaseFigures {
  seconds: number;
  serverCpu: number;
  serverRss: RssSpan;
  janusCpu: number | null;
  janusRss: RssSpan | null;
  chromiumCpu: number;
  chromiumProcesses: number;
  /** The benchmark's own Node process (playwright's side of the pages). */
  benchCpu: number;
  /** Every process on the machine. */
  machineCpu: number;
  /** The machine minus everything above: other people's work on the machine. */
  othersCpu: number;
  /** 1-minute load average at the end of the span. */
  loadAverage: number;
}

/** The processes a span watches. */
export interface Watched {
  serverPid: number;
  janusPid: number | null;
}

/** Measures a span of `seconds`, reading memory once a second. */
export async function measurePhase(watched: Watched, seconds: number): Promise<PhaseFigures> {
  const { serverPid, janusPid } = watched;
  const startedAt = performance.now();
  const chromium0: ProcessInfo[] = ourChromium();
  const server0 = cpuSeconds(serverPid);
  const janus0 = janusPid === null ? 0 : cpuSeconds(janusPid);
  const self0 = cpuSeconds(process.pid);
  const machine0 = machineCpuSeconds().busy;
  const serverRss = { start: residentBytes(serverPid), end: 0, peak: 0 };
  serverRss.peak = serverRss.start;
  const janusRss = janusPid === null ? null : { start: residentBytes(janusPid), end: 0, peak: 0 };
  if (janusRss) janusRss.peak = janusRss.start;

  const endAt = startedAt + seconds * 1000;
  while (performance.now() < endAt) {
    await new Promise((done) => setTimeout(done, Math.min(1000, Math.max(0, endAt - performance.now()))));
    serverRss.peak = Math.max(serverRss.peak, residentBytes(serverPid));
    if (janusRss && janusPid !== null) janusRss.peak = Math.max(janusRss.peak, residentBytes(janusPid));
  }

  const wall = (performance.now() - startedAt) / 1000;
  const chromium1 = ourChromium();
  const serverCpu = (cpuSeconds(serverPid) - server0) / wall;
  const janusCpu = janusPid === null ? null : (cpuSeconds(janusPid) - janus0) / wall;
  const chromiumCpu = cpuBetween(chromium0, chromium1) / wall;
  const benchCpu = (cpuSeconds(process.pid) - self0) / wall;
  const machineCpu = (machineCpuSeconds().busy - machine0) / wall;
  serverRss.end = residentBytes(serverPid);
  serverRss.peak = Math.max(serverRss.peak, serverRss.end);
  if (janusRss && janusPid !== null) {
    janusRss.end = residentBytes(janusPid);
    janusRss.peak = Math.max(janusRss.peak, janusRss.end);
  }
  return {
    seconds: wall,
    serverCpu,
    serverRss,
    janusCpu,
    janusRss,
    chromiumCpu,
    chromiumProcesses: chromium1.length,
    benchCpu,
    machineCpu,
    othersCpu: Math.max(0, machineCpu - serverCpu - (janusCpu ?? 0) - chromiumCpu - benchCpu),
    loadAverage: loadavg()[0] ?? Number.NaN,
  };
}
