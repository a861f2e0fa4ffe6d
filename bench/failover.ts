import { performance } from 'node:perf_hooks';
import { createVisitor, loginAgent } from '../packages/server/test/support/http.ts';
import { Changes } from './changes.ts';
import { BenchNode, REDIS_URL, makeNodes } from './clusterNodes.ts';
import type { OrderCounts } from './fleet.ts';
import { FailoverParty, type Role } from './failoverParty.ts';
import { checkDelivery, deathNotice, spread, type DeliveryCheck, type KillSample, type Spread } from './failoverFigures.ts';
import { createBenchDatabase } from './postgres.ts';
import { createParleyAgents } from './servers.ts';

/*
 * The failover part of bench:cluster. Two nodes of one deployment (PostgreSQL + Redis), a visitor on the first
 * and an agent on the second in one conversation, each sending a message every SEND_INTERVAL_MS. For each kill,
 * the node holding one of them (the visitor's, then the agent's, in turn) is SIGKILLed, and the benchmark
 * times, from the kill: that party's `ready` on the surviving node; its first message not acknowledged at the
 * kill (or sent after) reaching the other party; the other party's first message sent after the kill reaching
 * it; and the survivor's log saying the node is dead. The node is then started again (same id, port and
 * database), the party moves back to its own node (cleanly, no party ever without a connection), and the next
 * kill takes the other party's node. At the end every message acknowledged to its sender must have reached the
 * other party once, in order.
 *
 * Heartbeats are shortened so that a dead node is noticed within seconds (see FAILOVER_NODE_ENV).
 */

/** How fast nodes beat and are declared dead in this part (the defaults are 2,000 and 6,000 ms). */
export const FAILOVER_NODE_ENV = { NODE_HEARTBEAT_MS: '500', NODE_DEAD_MS: '2000' } as const;
/** Each party sends a message this often, all along (queued while it reconnects). */
export const SEND_INTERVAL_MS = 20;
/** Bound on each timed step of one kill. */
const STEP_TIMEOUT_MS = 15_000;
/** Traffic before each kill, once both parties sit on their own nodes. */
const SETTLE_MS = 500;
/** Bound on the last acknowledgements, once sending stops. */
const DRAIN_TIMEOUT_MS = 15_000;

export interface FailoverFigures {
  kills: number;
  heartbeatMs: number;
  deadAfterMs: number;
  sendIntervalMs: number;
  samples: KillSample[];
  reconnected: Spread;
  delivered: Spread;
  received: Spread;
  noticed: Spread;
  /** Visitor → agent, then agent → visitor. */
  delivery: DeliveryCheck[];
  /** Live frames that repeated or reordered a seq on one connection, as each party heard them. */
  liveOrder: Record<Role, OrderCounts>;
  /** Messages still unacknowledged when the part ended (after draining). */
  unacknowledged: number;
  /** Error frames and failed syncs, as the parties saw them (the first few). */
  errors: string[];
}

/** Collects the survivors' notices of dead nodes from their logs. */
class DeathNotices {
  readonly #seen: Array<{ observer: string; node: string; time: number }> = [];
  readonly #changes = new Changes();

  /** Reads the log of the node's running process (call again after each start). */
  watch(node: BenchNode): void {
    let pending = '';
    node.process.onOutput((text) => {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const notice = deathNotice(line);
        if (!notice) continue;
        this.#seen.push({ observer: node.id, ...notice });
        this.#changes.notify();
      }
    });
  }

  /** The epoch time `observer` logged `node` dead, at or after `since`; null after `timeoutMs`. */
  waitFor(observer: string, node: string, since: number, timeoutMs: number): Promise<number | null> {
    return this.#changes.until(() => this.#seen.find((s) => s.observer === observer && s.node === node && s.time >= since)?.time ?? null, timeoutMs);
  }
}

/** Runs `kills` kills and returns the figures; the nodes, the database and the data are gone after. */
export async function runFailover(kills: number, log: (line: string) => void): Promise<FailoverFigures> {
  const database = await createBenchDatabase();
  const nodes: BenchNode[] = [];
  const parties: FailoverParty[] = [];
  let ticker: NodeJS.Timeout | null = null;
  try {
    log(`fresh PostgreSQL database ${database.name}; NODE_HEARTBEAT_MS=${FAILOVER_NODE_ENV.NODE_HEARTBEAT_MS}, NODE_DEAD_MS=${FAILOVER_NODE_ENV.NODE_DEAD_MS}`);
    nodes.push(...(await makeNodes('failover', 2, { databaseUrl: database.url, redisUrl: REDIS_URL, conversations: 10, env: { ...FAILOVER_NODE_ENV, LOG_LEVEL: 'info' } })));
    const [first, second] = nodes as [BenchNode, BenchNode];
    const [account] = await createParleyAgents({ dataDir: first.dataDir, databaseUrl: database.url }, 1);
    if (!account) throw new Error('no agent account was made');
    const notices = new DeathNotices();
    for (const node of nodes) {
      await node.start();
      notices.watch(node);
    }
    log(`${first.id} at ${first.url} (the visitor's), ${second.id} at ${second.url} (the agent's)`);

    const urls = nodes.map((node) => node.url);
    const visitor = new FailoverParty('visitor', (await createVisitor(first.url, 'Failover Visitor')).token, urls, first.url);
    const agent = new FailoverParty('agent', (await loginAgent(second.url, account.email, account.password)).token, urls, second.url);
    parties.push(visitor, agent);
    const sessionID = await startConversation(visitor, agent);
    ticker = setInterval(() => {
      visitor.sendNext();
      agent.sendNext();
    }, SEND_INTERVAL_MS);
    await sleep(1_000);

    const home = new Map<FailoverParty, BenchNode>([
      [visitor, first],
      [agent, second],
    ]);
    const samples: KillSample[] = [];
    for (let k = 0; k < kills; k++) {
      for (const [party, node] of home) await party.moveTo(node.url);
      await sleep(SETTLE_MS);
      failIfFatal(parties);
      const victim = k % 2 === 0 ? visitor : agent;
      const other = victim === visitor ? agent : visitor;
      const node = home.get(victim) as BenchNode;
      const survivor = node === first ? second : first;
      const victimMark = victim.mark();
      const otherMark = other.mark();
      const killedAt = performance.now();
      const killedAtEpoch = Date.now();
      await node.kill();
      const [connection, delivered, received, noticed] = await Promise.all([
        victim.connectedAfter(killedAt, STEP_TIMEOUT_MS),
        other.firstReleaseFrom(victim.role, victimMark.next, STEP_TIMEOUT_MS),
        victim.firstReleaseFrom(other.role, otherMark.next, STEP_TIMEOUT_MS),
        notices.waitFor(survivor.id, node.id, killedAtEpoch, STEP_TIMEOUT_MS),
      ]);
      failIfFatal(parties);
      if (connection && connection.url !== survivor.url) throw new Error(`${victim.role} reconnected to ${connection.url}, not to the surviving ${survivor.url}`);
      const sample: KillSample = {
        victim: victim.role,
        node: node.id,
        reconnectedMs: connection ? connection.at - killedAt : NaN,
        deliveredMs: delivered === null ? NaN : delivered - killedAt,
        receivedMs: received === null ? NaN : received - killedAt,
        noticedMs: noticed === null ? NaN : noticed - killedAtEpoch,
      };
      samples.push(sample);
      log(
        `kill ${k + 1}/${kills}: ${node.id} (the ${victim.role}'s): reconnected ${fmt(sample.reconnectedMs)}, its next message delivered ` +
          `${fmt(sample.deliveredMs)}, the other's received ${fmt(sample.receivedMs)}, noticed dead by ${survivor.id} ${fmt(sample.noticedMs)}`,
      );
      await node.start();
      notices.watch(node);
    }

    clearInterval(ticker);
    ticker = null;
    for (const party of parties) party.stopSending();
    for (const party of parties) await party.drain(DRAIN_TIMEOUT_MS);
    // A last read of what followed, as a client does after any doubt; what arrives only through it is counted.
    for (const party of parties) await party.sync();
    failIfFatal(parties);
    log(`${visitor.sent.length + agent.sent.length} messages sent in conversation ${sessionID}`);
    return {
      kills,
      heartbeatMs: Number(FAILOVER_NODE_ENV.NODE_HEARTBEAT_MS),
      deadAfterMs: Number(FAILOVER_NODE_ENV.NODE_DEAD_MS),
      sendIntervalMs: SEND_INTERVAL_MS,
      samples,
      reconnected: spread(samples.map((s) => s.reconnectedMs)),
      delivered: spread(samples.map((s) => s.deliveredMs)),
      received: spread(samples.map((s) => s.receivedMs)),
      noticed: spread(samples.map((s) => s.noticedMs)),
      delivery: [checkDelivery('visitor', visitor.sent, agent.released), checkDelivery('agent', agent.sent, visitor.released)],
      liveOrder: { visitor: visitor.liveOrder, agent: agent.liveOrder },
      unacknowledged: visitor.unacked + agent.unacked,
      errors: [...visitor.errors, ...agent.errors].slice(0, 10),
    };
  } finally {
    if (ticker) clearInterval(ticker);
    for (const party of parties) await party.close();
    for (const node of nodes) await node.remove();
    await database.drop();
  }
}

/** The visitor starts a chat on its node; the agent, online on the other, gets it; both open it. */
async function startConversation(visitor: FailoverParty, agent: FailoverParty): Promise<string> {
  await agent.connect();
  await agent.client.request('presence.set', { presence: 'online' });
  let assignedTo: (sessionID: string) => void = () => undefined;
  const assigned = new Promise<string>((resolve) => (assignedTo = resolve));
  agent.onFrame = (frame) => {
    if (frame.type === 'conversation.assigned') assignedTo(frame.conversation.sessionID);
  };
  await visitor.connect();
  const { conversation } = await visitor.client.request('chat.start', {});
  let timer: NodeJS.Timeout | undefined;
  const sessionID = await Promise.race([
    assigned,
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), STEP_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  agent.onFrame = () => undefined;
  if (sessionID === null) throw new Error(`the conversation was not assigned to the agent within ${STEP_TIMEOUT_MS} ms`);
  if (sessionID !== conversation.sessionID) throw new Error(`the agent was assigned ${sessionID}, not ${conversation.sessionID}`);
  await visitor.open(sessionID);
  await agent.open(sessionID);
  return sessionID;
}

function failIfFatal(parties: readonly FailoverParty[]): void {
  for (const party of parties) if (party.fatal) throw party.fatal;
}

function fmt(ms: number): string {
  return Number.isNaN(ms) ? 'not within the bound' : `${Math.round(ms)} ms`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
