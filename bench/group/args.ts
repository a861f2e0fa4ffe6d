/*
 * The command line of bench:group.
 */
import { parseArgs } from 'node:util';
import type { Topology } from './joins.ts';

/** Everything a run of bench:group is configured by. */
export interface GroupOptions {
  /** Join runs of each topology. */
  runs: number;
  /** Length of the idle span and of the 6-party span, in seconds. */
  seconds: number;
  /** Length of the 2-party span, in seconds. */
  twoPartySeconds: number;
  /** Hard limit on the whole run, in seconds. */
  timeoutSeconds: number;
  topologies: Topology[];
  /** Leave out the join runs or the held call. */
  joins: boolean;
  hold: boolean;
}

export const USAGE = `Usage: npm run bench:group -- [options]

  --runs N                join runs of each topology (3)
  --seconds S             idle span before the call and 6-party span (60)
  --two-party-seconds S   2-party span (half of --seconds)
  --only mesh|janus       one topology only
  --skip joins|hold       leave out the join runs or the held call
  --timeout S             hard limit on the whole run (900)
  --help`;

/** Parses the command line: the options, or a message saying what is wrong (or 'help'). */
export function parseGroupArgs(argv: string[]): GroupOptions | { problem: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string', default: '3' },
        seconds: { type: 'string', default: '60' },
        'two-party-seconds': { type: 'string' },
        only: { type: 'string' },
        skip: { type: 'string' },
        timeout: { type: 'string', default: '900' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    return { problem: (error as Error).message };
  }
  if (values.help) return { problem: 'help' };
  const runs = Number(values.runs);
  const seconds = Number(values.seconds);
  const twoPartySeconds = values['two-party-seconds'] === undefined ? seconds / 2 : Number(values['two-party-seconds']);
  const timeoutSeconds = Number(values.timeout);
  if (!Number.isInteger(runs) || runs < 1) return { problem: `--runs must be a whole number of at least 1, not "${values.runs}"` };
  if (!(seconds > 0)) return { problem: `--seconds must be a positive number, not "${values.seconds}"` };
  if (!(twoPartySeconds > 0)) return { problem: `--two-party-seconds must be a positive number, not "${values['two-party-seconds']}"` };
  if (!(timeoutSeconds > 0)) return { problem: `--timeout must be a positive number, not "${values.timeout}"` };
  if (values.only !== undefined && values.only !== 'mesh' && values.only !== 'janus') return { problem: `--only must be mesh or janus, not "${values.only}"` };
  if (values.skip !== undefined && values.skip !== 'joins' && values.skip !== 'hold') return { problem: `--skip must be joins or hold, not "${values.skip}"` };
  return {
    runs,
    seconds,
    twoPartySeconds,
    timeoutSeconds,
    topologies: values.only === undefined ? ['mesh', 'janus'] : [values.only],
    joins: values.skip !== 'joins',
    hold: values.skip !== 'hold',
  };
}
