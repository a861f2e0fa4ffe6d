import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { MediaAccess } from '@parley/protocol';
import pino from 'pino';
import WebSocket from 'ws';
import { startJanus, type JanusServer } from '../../../e2e/support/janus.ts';
import { freePort, waitFor } from '../../../e2e/support/harness.ts';
import { JanusTopology, type RoomStore } from '../src/calls/media/JanusTopology.ts';
import { createMediaTopology } from '../src/calls/media/index.ts';
import { MeshTopology } from '../src/calls/media/MeshTopology.ts';
import { ParleyServerError } from '../src/errors.ts';

type SfuAccess = Extract<MediaAccess, { kind: 'sfu' }>;
type Json = Record<string, unknown>;

/**
 * A bare Janus API client over the WebSocket, as a browser speaks it: one session and one VideoRoom
 * handle. Enough to join rooms as a participant would and to ask Janus what it holds.
 */
class JanusProbe {
  private readonly pending = new Map<string, (message: Json) => void>();
  /** Asynchronous plugin events received (no transaction of ours), newest last. */
  readonly events: Json[] = [];
  private sessionId = 0;
  private handleId = 0;
  private keepalive: ReturnType<typeof setInterval> | null = null;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as Json;
      if (message.janus === 'ack') return;
      const resolve = typeof message.transaction === 'string' ? this.pending.get(message.transaction) : undefined;
      if (resolve) {
        this.pending.delete(message.transaction as string);
        resolve(message);
      } else if (message.janus === 'event') {
        this.events.push(message);
      }
    });
  }

  static async open(url: string): Promise<JanusProbe> {
    const socket = new WebSocket(url, 'janus-protocol');
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const probe = new JanusProbe(socket);
    const created = await probe.send({ janus: 'create' });
    probe.sessionId = (created.data as { id: number }).id;
    const attached = await probe.send({ janus: 'attach', session_id: probe.sessionId, plugin: 'janus.plugin.videoroom' });
    probe.handleId = (attached.data as { id: number }).id;
    probe.keepalive = setInterval(() => probe.send({ janus: 'keepalive', session_id: probe.sessionId }).catch(() => {}), 20_000);
    return probe;
  }

  /** One Janus request; resolves with its answer (after any `ack`). */
  send(request: Json): Promise<Json> {
    const transaction = randomUUID();
    return new Promise((resolve) => {
      this.pending.set(transaction, resolve);
      this.socket.send(JSON.stringify({ ...request, transaction }));
    });
  }

  /** A VideoRoom request on the handle; resolves with the plugin's data (an `error_code` when refused). */
  async videoroom(body: Json): Promise<Json> {
    const answer = await this.send({ janus: 'message', session_id: this.sessionId, handle_id: this.handleId, body });
    if (answer.janus === 'error') return { error_code: (answer.error as { code: number }).code, error: (answer.error as { reason: string }).reason };
    return (answer.plugindata as { data: Json }).data;
  }

  /** Joins as a publisher (without media) the way the SDK does. */
  join(access: Pick<SfuAccess, 'room' | 'pin' | 'token' | 'display'>): Promise<Json> {
    return this.videoroom({ request: 'join', ptype: 'publisher', room: access.room, pin: access.pin, token: access.token, display: access.display });
  }

  close(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.socket.close();
  }
}

/** A TCP relay in front of Janus that a test can cut, and point at another Janus. */
async function startRelay(targetPort: number): Promise<{ url: string; target: number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const relay = {
    url: '',
    target: targetPort,
    cut() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((inbound) => {
    const outbound = connect(relay.target, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  relay.url = `ws://127.0.0.1:${port}`;
  relay.close = () => {
    relay.cut();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return relay;
}

const portOf = (url: string) => Number(new URL(url).port);

const silent = pino({ level: 'silent' });
const newCallId = () => `call-${randomUUID()}`;

describe('JanusTopology against a real Janus', () => {
  let janus: JanusServer;
  let topology: JanusTopology;
  /** A participant's view: a session of its own on Janus. */
  let probe: JanusProbe;
  const probes: JanusProbe[] = [];
  const newProbe = async () => {
    const p = await JanusProbe.open(janus.url);
    probes.push(p);
    return p;
  };

  before(async () => {
    janus = await startJanus();
    topology = new JanusTopology({ janus: { instances: [{ url: janus.url, publicUrl: 'ws://janus.example.test:8188' }], apiSecret: null, maxParticipants: 6 }, log: silent });
    probe = await newProbe();
  });
  after(async () => {
    await topology?.shutdown();
    for (const p of probes) p.close();
    await janus?.stop();
  });

  const exists = async (room: number) => (await probe.videoroom({ request: 'exists', room })).exists;

  it('chooses the adapter from the configuration', () => {
    assert.ok(createMediaTopology({ janus: null, meshMaxParticipants: 4 }, silent) instanceof MeshTopology);
    const sfu = createMediaTopology({ janus: { instances: [{ url: janus.url, publicUrl: janus.url }], apiSecret: null, maxParticipants: 9 }, meshMaxParticipants: 4 }, silent);
    assert.ok(sfu instanceof JanusTopology);
    assert.equal(sfu.kind, 'sfu');
    assert.equal(sfu.capacity, 9);
    assert.match(sfu.capacityHint, /JANUS_MAX_PARTICIPANTS/);
  });

  it('open makes one private, PIN-protected room per call, also when asked twice at once', async () => {
    const callId = newCallId();
    await Promise.all([topology.open(callId), topology.open(callId)]);
    const [a, b] = (await Promise.all([topology.access(callId, 'visitor-1'), topology.access(callId, 'agent-1')])) as SfuAccess[];
    assert.ok(a && b);
    assert.equal(a.kind, 'sfu');
    assert.equal(a.url, 'ws://janus.example.test:8188', 'browsers get the public URL');
    assert.equal(a.room, b.room, 'one room per call');
    assert.equal(a.pin, b.pin);
    assert.notEqual(a.token, b.token, 'a token per participant');
    assert.equal(a.display, 'visitor-1');
    assert.ok(Number.isSafeInteger(a.room) && a.room > 0);
    assert.equal(await exists(a.room), true, 'Janus has the room');
    const listed = (await probe.videoroom({ request: 'list' })).list as Array<{ room: number }>;
    assert.ok(!listed.some((r) => r.room === a.room), 'the room is private: not listed to other sessions');
    const other = (await topology.access(newCallId(), 'visitor-2')) as SfuAccess;
    assert.notEqual(other.room, a.room, 'another call, another room');
    assert.notEqual(other.pin, a.pin);
  });

  it('admits a participant with its PIN and token, and refuses a wrong PIN, a wrong token or none', async () => {
    const callId = newCallId();
    await topology.open(callId);
    const access = (await topology.access(callId, 'visitor-1')) as SfuAccess;

    const wrongPin = await (await newProbe()).join({ ...access, pin: 'not-the-pin' });
    assert.equal(wrongPin.error_code, 433, `a wrong PIN is refused: ${JSON.stringify(wrongPin)}`);
    const wrongToken = await (await newProbe()).join({ ...access, token: 'not-a-token' });
    assert.equal(wrongToken.error_code, 433, `an unknown token is refused: ${JSON.stringify(wrongToken)}`);
    const noToken = await (await newProbe()).videoroom({ request: 'join', ptype: 'publisher', room: access.room, pin: access.pin, display: 'x' });
    assert.equal(noToken.error_code, 433, `no token is refused: ${JSON.stringify(noToken)}`);

    const joined = await (await newProbe()).join(access);
    assert.equal(joined.videoroom, 'joined', JSON.stringify(joined));
    assert.equal(joined.room, access.room);
    const { participants } = await probe.videoroom({ request: 'listparticipants', room: access.room });
    assert.deepEqual(
      (participants as Array<{ display: string }>).map((p) => p.display),
      ['visitor-1'],
    );
  });

  it('revoke kicks the participant and withdraws its token; others stay', async () => {
    const callId = newCallId();
    await topology.open(callId);
    const guest = (await topology.access(callId, 'guest-1')) as SfuAccess;
    const agent = (await topology.access(callId, 'agent-1')) as SfuAccess;
    const guestPage = await newProbe();
    const agentPage = await newProbe();
    assert.equal((await guestPage.join(guest)).videoroom, 'joined');
    assert.equal((await agentPage.join(agent)).videoroom, 'joined');

    await topology.revoke(callId, 'guest-1');
    await waitFor(
      () => guestPage.events.some((e) => (e.plugindata as { data: Json }).data.leaving === 'ok' && (e.plugindata as { data: Json }).data.reason === 'kicked'),
      { what: 'the kicked participant to be told' },
    );
    const { participants } = await probe.videoroom({ request: 'listparticipants', room: guest.room });
    assert.deepEqual(
      (participants as Array<{ display: string }>).map((p) => p.display),
      ['agent-1'],
    );
    const again = await (await newProbe()).join(guest);
    assert.equal(again.error_code, 433, `the withdrawn token no longer admits: ${JSON.stringify(again)}`);

    await topology.revoke(callId, 'nobody'); // never throws
    await topology.revoke(newCallId(), 'guest-1');
  });

  it('close destroys the room (and never throws)', async () => {
    const callId = newCallId();
    await topology.open(callId);
    const access = (await topology.access(callId, 'visitor-1')) as SfuAccess;
    const page = await newProbe();
    assert.equal((await page.join(access)).videoroom, 'joined');
    await topology.close(callId);
    assert.equal(await exists(access.room), false);
    await waitFor(() => page.events.some((e) => (e.plugindata as { data: Json }).data.videoroom === 'destroyed'), {
      what: 'the participant to be told the room is gone',
    });
    await topology.close(callId);
    await topology.close(newCallId());
  });

  it('shutdown leaves rooms running; the next start uses them again, or makes again the ones Janus lost', async () => {
    const stored = new Map<string, unknown>();
    const rooms: RoomStore = {
      saveCallMedia: async (callId, data) => void stored.set(callId, structuredClone(data)),
      getCallMedia: async (callId) => stored.get(callId) ?? null,
      deleteCallMedia: async (callId) => void stored.delete(callId),
    };
    const config = { instances: [{ url: janus.url, publicUrl: janus.url }], apiSecret: null, maxParticipants: 4 };
    const first = new JanusTopology({ janus: config, log: silent, rooms });
    const kept = newCallId();
    const lost = newCallId();
    await first.open(kept);
    await first.open(lost);
    const before = (await first.access(kept, 'visitor')) as SfuAccess;
    const lostRoom = ((await first.access(lost, 'visitor')) as SfuAccess).room;
    await first.shutdown();
    assert.equal(await exists(before.room), true, 'a node stopping leaves its rooms running');
    await assert.rejects(first.open(newCallId()), (err: unknown) => err instanceof ParleyServerError && err.code === 'unavailable');
    // As if Janus had lost that room (restarted): destroyed behind the adapters' backs.
    const destroyed = await probe.videoroom({ request: 'destroy', room: lostRoom, secret: (stored.get(lost) as { secret: string }).secret });
    assert.equal(destroyed.videoroom, 'destroyed', JSON.stringify(destroyed));

    const second = new JanusTopology({ janus: config, log: silent, rooms });
    try {
      await second.open(kept);
      const after = (await second.access(kept, 'agent')) as SfuAccess;
      assert.equal(after.room, before.room, 'the same room is used again');
      assert.equal(after.pin, before.pin);
      await second.open(lost);
      assert.equal(await exists(lostRoom), true, 'a room Janus lost is made again with its id');
      // The visitor's token from before the restart still admits it.
      assert.equal((await (await newProbe()).join(before)).videoroom, 'joined');
      await second.close(kept);
      assert.equal(await exists(before.room), false);
      assert.equal(stored.has(kept), false, 'an ended call forgets its room');
    } finally {
      await second.close(lost);
      await second.shutdown();
    }
  });

  it('reconnects after a drop, and makes again the rooms a restarted Janus lost', async () => {
    const relay = await startRelay(portOf(janus.url));
    const own = new JanusTopology({ janus: { instances: [{ url: relay.url, publicUrl: relay.url }], apiSecret: null, maxParticipants: 4 }, log: silent });
    const second = await startJanus();
    try {
      const callId = newCallId();
      await own.open(callId);
      const first = (await own.access(callId, 'visitor-1')) as SfuAccess;

      relay.cut(); // a network drop: Janus keeps the room
      const after = (await own.access(callId, 'agent-1')) as SfuAccess;
      assert.equal(after.room, first.room);
      assert.equal((await (await newProbe()).join(after)).videoroom, 'joined', 'a token issued after the reconnection admits');

      relay.target = portOf(second.url); // Janus "restarted": the next connection reaches one without the room
      relay.cut();
      const secondProbe = await JanusProbe.open(second.url);
      probes.push(secondProbe);
      await waitFor(async () => (await secondProbe.videoroom({ request: 'exists', room: first.room })).exists === true, {
        timeoutMs: 10_000,
        what: 'the room to be made again on the new Janus',
      });
      assert.equal((await secondProbe.join(first)).videoroom, 'joined', 'the room came back with its PIN and tokens');
      await own.close(callId);
      assert.equal((await secondProbe.videoroom({ request: 'exists', room: first.room })).exists, false);
    } finally {
      await own.shutdown();
      await relay.close();
      await second.stop();
    }
  });

  it('an unreachable JANUS_URL makes open fail as unavailable, naming JANUS_URL', async () => {
    const url = `ws://127.0.0.1:${await freePort()}`;
    const down = new JanusTopology({ janus: { instances: [{ url, publicUrl: url }], apiSecret: null, maxParticipants: 4 }, log: silent });
    await assert.rejects(down.open(newCallId()), (err: unknown) => {
      assert.ok(err instanceof ParleyServerError, String(err));
      assert.equal(err.code, 'unavailable');
      assert.match(err.message, /JANUS_URL/);
      assert.ok(err.message.includes(url), err.message);
      return true;
    });
    await down.revoke('x', 'y');
    await down.close('x');
    await down.shutdown();
  });
});
