import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { FakeMediaHandler, FakeNetwork, FakePeerConnection, FakeStream, FakeTrack } from '../../testing/FakeMedia.ts';
import { until } from '../../testing/helpers.ts';
import type { WebSocketLike } from '../../signaling/socket.ts';
import type { IceCandidate, SessionDescription } from '../../wire.ts';
import type { VideoConnectionState } from '../events.ts';
import type { MediaStreamLike } from '../MediaHandler.ts';
import type { MediaTransport } from '../MediaTransport.ts';
import type { SfuAccess } from './JanusPublisher.ts';
import { createJanusTransport } from './JanusTransport.ts';

type Json = Record<string, unknown>;

/*
 * A Janus VideoRoom in-process: the core API (sessions, handles, transactions with ack), rooms with a
 * PIN and an allowed-token list, publishers and subscribers. Janus's side of each media connection is
 * a FakePeerConnection on the same FakeNetwork as the pages', so offers, answers and trickled
 * candidates really have to flow for links to connect.
 */
class FakeJanus {
  readonly sockets = new Set<FakeJanusSocket>();
  /** Every request received, in order (for assertions on the message flow). */
  readonly requests: Json[] = [];
  /** Refuse new sockets (Janus down). */
  down = false;
  private nextId = 1000;
  private readonly handles = new Map<number, FakeHandle>();
  private readonly sessions = new Map<number, FakeJanusSocket>();

  constructor(
    readonly network: FakeNetwork,
    readonly room = { id: 77, pin: 'pin-1', allowed: new Set<string>() },
  ) {}

  /** A socket factory for the transport under test. */
  readonly connect = (url: string, protocol: string): WebSocketLike => {
    assert.equal(protocol, 'janus-protocol');
    assert.equal(url, 'ws://janus.test');
    const socket = new FakeJanusSocket(this);
    this.sockets.add(socket);
    setTimeout(() => (this.down ? socket.drop(1006) : socket.open()), 0);
    return socket;
  };

  publishers(): Array<{ feed: number; display: string }> {
    return [...this.handles.values()].filter((h) => h.published).map((h) => ({ feed: h.id, display: h.display! }));
  }

  handleCount(): number {
    return this.handles.size;
  }

  /** Kicks the publisher shown as `display` (like the server's revoke). */
  kick(display: string): void {
    for (const h of this.handles.values()) {
      if (h.display !== display) continue;
      this.event(h, { videoroom: 'event', room: this.room.id, leaving: 'ok', reason: 'kicked' });
      this.unpublish(h);
      h.display = undefined;
    }
  }

  /** Closes every socket as if the network dropped (Janus forgets their sessions). */
  dropAll(): void {
    for (const socket of [...this.sockets]) socket.drop(1006);
  }

  /** @internal */
  closed(socket: FakeJanusSocket): void {
    this.sockets.delete(socket);
    for (const h of [...this.handles.values()]) if (h.socket === socket) this.detach(h);
  }

  /** @internal */
  receive(socket: FakeJanusSocket, request: Json): void {
    this.requests.push(request);
    const { janus, transaction } = request;
    const reply = (message: Json) => socket.deliver({ ...message, transaction });
    switch (janus) {
      case 'create': {
        const id = this.nextId++;
        this.sessions.set(id, socket);
        return reply({ janus: 'success', data: { id } });
      }
      case 'attach': {
        const h: FakeHandle = { id: this.nextId++, socket, sessionId: request.session_id as number, role: null, published: false, kinds: [], pc: null };
        this.handles.set(h.id, h);
        return reply({ janus: 'success', session_id: h.sessionId, data: { id: h.id } });
      }
      case 'keepalive':
        return reply({ janus: 'ack', session_id: request.session_id });
      case 'destroy':
        for (const h of [...this.handles.values()]) if (h.sessionId === request.session_id) this.detach(h);
        return reply({ janus: 'success', session_id: request.session_id });
      case 'detach': {
        const h = this.handles.get(request.handle_id as number);
        if (h) this.detach(h);
        return reply({ janus: 'success', session_id: request.session_id });
      }
      case 'trickle': {
        reply({ janus: 'ack', session_id: request.session_id });
        const candidate = request.candidate as IceCandidate | { completed: true };
        const h = this.handles.get(request.handle_id as number);
        if (h?.pc && !('completed' in candidate)) h.pc.addIceCandidate(candidate).catch(() => {});
        return;
      }
      case 'message': {
        reply({ janus: 'ack', session_id: request.session_id });
        const h = this.handles.get(request.handle_id as number);
        if (!h) return reply({ janus: 'error', error: { code: 459, reason: 'No such handle' } });
        this.videoroom(h, request.body as Json, request.jsep as SessionDescription | undefined)
          .then(({ data, jsep }) =>
            reply({ janus: 'event', session_id: h.sessionId, sender: h.id, plugindata: { plugin: 'janus.plugin.videoroom', data }, ...(jsep ? { jsep } : {}) }),
          )
          .catch((err: unknown) => assert.fail(err as Error));
        return;
      }
      default:
        return reply({ janus: 'error', error: { code: 453, reason: `unknown request ${String(janus)}` } });
    }
  }

  private async videoroom(h: FakeHandle, body: Json, jsep?: SessionDescription): Promise<{ data: Json; jsep?: SessionDescription }> {
    const error = (code: number, reason: string) => ({ data: { videoroom: 'event', error_code: code, error: reason } });
    switch (body.request) {
      case 'join': {
        if (body.room !== this.room.id) return error(426, 'No such room');
        if (body.pin !== this.room.pin) return error(433, 'Unauthorized (wrong pin)');
        if (body.ptype === 'publisher') {
          if (!this.room.allowed.has(body.token as string)) return error(433, 'Unauthorized (not in the allowed list)');
          h.role = 'publisher';
          h.display = body.display as string;
          const publishers = this.publishers().map(({ feed, display }) => ({ id: feed, display }));
          return { data: { videoroom: 'joined', room: this.room.id, id: h.id, publishers } };
        }
        const feed = (body.streams as Array<{ feed: number }>)[0]!.feed;
        const source = this.handles.get(feed);
        if (!source?.published) return error(428, 'No such feed');
        h.role = 'subscriber';
        h.feed = feed;
        const pc = this.peerConnection(h);
        for (const kind of source.kinds) pc.addTrack(new FakeTrack(kind), new FakeStream());
        await pc.setLocalDescription();
        return { data: { videoroom: 'attached', room: this.room.id, id: feed, display: source.display }, jsep: description(pc) };
      }
      case 'publish':
      case 'configure': {
        if (h.role !== 'publisher' || !jsep) return error(424, 'Join first');
        const pc = h.pc ?? this.peerConnection(h);
        await pc.setRemoteDescription(jsep);
        await pc.setLocalDescription();
        h.kinds = [...(jsep.sdp ?? '').matchAll(/^m=(audio|video) \S+ send \S+$/gm)].map((m) => m[1] as 'audio' | 'video');
        if (!h.published) {
          h.published = true;
          for (const other of this.handles.values()) {
            if (other !== h && other.role === 'publisher') this.event(other, { videoroom: 'event', room: this.room.id, publishers: [{ id: h.id, display: h.display }] });
          }
        }
        return { data: { videoroom: 'event', room: this.room.id, configured: 'ok' }, jsep: description(pc) };
      }
      case 'start': {
        if (h.role !== 'subscriber' || !h.pc || !jsep) return error(424, 'Join first');
        await h.pc.setRemoteDescription(jsep);
        return { data: { videoroom: 'event', room: this.room.id, started: 'ok' } };
      }
      default:
        return error(423, `unknown request ${String(body.request)}`);
    }
  }

  private peerConnection(h: FakeHandle): FakePeerConnection {
    const pc = new FakePeerConnection(this.network, { iceServers: [] });
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && this.handles.get(h.id) === h) h.socket.deliver({ janus: 'trickle', session_id: h.sessionId, sender: h.id, candidate: candidate.toJSON() });
    };
    h.pc = pc;
    return pc;
  }

  private detach(h: FakeHandle): void {
    this.handles.delete(h.id);
    h.pc?.close();
    this.unpublish(h);
  }

  private unpublish(h: FakeHandle): void {
    if (!h.published) return;
    h.published = false;
    for (const other of this.handles.values()) {
      if (other.role === 'publisher') this.event(other, { videoroom: 'event', room: this.room.id, unpublished: h.id });
      if (other.role === 'subscriber' && other.feed === h.id) other.socket.deliver({ janus: 'hangup', session_id: other.sessionId, sender: other.id, reason: 'feed gone' });
    }
  }

  private event(h: FakeHandle, data: Json): void {
    h.socket.deliver({ janus: 'event', session_id: h.sessionId, sender: h.id, plugindata: { plugin: 'janus.plugin.videoroom', data } });
  }
}

interface FakeHandle {
  id: number;
  socket: FakeJanusSocket;
  sessionId: number;
  role: 'publisher' | 'subscriber' | null;
  display?: string | undefined;
  feed?: number;
  published: boolean;
  kinds: Array<'audio' | 'video'>;
  pc: FakePeerConnection | null;
}

function description(pc: FakePeerConnection): SessionDescription {
  const local = pc.localDescription!;
  return { type: local.type as SessionDescription['type'], sdp: local.sdp };
}

class FakeJanusSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(private readonly janus: FakeJanus) {}

  /** @internal Janus accepts the connection. */
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    const request = JSON.parse(data) as Json;
    setTimeout(() => this.janus.receive(this, request), 0); // sent before a close: delivered, as over TCP
  }

  close(code = 1000): void {
    this.drop(code);
  }

  /** @internal A message from Janus. */
  deliver(message: Json): void {
    setTimeout(() => this.readyState === 1 && this.onmessage?.({ data: JSON.stringify(message) }), 0);
  }

  /** @internal */
  drop(code: number): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.janus.closed(this);
    setTimeout(() => this.onclose?.({ code, reason: '' }), 0);
  }
}

/** One page in the call: its transport and everything the transport reported. */
interface Page {
  id: string;
  transport: MediaTransport;
  media: FakeMediaHandler;
  local: FakeStream;
  states: Array<[string, VideoConnectionState]>;
  streams: Map<string, MediaStreamLike | null>;
  closedLinks: string[];
  state(remoteId: string): VideoConnectionState | undefined;
}

describe('JanusTransport over a fake Janus', () => {
  let network: FakeNetwork;
  let janus: FakeJanus;
  let warnings: unknown[][];
  const pages: Page[] = [];

  beforeEach(() => {
    network = new FakeNetwork();
    janus = new FakeJanus(network);
    warnings = [];
    mock.method(console, 'warn', (...args: unknown[]) => warnings.push(args));
    mock.method(console, 'info', () => {});
  });
  afterEach(() => {
    for (const page of pages.splice(0)) page.transport.close();
    mock.restoreAll();
  });

  function accessFor(id: string, token = `token-${id}`): SfuAccess {
    janus.room.allowed.add(`token-${id}`);
    return { kind: 'sfu', url: 'ws://janus.test', room: janus.room.id, pin: janus.room.pin, token, display: id };
  }

  function openPage(id: string, opts: { kinds?: Array<'audio' | 'video'>; access?: SfuAccess; linkFailAfterMs?: number; onUnreachable?: () => void } = {}): Page {
    const media = new FakeMediaHandler(network);
    const local = new FakeStream((opts.kinds ?? ['audio', 'video']).map((k) => new FakeTrack(k)));
    const states: Page['states'] = [];
    const streams = new Map<string, MediaStreamLike | null>();
    const closedLinks: string[] = [];
    const transport = createJanusTransport(
      opts.access ?? accessFor(id),
      {
        selfId: id,
        options: { media, iceCandidatePoolSize: 0, iceRestartDelayMs: 5, linkFailAfterMs: opts.linkFailAfterMs ?? 2_000, linkLostAfterMs: opts.linkFailAfterMs ?? 2_000, offerWaitMs: 0, devices: {}, videoFallback: true },
        localStream: local,
        screenStream: new FakeStream(),
        remoteScreenStreamId: () => null,
        iceServers: [],
        sendSignal: () => assert.fail('no signals through the Parley server in an SFU call'),
        onLinkState: (remoteId, state) => states.push([remoteId, state]),
        onRemoteStream: (remoteId, stream) => streams.set(remoteId, stream),
        onLinkClosed: (remoteId) => closedLinks.push(remoteId),
        ...(opts.onUnreachable ? { onUnreachable: opts.onUnreachable } : {}),
      },
      janus.connect,
    );
    const page: Page = {
      id,
      transport,
      media,
      local,
      states,
      streams,
      closedLinks,
      state: (remoteId) => states.filter(([r]) => r === remoteId).at(-1)?.[1],
    };
    pages.push(page);
    return page;
  }

  const connectedBothWays = (a: Page, b: Page) => a.state(b.id) === 'connected' && b.state(a.id) === 'connected';

  it('two pages publish, subscribe to each other by party id, and receive audio and video', async () => {
    const a = openPage('agent-1');
    const b = openPage('visitor-1');
    a.transport.sync(['visitor-1', 'agent-1']); // its own id is ignored
    b.transport.sync(['agent-1']);
    await until(() => connectedBothWays(a, b), 'both links connected');
    assert.deepEqual(a.transport.remoteIds, ['visitor-1']);
    assert.deepEqual(
      janus.publishers().map((p) => p.display).sort(),
      ['agent-1', 'visitor-1'],
    );
    const kinds = (s: MediaStreamLike | null | undefined) => s?.getTracks().map((t) => t.kind).sort();
    assert.deepEqual(kinds(a.transport.remoteStream('visitor-1')), ['audio', 'video']);
    assert.deepEqual(kinds(b.streams.get('agent-1')), ['audio', 'video']);

    const [row] = await a.transport.stats();
    assert.equal(row?.participantId, 'visitor-1');
    assert.ok(row!.videoFramesDecoded > 0 && row!.audioPacketsReceived > 0, JSON.stringify(row));

    const joins = janus.requests.filter((r) => (r.body as Json | undefined)?.request === 'join' && (r.body as Json).ptype === 'publisher');
    assert.deepEqual(
      joins.map((r) => (r.body as Json).display).sort(),
      ['agent-1', 'visitor-1'],
    );
    assert.ok(
      joins.every((r) => (r.body as Json).pin === 'pin-1' && typeof (r.body as Json).token === 'string'),
      'joins carry the PIN and the token',
    );
    assert.ok(
      janus.requests.some((r) => r.janus === 'trickle'),
      'candidates are trickled',
    );
    assert.deepEqual(warnings, []);
  });

  it('a participant whose feed is not published yet is subscribed to when it appears', async () => {
    const a = openPage('agent-1');
    a.transport.sync(['visitor-1']);
    await until(() => janus.publishers().length === 1, 'a publishes');
    assert.equal(a.transport.remoteStream('visitor-1'), null);
    assert.ok(a.streams.has('visitor-1'), 'its tile is announced without a stream');
    const b = openPage('visitor-1');
    b.transport.sync(['agent-1']);
    await until(() => connectedBothWays(a, b), 'both links connected');
  });

  it('a reloaded remote page (a new feed) is subscribed to again; sync without it closes the link', async () => {
    const a = openPage('agent-1');
    const b1 = openPage('visitor-1');
    a.transport.sync(['visitor-1']);
    b1.transport.sync(['agent-1']);
    await until(() => connectedBothWays(a, b1), 'first connection');
    b1.transport.close();
    await until(() => a.state('visitor-1') === 'reconnecting', 'the link goes reconnecting when the feed goes');
    assert.equal(a.transport.remoteStream('visitor-1'), null);
    const b2 = openPage('visitor-1');
    b2.transport.sync(['agent-1']);
    await until(() => a.state('visitor-1') === 'connected' && b2.state('agent-1') === 'connected', 'connected to the new page');
    const handlesBefore = janus.handleCount();
    a.transport.sync([]);
    assert.deepEqual(a.closedLinks, ['visitor-1']);
    assert.deepEqual(a.transport.remoteIds, []);
    await until(() => janus.handleCount() === handlesBefore - 1, 'the subscriber handle is detached');
  });

  it('camera off keeps the publisher connection (replaceTrack); a kind never sent is added with configure', async () => {
    const a = openPage('agent-1', { kinds: ['audio'] });
    const b = openPage('visitor-1');
    a.transport.sync(['visitor-1']);
    b.transport.sync(['agent-1']);
    await until(() => connectedBothWays(a, b), 'connected');
    const published = a.media.peerConnections[0]!;
    assert.equal(published.sending('video'), false);
    const configuresBefore = janus.requests.filter((r) => (r.body as Json | undefined)?.request === 'configure').length;

    await a.transport.setTrack('video', new FakeTrack('video'));
    await until(() => janus.requests.filter((r) => (r.body as Json | undefined)?.request === 'configure').length > configuresBefore, 'a configure with a new offer');
    assert.equal(published.sending('video'), true);

    const offersBefore = published.log.filter((l) => l === 'local offer').length;
    await a.transport.setTrack('video', null);
    assert.equal(published.sending('video'), false, 'camera off: the sender sends nothing');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(published.log.filter((l) => l === 'local offer').length, offersBefore, 'no renegotiation for camera off');
    assert.equal(a.state('visitor-1'), 'connected');
  });

  it('a refused token is a warning and failed links, with no retry', async () => {
    const a = openPage('agent-1', { access: { ...accessFor('agent-1'), token: 'forged' } });
    a.transport.sync(['visitor-1']);
    await until(() => a.state('visitor-1') === 'failed', 'the link fails');
    assert.ok(warnings.some((w) => String(w[1]).includes('433')), `warned: ${JSON.stringify(warnings.map((w) => String(w)))}`);
    const joins = janus.requests.filter((r) => (r.body as Json | undefined)?.ptype === 'publisher').length;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(janus.requests.filter((r) => (r.body as Json | undefined)?.ptype === 'publisher').length, joins, 'not tried again');
  });

  it('after the socket to Janus drops, the page joins again and the links come back', async () => {
    const a = openPage('agent-1');
    const b = openPage('visitor-1');
    a.transport.sync(['visitor-1']);
    b.transport.sync(['agent-1']);
    await until(() => connectedBothWays(a, b), 'connected');
    const [aBefore, bBefore] = [a.states.length, b.states.length];
    janus.dropAll();
    await until(() => a.states.length > aBefore && b.states.length > bBefore && connectedBothWays(a, b), 'connected again');
    assert.deepEqual(a.states.slice(aBefore), [['visitor-1', 'reconnecting'], ['visitor-1', 'connected']]);
    assert.deepEqual(b.states.slice(bBefore), [['agent-1', 'reconnecting'], ['agent-1', 'connected']]);
    assert.ok(warnings.some((w) => String(w[0]).includes('reconnecting')));
  });

  it('while Janus cannot be reached again after a drop, each failed attempt says so (the room may have moved)', async () => {
    let unreachable = 0;
    const a = openPage('agent-1', { onUnreachable: () => unreachable++ });
    await until(() => janus.publishers().length === 1, 'published');
    assert.equal(unreachable, 0, 'not while Janus answers');
    janus.down = true;
    janus.dropAll();
    await until(() => unreachable >= 2, 'two failed reconnections told');
    janus.down = false;
    await until(() => janus.publishers().length === 1, 'published again once Janus is back');
    const told = unreachable;
    a.transport.restartStalled();
    assert.equal(unreachable, told, 'no more once reconnected');
  });

  it('a remote that never publishes fails after linkFailAfterMs; being kicked stops quietly', async () => {
    const a = openPage('agent-1', { linkFailAfterMs: 50 });
    a.transport.sync(['visitor-1']);
    await until(() => a.state('visitor-1') === 'failed', 'failed');
    await until(() => janus.publishers().length === 1, 'published');
    janus.kick('agent-1');
    await until(() => janus.sockets.size === 0, 'the page closes its socket once out of the room');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(janus.sockets.size, 0, 'and does not come back');
  });

  it('close destroys the session and closes every connection', async () => {
    const a = openPage('agent-1');
    const b = openPage('visitor-1');
    a.transport.sync(['visitor-1']);
    b.transport.sync(['agent-1']);
    await until(() => connectedBothWays(a, b), 'connected');
    a.transport.close();
    assert.ok(a.media.peerConnections.every((pc) => pc.connectionState === 'closed'));
    await until(() => janus.requests.some((r) => r.janus === 'destroy'), 'the session is destroyed');
    await until(() => janus.publishers().length === 1, 'its feed is gone');
    await until(() => b.state('agent-1') === 'reconnecting', 'the other page sees the feed go');
  });
});
