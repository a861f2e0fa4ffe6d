import { parseArgs } from 'node:util';
import { BenchUsageError, LOAD_FLAGS, nonNegative, parseCommandLine, positive, readLoadOptions, type LoadOptions } from './args.ts';

/*
 * The command line of `npm run bench:cluster`: the chat load of bench:chat on four set-ups side by side, and
 * the failover of two nodes over a number of kills.
 */

/**
 * The set-ups the load runs on, fastest first: the bare relay, one node on SQLite, one node on PostgreSQL
 * alone (as bench:chat has it), one node on PostgreSQL with Redis (a deployment of one), and two such nodes
 * with every conversation split (visitor on the first node, agent on the second). Each step adds one thing:
 * the store, then the bus, then the crossing between nodes.
 */
export type ClusterTarget = 'relay' | 'sqlite' | 'postgres' | 'single' | 'split';

export const CLUSTER_TARGETS: readonly ClusterTarget[] = ['relay', 'sqlite', 'postgres', 'single', 'split'];

/** Seconds of hard time limit per measured set-up, and per kill, when --timeout is not given. */
export const TIMEOUT_SECONDS_PER_TARGET = 150;
export const TIMEOUT_SECONDS_PER_KILL = 20;
/** Setting up and checking the failover part, beside its kills. */
const TIMEOUT_SECONDS_FAILOVER = 90;

export interface ClusterOptions extends LoadOptions {
  /** The set-ups the load runs on, in measuring order; empty with `--only failover`. */
  targets: ClusterTarget[];
  /** Kills of the failover part; 0 leaves it out. */
  kills: number;
  timeoutSeconds: number;
}

export const CLUSTER_USAGE = `Usage: npm run bench:cluster -- [options]

  --visitors N       visitor connections (1000)
  --agents N         agent connections (20)
  --conversations N  conversations carrying load (defaults to --visitors; raises --visitors if larger)
  --seconds S        length of each measured load phase (10)
  --rate R           offered messages/s of the latency phase (2000)
  --window N         in-flight messages per conversation in the throughput phase (2)
  --workers N        load generator threads (2)
  --targets LIST     set-ups for the load, comma-separated, of relay,sqlite,postgres,single,split (all):
                     the bare relay; one node on SQLite; on PostgreSQL; on PostgreSQL + Redis;
                     two PostgreSQL + Redis nodes, every visitor on the first and every agent on the second
  --kills N          SIGKILLs of the failover part (20; 0 leaves it out)
  --only load|failover  the load on the set-ups, or the failover part, alone
  --timeout S        hard limit on the whole run (150 per set-up + 20 per kill + 90)
  --help`;

/** Parses the command line; prints usage and exits on --help or a bad value. */
export function parseClusterArgs(argv: string[]): ClusterOptions {
  return parseCommandLine('bench:cluster', CLUSTER_USAGE, readClusterArgs, argv);
}

/**
 * The options a command line asks for, or 'help'.
 * @throws BenchUsageError naming the flag whose value cannot be used.
 */
export function readClusterArgs(argv: string[]): ClusterOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...LOAD_FLAGS,
      targets: { type: 'string', default: CLUSTER_TARGETS.join(',') },
      kills: { type: 'string', default: '20' },
      only: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const only = values.only;
  if (only !== undefined && only !== 'load' && only !== 'failover') throw new BenchUsageError(`--only must be load or failover, not "${only}"`);
  const targets = only === 'failover' ? [] : chooseTargets(values.targets);
  const kills = only === 'load' ? 0 : wholeOrZero('kills', values.kills);
  return {
    ...readLoadOptions(values),
    targets,
    kills,
    timeoutSeconds:
      values.timeout === undefined
        ? TIMEOUT_SECONDS_PER_TARGET * targets.length + (kills > 0 ? TIMEOUT_SECONDS_PER_KILL * kills + TIMEOUT_SECONDS_FAILOVER : 0)
        : positive('timeout', values.timeout),
  };
}

/** The set-ups `--targets` names, in measuring order whatever order it names them in. */
function chooseTargets(list: string): ClusterTarget[] {
  const named = list.split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of named) {
    if (!(CLUSTER_TARGETS as readonly string[]).includes(name)) {
      throw new BenchUsageError(`--targets: "${name}" is not one of ${CLUSTER_TARGETS.join(', ')}`);
    }
  }
  if (named.length === 0) throw new BenchUsageError('--targets names no set-up');
  return CLUSTER_TARGETS.filter((target) => named.includes(target));
}

function wholeOrZero(name: string, raw: string | undefined): number {
  const n = nonNegative(name, raw);
  if (!Number.isInteger(n)) throw new BenchUsageError(`--${name} must be a whole number, not "${raw}"`);
  return n;
}
