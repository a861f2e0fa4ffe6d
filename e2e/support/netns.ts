/*
 * A network namespace of the test's own, joined to this machine by a veth pair, for putting one party's browser
 * behind a link the test controls: `cap` limits what that party sends (tc tbf on its side of the pair; this kernel
 * has no netem), `down`/`up` cut and give back the link, `moveParty` gives the party a new address. The host
 * side gets 10.<a>.<b>.1 and the namespace side .2; a server the test starts listens on the host side's address,
 * which both browsers reach. Chromium runs in the namespace through a wrapper script (`ip netns exec`), launched
 * by Playwright like any Chromium. Everything is removed by `remove()` (idempotent), and at the start a leftover
 * of the same name is removed first.
 *
 * Needs root and `ip`/`tc` (iproute2): the test fails loudly without them.
 */
import { execFileSync } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHROMIUM_PATH, makeTempDir, removeDir } from './harness.ts';

export interface NetworkNamespace {
  name: string;
  /** The host side's address: servers for this test listen here. */
  hostAddress: string;
  /** The namespace side's address: the party's browser. */
  partyAddress: string;
  /** A Chromium executable that runs in the namespace (pass as `executablePath`). */
  chromium: string;
  /** Caps what the party sends to `kbit` kbit/s (a token bucket; packets over its queue are dropped). */
  cap(kbit: number): void;
  /** Lifts the cap. */
  uncap(): void;
  /** Takes the party's link down (nothing passes either way) or brings it back up. */
  setLink(up: boolean): void;
  /**
   * Gives the party a new address (the next free host number of the subnet: .3, then .4, …) in place of its
   * current one, as a Wi-Fi switch does; connections bound to the old address are dead. Returns the new address.
   */
  moveParty(): string;
  remove(): Promise<void>;
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}

const quietly = (command: string, args: string[]) => {
  try {
    run(command, args);
  } catch {
    // already gone
  }
};

/** Makes namespace `parley<id>` with a veth pair; `id` 1..250 also picks the subnet 10.77.<id>.0/24. */
export async function createNetworkNamespace(id: number): Promise<NetworkNamespace> {
  if (!Number.isInteger(id) || id < 1 || id > 250) throw new Error(`a namespace id is 1..250, not ${id}`);
  const name = `parley${id}`;
  const hostIf = `pq${id}h`;
  const partyIf = `pq${id}p`;
  const hostAddress = `10.77.${id}.1`;
  const partyAddress = `10.77.${id}.2`;
  quietly('ip', ['netns', 'del', name]);
  quietly('ip', ['link', 'del', hostIf]);
  const dir = await makeTempDir('parley-netns-');
  const inside = (...args: string[]) => run('ip', ['netns', 'exec', name, ...args]);
  try {
    run('ip', ['netns', 'add', name]);
    run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', partyIf]);
    run('ip', ['link', 'set', partyIf, 'netns', name]);
    run('ip', ['addr', 'add', `${hostAddress}/24`, 'dev', hostIf]);
    run('ip', ['link', 'set', hostIf, 'up']);
    inside('ip', 'addr', 'add', `${partyAddress}/24`, 'dev', partyIf);
    inside('ip', 'link', 'set', partyIf, 'up');
    inside('ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    quietly('ip', ['netns', 'del', name]);
    quietly('ip', ['link', 'del', hostIf]);
    await removeDir(dir);
    throw new Error(`could not make a network namespace (needs root and iproute2): ${(err as Error).message}`);
  }
  const chromium = join(dir, 'chromium-in-namespace');
  await writeFile(chromium, `#!/bin/sh\nexec ip netns exec ${name} ${CHROMIUM_PATH} "$@"\n`);
  await chmod(chromium, 0o755);
  let capped = false;
  let removed = false;
  let partyHost = 2;
  const ns: NetworkNamespace = {
    name,
    hostAddress,
    partyAddress,
    chromium,
    cap(kbit) {
      // burst: a few packets; latency: how long a packet may queue before it is dropped.
      inside('tc', 'qdisc', capped ? 'change' : 'add', 'dev', partyIf, 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '4kb', 'latency', '300ms');
      capped = true;
    },
    uncap() {
      if (capped) inside('tc', 'qdisc', 'del', 'dev', partyIf, 'root');
      capped = false;
    },
    setLink(up) {
      inside('ip', 'link', 'set', partyIf, up ? 'up' : 'down');
    },
    moveParty() {
      const from = `10.77.${id}.${partyHost}`;
      partyHost += 1;
      const to = `10.77.${id}.${partyHost}`;
      inside('ip', 'addr', 'del', `${from}/24`, 'dev', partyIf);
      inside('ip', 'addr', 'add', `${to}/24`, 'dev', partyIf);
      ns.partyAddress = to;
      return to;
    },
    async remove() {
      if (removed) return;
      removed = true;
      quietly('ip', ['netns', 'del', name]);
      quietly('ip', ['link', 'del', hostIf]);
      await removeDir(dir);
    },
  };
  return ns;
}
