import { percentile } from './figures.ts';
import type { Released, Role, Sent } from './failoverParty.ts';

/*
 * The figures of the failover part, from what the two parties recorded: how long each step of healing took
 * over the kills, and whether every acknowledged message reached the other side once and in order.
 */

/** The clientId of message `index` of a role, and back. */
export function clientIdOf(role: Role, index: number): string {
  return `${role}-${index}`;
}

export function indexOf(clientId: string | undefined, role: Role): number | null {
  if (clientId === undefined || !clientId.startsWith(`${role}-`)) return null;
  const n = Number(clientId.slice(role.length + 1));
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/** One kill and how the deployment healed, in ms after the SIGKILL (NaN: not seen within the bound). */
export interface KillSample {
  /** Whose node was killed. */
  victim: Role;
  node: string;
  /** Kill → the victim's `ready` on the surviving node. */
  reconnectedMs: number;
  /** Kill → the first message the victim had not had acknowledged at the kill (or sent after) released by the other party. */
  deliveredMs: number;
  /** Kill → the first message the other party sent after the kill released by the victim. */
  receivedMs: number;
  /** Kill → the survivor's log says the node is dead. */
  noticedMs: number;
}

/** p50, p99 and max of some samples (nearest rank), and how many were not seen at all. */
export interface Spread {
  n: number;
  p50: number;
  p99: number;
  max: number;
  /** Samples that are NaN: the step did not happen within its bound. */
  missing: number;
}

export function spread(samples: readonly number[]): Spread {
  const seen = Float64Array.from(samples.filter((s) => !Number.isNaN(s))).sort();
  return {
    n: seen.length,
    p50: percentile(seen, 0.5),
    p99: percentile(seen, 0.99),
    max: seen.length > 0 ? (seen[seen.length - 1] ?? NaN) : NaN,
    missing: samples.length - seen.length,
  };
}

/** What one direction of the conversation delivered over the whole failover part. */
export interface DeliveryCheck {
  from: Role;
  sent: number;
  acknowledged: number;
  /** Acknowledged to the sender, never released by the other party. */
  lost: number;
  /** Released by the other party under more than one seq (stored twice), counted once per extra copy. */
  duplicated: number;
  /** Released after a message the sender sent later. */
  reordered: number;
  /** Sent more than once (after a reconnection or a failure). */
  resent: number;
  /** Of those, answered "duplicate": the store had it from a send whose answer was lost with its node. */
  storedBefore: number;
  /** Released by the other party only through `conversation.sync` (missed live, read from the store). */
  throughSync: number;
}

/** Checks what `sender` sent against what the other party released (in its release order, which is seq order). */
export function checkDelivery(from: Role, sent: readonly Sent[], releasedByOther: readonly Released[]): DeliveryCheck {
  const times = new Map<number, number>();
  let reordered = 0;
  let duplicated = 0;
  let throughSync = 0;
  let highest = -1;
  for (const { message, via } of releasedByOther) {
    const index = indexOf(message.clientId, from);
    if (index === null || message.from.role !== from) continue;
    const seen = times.get(index) ?? 0;
    times.set(index, seen + 1);
    if (seen > 0) {
      duplicated++;
      continue;
    }
    if (via === 'sync') throughSync++;
    if (index < highest) reordered++;
    highest = Math.max(highest, index);
  }
  let acknowledged = 0;
  let lost = 0;
  for (const s of sent) {
    if (s.ackedAt === null) continue;
    acknowledged++;
    if (!times.has(s.index)) lost++;
  }
  return {
    from,
    sent: sent.length,
    acknowledged,
    lost,
    duplicated,
    reordered,
    resent: sent.filter((s) => s.sends > 1).length,
    storedBefore: sent.filter((s) => s.duplicate).length,
    throughSync,
  };
}

/** What the survivors log when they find a node dead (NodeRegistry). */
export const DEAD_NODE_LINE = 'a node is dead: its connections are gone';

/**
 * The dead node a log line names and the time it was written (ms since the epoch, pino's `time`), when the
 * line is a survivor's notice of a dead node; null for any other line.
 */
export function deathNotice(line: string): { node: string; time: number } | null {
  if (!line.includes(DEAD_NODE_LINE)) return null;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof entry !== 'object' || entry === null) return null;
  const { msg, node, time } = entry as { msg?: unknown; node?: unknown; time?: unknown };
  if (msg !== DEAD_NODE_LINE || typeof node !== 'string' || typeof time !== 'number') return null;
  return { node, time };
}
