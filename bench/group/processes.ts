/*
 * The processes a group call costs, found in /proc: the Chromium this benchmark launched (every process of
 * it: browser, renderers, GPU, network and audio services) and the Janus it started. Only descendants of
 * this process count, so another Chromium or Janus on the machine (someone else's tests) is left out.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on every mainstream Linux; see bench/procStats.ts). */
const TICKS_PER_SECOND = 100;

/** One process as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** User plus system CPU time used so far by all its threads, in seconds. */
  cpuSeconds: number;
  /** Its command line, split at NUL bytes. */
  argv: string[];
}

/** The parent pid and the CPU seconds from the text of /proc/PID/stat. */
export function parseStat(text: string): { ppid: number; cpuSeconds: number } {
  // The command name (field 2) is in parentheses and may hold spaces and parentheses; fields after the last ')' are plain.
  const fields = text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
  // After the name: state (3), ppid (4), …, utime (14), stime (15) of the whole line.
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(ppid) || !Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable stat line: ${text.slice(0, 120)}`);
  return { ppid, cpuSeconds: (utime + stime) / TICKS_PER_SECOND };
}

/** Every process readable now; processes that end while being read are skipped. */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const { ppid, cpuSeconds } = parseStat(readFileSync(`/proc/${name}/stat`, 'utf8'));
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
      out.push({ pid: Number(name), ppid, cpuSeconds, argv });
    } catch {
      // Gone between readdir and read, or not ours to read.
    }
  }
  return out;
}

/** The processes descending from `root` (not `root` itself). */
export function descendantsOf(root: number, processes: ProcessInfo[]): ProcessInfo[] {
  const children = new Map<number, ProcessInfo[]>();
  for (const p of processes) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcessInfo[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** The program a process runs: the first word of its command line (Chromium rewrites its children's into one string). */
export function programOf(p: ProcessInfo): string {
  return (p.argv[0] ?? '').split(' ')[0] ?? '';
}

/** Whether a process is a Chromium one: its program is a `chromium` binary (the browser execs /usr/lib/chromium/chromium). */
export function isChromium(p: ProcessInfo): boolean {
  return /(^|\/)chromium$/.test(programOf(p));
}

/**
 * The Chromium processes below `root`: every process named chromium, and everything below those (a child
 * being spawned or ending may have no command line yet, but its CPU is the browser's all the same).
 */
export function chromiumBelow(root: number, processes: ProcessInfo[]): ProcessInfo[] {
  const below = descendantsOf(root, processes);
  const out = new Map<number, ProcessInfo>();
  for (const p of below.filter(isChromium)) {
    out.set(p.pid, p);
    for (const child of descendantsOf(p.pid, processes)) out.set(child.pid, child);
  }
  return [...out.values()];
}

/** Every Chromium process this benchmark launched. */
export function ourChromium(): ProcessInfo[] {
  return chromiumBelow(process.pid, listProcesses());
}

/** The Janus this benchmark started from `configDir` (its `-F` argument), or null. */
export function ourJanus(configDir: string): ProcessInfo | null {
  return descendantsOf(process.pid, listProcesses()).find((p) => /(^|\/)janus$/.test(programOf(p)) && p.argv.includes(configDir)) ?? null;
}

/**
 * CPU seconds a set of processes used between two readings: for each process of the end reading, its CPU
 * time minus the start reading's (a process that was not there at the start started within the span and
 * counts from zero). A process that ended within the span is missing from the end reading and its last
 * moments are lost; during a held call the set does not change.
 */
export function cpuBetween(start: ProcessInfo[], end: ProcessInfo[]): number {
  const before = new Map(start.map((p) => [p.pid, p.cpuSeconds]));
  return end.reduce((sum, p) => sum + Math.max(0, p.cpuSeconds - (before.get(p.pid) ?? 0)), 0);
}
