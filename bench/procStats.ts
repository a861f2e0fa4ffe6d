import { readFileSync } from 'node:fs';

/*
 * Readers for Linux /proc: the resident memory and CPU time of one process, and the busy time of the
 * whole machine. The benchmark runs its servers as child processes so that these figures are theirs alone.
 */

/** Clock ticks per second used by /proc/PID/stat (USER_HZ; 100 on every mainstream Linux). */
const TICKS_PER_SECOND = 100;

/** Resident set size of a process in bytes, from `VmRSS` in /proc/PID/status. */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match?.[1]) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** User plus system CPU time a process has used so far, in seconds (all its threads). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces; fields after it are plain.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, so 12 and 13 after the name.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / TICKS_PER_SECOND;
}

/** Busy and total CPU time of the whole machine so far, in seconds summed over all cores. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0); // idle + iowait
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/** CPU use of the processes that matter over one measured phase, as fractions of one core. */
export interface CpuShare {
  /** The server child (Parley or the relay). */
  server: number;
  /** The benchmark process itself: the load generator's worker threads plus the coordinator. */
  loadGenerator: number;
  /** All processes on the machine, as a fraction of one core (2.0 = both cores of a 2-core machine busy). */
  machine: number;
  /** Everything else on the machine (other processes, kernel work not charged to a process). */
  others: number;
}

/** Starts measuring CPU shares; call the returned function at the end of the phase. */
export function startCpuMeter(serverPid: number): () => CpuShare {
  const startedAt = process.hrtime.bigint();
  const server0 = cpuSeconds(serverPid);
  const self0 = cpuSeconds(process.pid);
  const machine0 = machineCpuSeconds();
  return () => {
    const wall = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const machine1 = machineCpuSeconds();
    const server = (cpuSeconds(serverPid) - server0) / wall;
    const loadGenerator = (cpuSeconds(process.pid) - self0) / wall;
    const machine = (machine1.busy - machine0.busy) / wall;
    return { server, loadGenerator, machine, others: Math.max(0, machine - server - loadGenerator) };
  };
}

/** How busy the machine is over `ms` before the run starts, as a fraction of one core. */
export async function machineLoad(ms: number): Promise<number> {
  const before = machineCpuSeconds();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (machineCpuSeconds().busy - before.busy) / (ms / 1000);
}
