import { parseArgs } from 'node:util';

/** Which servers a run measures: Parley on each store, and the bare relay. */
export type BenchTarget = 'sqlite' | 'postgres' | 'relay';

/** Every target in the order a run measures them. */
export const ALL_TARGETS: readonly BenchTarget[] = ['sqlite', 'postgres', 'relay'];

/** The protocol a target speaks: Parley's on either store, or the relay's. */
export function protocolOf(target: BenchTarget): 'parley' | 'relay' {
  return target === 'relay' ? 'relay' : 'parley';
}

/** Seconds of hard time limit per measured server when --timeout is not given. */
export const TIMEOUT_SECONDS_PER_TARGET = 150;

/** Everything a run of the chat benchmark is configured by. */
export interface BenchOptions {
  /** Visitor connections (each may hold one conversation). */
  visitors: number;
  /** Agent connections, one per agent. */
  agents: number;
  /** Conversations carrying load: this many visitors start a chat (at most `visitors`). */
  conversations: number;
  /** Length of each measured phase, in seconds. */
  seconds: number;
  /** Offered rate of the latency phase, messages per second over all conversations. */
  rate: number;
  /** In-flight messages per conversation in the throughput phase. */
  window: number;
  /** Load generator threads. */
  workers: number;
  /** Seconds the connections idle before the memory reading. */
  idleSeconds: number;
  /** Hard limit on the whole run, in seconds; on expiry every child is killed. */
  timeoutSeconds: number;
  targets: BenchTarget[];
  /** Write a CPU profile of the Parley server into this directory. */
  profileDir: string | null;
  /** Node flags every measured server (Parley and the relay alike) is started with, e.g. `--max-semi-space-size=1`. */
  nodeFlags: string[];
}

const USAGE = `Usage: npm run bench:chat -- [options]

  --visitors N       visitor connections (1000: the reference load of the latency target)
  --agents N         agent connections (20)
  --conversations N  conversations carrying load (defaults to --visitors; raises --visitors if larger)
  --seconds S        length of each measured phase (10)
  --rate R           offered messages/s of the latency phase (2000)
  --window N         in-flight messages per conversation in the throughput phase (2)
  --workers N        load generator threads (2)
  --idle-seconds S   idle time before the memory reading (3)
  --timeout S        hard limit on the whole run (150 per measured server)
  --store sqlite|postgres|all
                     Parley's store: SQLite, PostgreSQL, or both side by side (all)
  --only parley|relay  measure Parley (on the chosen stores) or the relay only
  --profile DIR      write a CPU profile of the Parley server (node --cpu-prof) into DIR
  --node-flag=FLAG   start every measured server, Parley and the relay, with this Node flag
                     (repeatable), e.g. --node-flag=--max-semi-space-size=1
  --help`;

/** A command line the benchmark cannot run with. */
export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

/** Parses the command line; prints usage and exits on --help or a bad value. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  return parseCommandLine('bench:chat', USAGE, readBenchArgs, argv);
}

/** Reads a benchmark's command line with `read`; prints `usage` and exits on --help (0) or a bad value (2). */
export function parseCommandLine<T>(bench: string, usage: string, read: (argv: string[]) => T | 'help', argv: string[]): T {
  let options: T | 'help';
  try {
    options = read(argv);
  } catch (error) {
    console.error(`${bench}: ${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    process.exit(2);
  }
  if (options === 'help') {
    console.log(usage);
    process.exit(0);
  }
  return options;
}

/** The flags that shape the chat load, with their defaults (bench:chat's and bench:cluster's). */
export const LOAD_FLAGS = {
  visitors: { type: 'string', default: '1000' },
  agents: { type: 'string', default: '20' },
  conversations: { type: 'string' },
  seconds: { type: 'string', default: '10' },
  rate: { type: 'string', default: '2000' },
  window: { type: 'string', default: '2' },
  workers: { type: 'string', default: '2' },
} as const;

/** The shape of the chat load: connections, conversations, and the two phases. */
export type LoadOptions = Pick<BenchOptions, 'visitors' | 'agents' | 'conversations' | 'seconds' | 'rate' | 'window' | 'workers'>;

/**
 * The load the LOAD_FLAGS values ask for: --conversations defaults to --visitors and raises it when larger,
 * and there are never more load threads than agents.
 * @throws BenchUsageError naming the flag whose value cannot be used.
 */
export function readLoadOptions(values: { [K in keyof typeof LOAD_FLAGS]?: string | undefined }): LoadOptions {
  const conversations = count('conversations', values.conversations ?? values.visitors);
  const agents = count('agents', values.agents);
  return {
    visitors: Math.max(count('visitors', values.visitors), conversations),
    agents,
    conversations,
    seconds: positive('seconds', values.seconds),
    rate: positive('rate', values.rate),
    window: count('window', values.window),
    workers: Math.min(count('workers', values.workers), agents),
  };
}

/**
 * The options a command line asks for, or 'help'.
 *
 * @throws BenchUsageError naming the flag whose value cannot be used.
 */
export function readBenchArgs(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...LOAD_FLAGS,
      'idle-seconds': { type: 'string', default: '3' },
      timeout: { type: 'string' },
      store: { type: 'string', default: 'all' },
      only: { type: 'string' },
      profile: { type: 'string' },
      'node-flag': { type: 'string', multiple: true },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const targets = chooseTargets(values.store, values.only);
  return {
    ...readLoadOptions(values),
    idleSeconds: nonNegative('idle-seconds', values['idle-seconds']),
    timeoutSeconds: values.timeout === undefined ? TIMEOUT_SECONDS_PER_TARGET * targets.length : positive('timeout', values.timeout),
    targets,
    profileDir: values.profile ?? null,
    nodeFlags: nodeFlags(values['node-flag'] ?? []),
  };
}

/** The targets of `--store` and `--only`, in measuring order. */
function chooseTargets(store: string, only: string | undefined): BenchTarget[] {
  if (store !== 'sqlite' && store !== 'postgres' && store !== 'all') fail(`--store must be sqlite, postgres or all, not "${store}"`);
  if (only !== undefined && only !== 'parley' && only !== 'relay') fail(`--only must be parley or relay, not "${only}"`);
  return ALL_TARGETS.filter((target) => {
    if (target === 'relay') return only !== 'parley';
    return only !== 'relay' && (store === 'all' || store === target);
  });
}

/** The --node-flag values, each a single flag starting with `--`. @throws BenchUsageError naming the bad one. */
function nodeFlags(flags: string[]): string[] {
  for (const flag of flags) if (!/^--[a-z][\w-]*(=\S+)?$/.test(flag)) fail(`--node-flag must be one Node flag such as --max-semi-space-size=1, not "${flag}"`);
  return flags;
}

/** A flag's value as a number above zero. @throws BenchUsageError naming the flag. */
export function positive(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, not "${raw}"`);
  return n;
}

/** A flag's value as a whole number above zero. @throws BenchUsageError naming the flag. */
function count(name: string, raw: string | undefined): number {
  const n = positive(name, raw);
  if (!Number.isInteger(n)) fail(`--${name} must be a whole number, not "${raw}"`);
  return n;
}

/** A flag's value as a number, zero or more. @throws BenchUsageError naming the flag. */
export function nonNegative(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} must be zero or more, not "${raw}"`);
  return n;
}

function fail(message: string): never {
  throw new BenchUsageError(message);
}
