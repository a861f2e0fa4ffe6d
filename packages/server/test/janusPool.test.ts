import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { MediaAccess } from '@parley/protocol';
import pino from 'pino';
import { startJanus, videoroomRequest, type JanusServer } from '../../../e2e/support/janus.ts';
import { waitFor } from '../../../e2e/support/harness.ts';
import { JanusTopology, type RoomStore } from '../src/calls/media/JanusTopology.ts';
import { KeyedSerial } from '../src/events/KeyedSerial.ts';

/*
 * The Janus pool against two real Janus processes: rooms spread over the instances by load, every instance
 * health-checked, and — when one is killed (SIGKILL) — its rooms made on the other with the same PIN and
 * tokens, stored, moved by one node of two sharing the store, the participants' access renewed.
 */

type SfuAccess = Extract<MediaAccess, { kind: 'sfu' }>;
const sfu = (media: MediaAccess): SfuAccess => {
  assert.equal(media.kind, 'sfu');
  return media as SfuAccess;
};

const silent = pino({ level: 'silent' });
const newCallId = () => `call-${randomUUID()}`;
/** Quick checks, so that a dead instance is noticed soon in a test. */
const healthCheck = { intervalMs: 200, timeoutMs: 1000, downAfter: 2 };

const poolOf = (...janus: JanusServer[]) => ({
  instances: janus.map((j, i) => ({ url: j.url, publicUrl: `ws://janus-${i}.example.test:8188` })),
  apiSecret: null,
  maxParticipants: 6,
});

/** The rooms of the store shared by "nodes" (topologies) of one deployment, with a lock as PostgreSQL's. */
function sharedRooms(): RoomStore & { stored: Map<string, unknown> } {
  const stored = new Map<string, unknown>();
  const locks = new KeyedSerial();
  return {
    stored,
    saveCallMedia: async (callId, data) => void stored.set(callId, structuredClone(data)),
    getCallMedia: async (callId) => structuredClone(stored.get(callId) ?? null),
    deleteCallMedia: async (callId) => void stored.delete(callId),
    withLock: (name, fn) => locks.run(name, fn),
  };
}

const exists = async (janus: JanusServer, room: number) => (await videoroomRequest(janus.url, { request: 'exists', room })).exists === true;
/** Joins as a publisher the way the SDK does, on a session of its own: Janus's answer (`joined`, or an error code). */
const joinAs = (janus: JanusServer, access: SfuAccess) =>
  videoroomRequest(janus.url, { request: 'join', ptype: 'publisher', room: access.room, pin: access.pin, token: access.token, display: access.display });

describe('a Janus pool of two real Janus processes', () => {
  const started: JanusServer[] = [];
  const topologies: JanusTopology[] = [];
  const topology = (janus: ReturnType<typeof poolOf>, rooms?: RoomStore) => {
    const t = new JanusTopology({ janus, log: silent, healthCheck, ...(rooms ? { rooms } : {}) });
    topologies.push(t);
    return t;
  };
  const janus = async () => {
    const j = await startJanus();
    started.push(j);
    return j;
  };
  let a: JanusServer;
  let b: JanusServer;

  before(async () => {
    [a, b] = await Promise.all([janus(), janus()]);
  });
  after(async () => {
    await Promise.allSettled(topologies.map((t) => t.shutdown()));
    await Promise.allSettled(started.map((j) => j.stop()));
  });

  it('places each new room on the least-loaded instance, and checks both', async () => {
    const pool = topology(poolOf(a!, b!));
    const calls = Array.from({ length: 4 }, newCallId);
    await Promise.all(calls.map((id) => pool.open(id)));
    const accesses = await Promise.all(calls.map(async (id) => sfu(await pool.access(id, 'visitor'))));
    const onA = accesses.filter((x) => x.url === 'ws://janus-0.example.test:8188');
    const onB = accesses.filter((x) => x.url === 'ws://janus-1.example.test:8188');
    assert.equal(onA.length, 2, `two rooms on each: ${JSON.stringify(accesses.map((x) => x.url))}`);
    assert.equal(onB.length, 2);
    for (const x of onA) assert.equal(await exists(a!, x.room), true, 'the room is where its access says');
    for (const x of onB) assert.equal(await exists(b!, x.room), true, 'the room is where its access says');
    assert.equal(await exists(b!, onA[0]!.room), false, 'and only there');
    await waitFor(() => pool.instances.every((i) => i.health === 'up'), { what: 'both instances checked healthy' });

    // Two calls on A end: the next two rooms go to A, now the less loaded.
    for (const x of onA) await pool.close(calls[accesses.indexOf(x)]!);
    assert.deepEqual(
      pool.instances.map((i) => i.rooms),
      [0, 2],
    );
    const next = [newCallId(), newCallId()];
    for (const id of next) await pool.open(id);
    const placed = await Promise.all(next.map(async (id) => sfu(await pool.access(id, 'agent')).url));
    assert.deepEqual(placed, ['ws://janus-0.example.test:8188', 'ws://janus-0.example.test:8188']);
    for (const id of [...calls, ...next]) await pool.close(id);
  });

  it('an instance killed mid-call: its room is made on the other, same PIN and tokens, moved once for two nodes, and ends normally', async () => {
    const [c, d] = await Promise.all([janus(), janus()]);
    const rooms = sharedRooms();
    const config = poolOf(c, d);
    const node1 = topology(config, rooms);
    const node2 = topology(config, rooms);
    const moved: Array<{ node: number; callId: string; moves: number }> = [];
    node1.onMoved((callId, moves) => moved.push({ node: 1, callId, moves }));
    node2.onMoved((callId, moves) => moved.push({ node: 2, callId, moves }));

    const callId = newCallId();
    const quiet = newCallId(); // a call on the instance that survives: left alone
    await node1.open(callId);
    const visitor = sfu(await node1.access(callId, 'visitor'));
    const agent = sfu(await node2.access(callId, 'agent')); // the other node admits to the same room
    assert.equal(agent.room, visitor.room);
    assert.equal(agent.url, visitor.url);
    const [victim, survivor] = visitor.url === 'ws://janus-0.example.test:8188' ? [c, d] : [d, c];
    const survivorUrl = visitor.url === 'ws://janus-0.example.test:8188' ? 'ws://janus-1.example.test:8188' : 'ws://janus-0.example.test:8188';
    await node1.open(quiet);
    const quietAccess = sfu(await node1.access(quiet, 'visitor'));
    assert.equal(quietAccess.url, survivorUrl, 'the second call went to the other, less-loaded instance');
    assert.equal((await joinAs(victim, visitor)).videoroom, 'joined', 'the visitor is in the room on the instance about to die');
    const before = rooms.stored.get(callId) as { instance: string; tokens: Record<string, string[]> };
    assert.equal(before.instance, victim.url, 'the stored room names its instance');

    await victim.kill('SIGKILL');
    await waitFor(() => moved.filter((m) => m.callId === callId).length === 2, { timeoutMs: 20_000, what: 'both nodes to hear that the room moved' });
    assert.deepEqual(
      moved.map((m) => [m.callId, m.moves]),
      [
        [callId, 1],
        [callId, 1],
      ],
      'one move of that call, heard on both nodes; the call on the survivor did not move',
    );
    const after = rooms.stored.get(callId) as { id: number; pin: string; instance: string; moves: number; tokens: Record<string, string[]> };
    assert.equal(after.instance, survivor.url, 'stored: the room is on the survivor now');
    assert.equal(after.moves, 1);
    assert.equal(after.pin, visitor.pin, 'same PIN');
    assert.deepEqual(after.tokens, before.tokens, 'same tokens');
    assert.equal(await exists(survivor, after.id), true, 'the survivor has the room');
    for (const node of [node1, node2]) {
      assert.deepEqual(
        node.instances.map((i) => i.health),
        config.instances.map((i) => (i.url === victim.url ? 'down' : 'up')),
      );
    }

    // The tokens handed out before the move admit on the survivor: a participant re-joins there as it is.
    const visitorThere = { ...visitor, room: after.id };
    assert.equal((await joinAs(survivor, visitorThere)).videoroom, 'joined', 'the old visitor token and PIN admit on the survivor');
    // A new join (either node) hands out the survivor's public URL and the room there.
    const again = sfu(await node2.access(callId, 'agent'));
    assert.deepEqual([again.url, again.room, again.pin], [survivorUrl, after.id, visitor.pin]);
    assert.equal((await joinAs(survivor, again)).videoroom, 'joined');
    const newcomer = sfu(await node1.access(callId, 'guest'));
    assert.equal(newcomer.url, survivorUrl, 'the node that did not move it knows where it is too');

    // Removal and the end work as before, from either node.
    await node1.revoke(callId, 'visitor');
    const refused = await joinAs(survivor, visitorThere);
    assert.equal(refused.error_code, 433, `the removed visitor's token no longer admits: ${JSON.stringify(refused)}`);
    await node2.close(callId);
    assert.equal(await exists(survivor, after.id), false, 'the ended call’s room is gone');
    assert.equal(rooms.stored.has(callId), false, 'and forgotten');
    await node1.close(callId); // the other node's close finds nothing: never throws
    assert.equal(await exists(survivor, quietAccess.room), true, 'the other call kept its room');
    await node1.close(quiet);
  });

  it('with no instance left, a call of two goes on peer-to-peer; a bigger call and a new one are refused, naming every JANUS_URL', async () => {
    const [e, f] = await Promise.all([janus(), janus()]);
    const rooms = sharedRooms();
    const pool = topology(poolOf(e, f), rooms);
    const moved: Array<[string, number]> = [];
    pool.onMoved((callId, moves) => moved.push([callId, moves]));
    const pair = newCallId();
    const group = newCallId();
    for (const [callId, parties] of [
      [pair, ['visitor', 'agent']],
      [group, ['visitor', 'agent', 'guest']],
    ] as const) {
      await pool.open(callId);
      for (const party of parties) sfu(await pool.access(callId, party));
    }
    await Promise.all([e.kill('SIGKILL'), f.kill('SIGKILL')]);
    await waitFor(() => pool.instances.every((i) => i.health === 'down') && moved.length > 0, { timeoutMs: 20_000, what: 'both instances down, and the call of two moved' });
    assert.deepEqual(moved, [[pair, 1]], 'only the call of two moved');
    assert.deepEqual(await pool.access(pair, 'visitor'), { kind: 'mesh' }, 'peer-to-peer now');
    assert.equal((rooms.stored.get(pair) as { instance: string }).instance, 'peer-to-peer', 'stored so, for every node');
    const refusal = (err: Error & { code?: string }) => {
      assert.equal(err.code, 'unavailable');
      assert.ok(err.message.includes(e.url) && err.message.includes(f.url), err.message);
      return true;
    };
    await assert.rejects(pool.access(group, 'guest'), refusal);
    await assert.rejects(pool.open(newCallId()), refusal);
    await pool.revoke(pair, 'agent'); // never throws
    await pool.close(pair);
    assert.equal(rooms.stored.has(pair), false, 'the ended call forgets its media');
  });
});
