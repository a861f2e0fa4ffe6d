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
  /** The PostgreSQL backends serving the benchmark's database (0 when the server does not use one). */
  database: number;
  /**
   * PostgreSQL's background processes (WAL writer, checkpointer, background writer). They serve every
   * database of the cluster, so other people's work on it is included; 0 without PostgreSQL.
   */
  databaseShared: number;
  /** All processes on the machine, as a fraction of one core (2.0 = both cores of a 2-core machine busy). */
  machine: number;
  /** Everything else on the machine (other processes, kernel work not charged to a process). */
  others: number;
  /** The further processes the meter was asked to follow (another node, Redis), by name; not counted in `others`. */
  also?: Record<string, number>;
}

/** Lists the pids of a set of processes that may come and go during a phase (PostgreSQL backends). */
export interface ProcessSet {
  /** Processes serving the benchmark alone. */
  own(): Promise<number[]>;
  /** Processes shared with other work. */
  shared(): Promise<number[]>;
}

/** How often a process set is listed again during a phase, to see backends that start or end in it. */
const PROCESS_SET_POLL_MS = 500;

/**
 * Starts measuring CPU shares; call the returned function at the end of the phase. `also` names further
 * processes to follow (pid by name), reported in `also`.
 */
export async function startCpuMeter(serverPid: number, database?: ProcessSet, also: Record<string, number> = {}): Promise<() => Promise<CpuShare>> {
  const own = database ? await ProcessSetMeter.start(() => database.own()) : null;
  const shared = database ? await ProcessSetMeter.start(() => database.shared()) : null;
  const startedAt = process.hrtime.bigint();
  const server0 = cpuSeconds(serverPid);
  const self0 = cpuSeconds(process.pid);
  const also0 = Object.entries(also).map(([name, pid]) => ({ name, pid, seconds: cpuSeconds(pid) }));
  const machine0 = machineCpuSeconds();
  return async () => {
    const wall = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const machine1 = machineCpuSeconds();
    const server = (cpuSeconds(serverPid) - server0) / wall;
    const loadGenerator = (cpuSeconds(process.pid) - self0) / wall;
    const followed = Object.fromEntries(also0.map(({ name, pid, seconds }) => [name, (cpuSeconds(pid) - seconds) / wall]));
    const databaseCpu = ((await own?.stop()) ?? 0) / wall;
    const databaseShared = ((await shared?.stop()) ?? 0) / wall;
    const machine = (machine1.busy - machine0.busy) / wall;
    const followedTotal = Object.values(followed).reduce((a, b) => a + b, 0);
    const others = Math.max(0, machine - server - loadGenerator - databaseCpu - databaseShared - followedTotal);
    return { server, loadGenerator, database: databaseCpu, databaseShared, machine, others, ...(also0.length > 0 ? { also: followed } : {}) };
  };
}

/**
 * The CPU time a changing set of processes used between two moments. Each process counts from its first
 * reading: at the start for the processes already there, from zero for those that appeared later (born
 * during the phase, all their time is the phase's). A process that ended keeps its last reading.
 */
export class CpuLedger {
  readonly #first = new Map<number, number>();
  readonly #last = new Map<number, number>();
  #started = false;

  /** Records readings (pid → CPU seconds so far); the first call is the start of the phase. */
  observe(readings: ReadonlyMap<number, number>): void {
    for (const [pid, seconds] of readings) {
      if (!this.#first.has(pid)) this.#first.set(pid, this.#started ? 0 : seconds);
      this.#last.set(pid, seconds);
    }
    this.#started = true;
  }

  /** CPU seconds used since the first observation, summed over every process seen. */
  used(): number {
    let total = 0;
    for (const [pid, last] of this.#last) total += last - (this.#first.get(pid) ?? 0);
    return total;
  }
}

/** Polls a process set during a phase and adds up its CPU time (see CpuLedger). */
class ProcessSetMeter {
  readonly #ledger = new CpuLedger();
  readonly #list: () => Promise<number[]>;
  readonly #timer: NodeJS.Timeout;
  #polling: Promise<void> = Promise.resolve();
  /** The first failed poll during the phase, reported by stop. */
  #failure: unknown = null;

  private constructor(list: () => Promise<number[]>) {
    this.#list = list;
    this.#timer = setInterval(() => {
      this.#polling = this.#polling.then(() => this.#poll()).catch((error: unknown) => {
        this.#failure ??= error;
      });
    }, PROCESS_SET_POLL_MS);
    // A phase that fails leaves its meter running; that must not keep the process alive.
    this.#timer.unref();
  }

  static async start(list: () => Promise<number[]>): Promise<ProcessSetMeter> {
    const meter = new ProcessSetMeter(list);
    await meter.#poll();
    return meter;
  }

  /** Takes a last reading; resolves with the CPU seconds used since the start. */
  async stop(): Promise<number> {
    clearInterval(this.#timer);
    await this.#polling;
    if (this.#failure !== null) throw this.#failure;
    await this.#poll();
    return this.#ledger.used();
  }

  async #poll(): Promise<void> {
    const readings = new Map<number, number>();
    for (const pid of await this.#list()) {
      const seconds = cpuSecondsIfAlive(pid);
      if (seconds !== null) readings.set(pid, seconds);
    }
    this.#ledger.observe(readings);
  }
}

/** Like cpuSeconds, or null when the process has ended. */
function cpuSecondsIfAlive(pid: number): number | null {
  try {
    return cpuSeconds(pid);
  } catch {
    return null;
  }
}

/** How busy the machine is over `ms` before the run starts, as a fraction of one core. */
export async function machineLoad(ms: number): Promise<number> {
  const before = machineCpuSeconds();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (machineCpuSeconds().busy - before.busy) / (ms / 1000);
}
