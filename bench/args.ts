import { parseArgs } from 'node:util';

/** Which servers a run measures. */
export type BenchTarget = 'parley' | 'relay';

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
}

const USAGE = `Usage: npm run bench:chat -- [options]

  --visitors N       visitor connections (500)
  --agents N         agent connections (20)
  --conversations N  conversations carrying load (defaults to --visitors; raises --visitors if larger)
  --seconds S        length of each measured phase (10)
  --rate R           offered messages/s of the latency phase (2000)
  --window N         in-flight messages per conversation in the throughput phase (2)
  --workers N        load generator threads (2)
  --idle-seconds S   idle time before the memory reading (3)
  --timeout S        hard limit on the whole run (300)
  --only parley|relay  measure one server only
  --profile DIR      write a CPU profile of the Parley server (node --cpu-prof) into DIR
  --help`;

/** Parses the command line; prints usage and exits on --help or a bad value. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      visitors: { type: 'string', default: '500' },
      agents: { type: 'string', default: '20' },
      conversations: { type: 'string' },
      seconds: { type: 'string', default: '10' },
      rate: { type: 'string', default: '2000' },
      window: { type: 'string', default: '2' },
      workers: { type: 'string', default: '2' },
      'idle-seconds': { type: 'string', default: '3' },
      timeout: { type: 'string', default: '300' },
      only: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const conversations = count('conversations', values.conversations ?? values.visitors);
  const visitors = Math.max(count('visitors', values.visitors), conversations);
  const agents = count('agents', values.agents);
  const only = values.only;
  if (only !== undefined && only !== 'parley' && only !== 'relay') fail(`--only must be parley or relay, not "${only}"`);
  return {
    visitors,
    agents,
    conversations,
    seconds: positive('seconds', values.seconds),
    rate: positive('rate', values.rate),
    window: count('window', values.window),
    workers: Math.min(count('workers', values.workers), agents),
    idleSeconds: nonNegative('idle-seconds', values['idle-seconds']),
    timeoutSeconds: positive('timeout', values.timeout),
    targets: only === undefined ? ['parley', 'relay'] : [only],
    profileDir: values.profile ?? null,
  };
}

function positive(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, not "${raw}"`);
  return n;
}

function count(name: string, raw: string | undefined): number {
  const n = positive(name, raw);
  if (!Number.isInteger(n)) fail(`--${name} must be a whole number, not "${raw}"`);
  return n;
}

function nonNegative(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} must be zero or more, not "${raw}"`);
  return n;
}

function fail(message: string): never {
  console.error(`bench:chat: ${message}\n\n${USAGE}`);
  process.exit(2);
}
