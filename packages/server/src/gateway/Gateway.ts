import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode, Party } from '@parley/protocol';
import { LIMITS, PROTOCOL_VERSION, parseClientFrame } from '@parley/protocol';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { describeTokenProblem, partyOf, type TokenService } from '../auth/tokens.ts';
import type { Bus } from '../bus/Bus.ts';
import { topics } from '../bus/topics.ts';
import type { CallService } from '../calls/CallService.ts';
import type { GuestInvites } from '../calls/GuestInvites.ts';
import type { ConversationService } from '../conversations/ConversationService.ts';
import { ParleyServerError } from '../errors.ts';
import type { AgentPresence } from '../routing/AgentPresence.ts';
import { ClientConnection, CloseCode } from './ClientConnection.ts';
import { CorkedWrites } from './CorkedWrites.ts';
import { handleFrame } from './handleFrame.ts';
import type { ConnectionLimits } from '../config.ts';
import type { ConnectionCap } from '../net/ConnectionCap.ts';
import type { ProxyTrust } from '../net/ProxyTrust.ts';
import { TokenBucket } from '../rateLimit/TokenBucket.ts';
import type { NodeRegistry } from '../cluster/NodeRegistry.ts';

export interface GatewayOptions {
  server: Server;
  path: string;
  conversations: ConversationService;
  presence: AgentPresence;
  calls: CallService;
  guests: GuestInvites;
  tokens: TokenService;
  bus: Bus;
  /** This node's share of the deployment's connections: who is connected where. */
  nodes: Pick<NodeRegistry, 'connected' | 'disconnected'>;
  log: Logger;
  isAllowedOrigin: (origin: string) => boolean;
  rateLimit: { rps: number; burst: number };
  /** Who the client is behind a proxy (the same rule as the HTTP API's). */
  trust: ProxyTrust;
  /** Per-address connection count; the Gateway counts the clients that come through a trusted proxy. */
  connectionCap: ConnectionCap;
  /** Every frame a client sends (for /metrics). */
  onFrame?: () => void;
  limits: Pick<ConnectionLimits, 'wsAuthTimeoutMs' | 'wsIdleTimeoutMs' | 'maxSocketsPerIdentity'>;
}

/** Bytes above which a frame is refused with `too_large`; above HARD_LIMIT the socket is closed (1009). */
const HARD_LIMIT_BYTES = 1024 * 1024;
/** Pings go out at least this often, and at least three times within the idle limit. */
const HEARTBEAT_MS = 30_000;
/** How long a connection closed for silence is given to answer the close frame before its socket is destroyed. */
const SILENT_CLOSE_WAIT_MS = 1000;
/** Agents work many conversations at once: their buckets are this much larger. */
const AGENT_FACTOR = 5;
/** All connections of one identity share a bucket this much larger than one connection's. */
const IDENTITY_FACTOR = 3;

/**
 * The WebSocket edge: checks Origin, authenticates, validates every frame, rate-limits per connection and per
 * identity, and hands valid frames to the domain. Bad input is answered with a coded error; the connection is
 * closed only for abuse (or a missing/invalid token).
 */
export class Gateway {
  readonly #webSocketServer: WebSocketServer;
  readonly #connections = new Set<ClientConnection>();
  readonly #identityBuckets = new Map<string, { bucket: TokenBucket; connections: number }>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #writes = new CorkedWrites();
  #accepting = true;

  constructor(private readonly options: GatewayOptions) {
    this.#webSocketServer = new WebSocketServer({ noServer: true, maxPayload: HARD_LIMIT_BYTES, perMessageDeflate: false, clientTracking: false });
    options.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
    this.#heartbeat = setInterval(() => this.#beat(), Math.min(HEARTBEAT_MS, Math.ceil(options.limits.wsIdleTimeoutMs / 3)));
    this.#heartbeat.unref();
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Stops accepting, tells every client to come back later, and closes their sockets. */
  async shutdown(retryAfterMs = 1000): Promise<void> {
    this.#accepting = false;
    clearInterval(this.#heartbeat);
    const closing: Promise<void>[] = [];
    for (const connection of this.#connections) {
      closing.push(new Promise((resolve) => connection.socket.once('close', () => resolve())));
      connection.send({ type: 'goaway', reason: 'shutdown', retryAfterMs });
      connection.close(CloseCode.restart, 'server restarting');
    }
    this.#writes.release();
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 2000).unref())]);
    for (const connection of this.#connections) connection.socket.terminate();
    this.#webSocketServer.close();
  }

  /**
   * The bus was away: assignments made on other nodes meanwhile may not have reached this node's agents. Each
   * connected agent's conversations are read again, and those it did not hear of are handed to it now.
   */
  async catchUpAgents(): Promise<void> {
    for (const connection of [...this.#connections]) {
      const party = connection.party;
      if (party === null || party.role !== 'agent' || connection.guestScope || !connection.isOpen) continue;
      try {
        for (const conversation of await this.options.conversations.openConversationsOf(party)) {
          if (connection.isSubscribed(topics.conversation(conversation.sessionID))) continue;
          connection.send({ type: 'conversation.assigned', conversation });
          connection.subscribe(topics.conversation(conversation.sessionID), conversation.lastSeq);
        }
      } catch (err) {
        this.options.log.warn({ err, agentId: party.id }, 'an agent could not be caught up after the bus came back');
      }
    }
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== this.options.path) return refuse(socket, 404, 'Not Found');
    if (!this.#accepting) return refuse(socket, 503, 'Service Unavailable');
    const origin = req.headers.origin;
    if (origin !== undefined && !this.options.isAllowedOrigin(origin)) {
      this.options.log.warn({ origin }, 'websocket refused: origin not allowed');
      return refuse(socket, 403, 'Forbidden');
    }
    const { trust, connectionCap } = this.options;
    const client = trust.clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    // A direct client's TCP connection is counted already (capConnections); one behind a proxy is counted here.
    if (trust.isTrusted(req.socket.remoteAddress)) {
      if (!connectionCap.acquire(client)) {
        this.options.log.warn({ address: client }, 'websocket refused: too many connections from this address');
        return refuse(socket, 503, 'Service Unavailable');
      }
      socket.once('close', () => connectionCap.release(client));
    }
    this.#webSocketServer.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, client, socket));
  }

  #accept(ws: WebSocket, client: string, tcp: Duplex): void {
    const { rps, burst } = this.options.rateLimit;
    const connection = new ClientConnection(ws, this.options.bus, new TokenBucket(rps, burst), client, tcp, this.#writes);
    this.#connections.add(connection);
    let queue: Promise<void> = Promise.resolve();
    const authSeconds = Math.round(this.options.limits.wsAuthTimeoutMs / 1000);
    const authTimer = setTimeout(() => {
      if (connection.party !== null) return;
      connection.send({ type: 'error', code: 'unauthorized', message: `no authentication within ${authSeconds} s` });
      connection.close(CloseCode.idle, 'no authentication in time');
    }, this.options.limits.wsAuthTimeoutMs);
    authTimer.unref();

    ws.on('pong', () => connection.heard());
    ws.on('error', (err) => this.options.log.debug({ err }, 'websocket error'));
    ws.on('close', () => {
      clearTimeout(authTimer);
      this.#connections.delete(connection);
      connection.detach();
      const party = connection.party;
      if (party !== null) {
        this.#releaseIdentityBucket(party.id);
        if (party.role === 'agent') this.options.presence.disconnected(party);
        // Its last connection anywhere closing puts the party's calls into their grace period (NodeRegistry).
        this.options.nodes.disconnected(party);
      }
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      // Frames of one connection are handled in order, one at a time.
      connection.heard();
      this.options.onFrame?.();
      queue = queue.then(() => this.#onFrame(connection, data, isBinary)).catch((err: unknown) => this.#frameFailed(connection, err));
    });
  }

  async #onFrame(connection: ClientConnection, data: RawData, isBinary: boolean): Promise<void> {
    if (!connection.isOpen) return;
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    const party = connection.party;

    if (!connection.bucket.take() || (party !== null && !this.#identityBucket(party).take())) {
      if (party === null) {
        // Before authentication nothing is worth waiting for: answer and close.
        connection.send({ type: 'error', code: 'rate_limited', message: 'too many frames before authentication' });
        return connection.close(CloseCode.policy, 'too many frames before authentication');
      }
      if (!connection.strike()) connection.send({ type: 'error', code: 'rate_limited', message: 'too many frames; slow down' });
      return;
    }
    if (isBinary && party === null) return this.#refuseAuth(connection, 'unauthorized', 'the first frame must be auth, as text');
    if (isBinary) return this.#refuse(connection, undefined, 'invalid_frame', 'binary frames are not part of the protocol');
    // Oversized frames are refused by size alone, without decoding them.
    const parsed = parseClientFrame(buffer.byteLength > LIMITS.maxFrameBytes ? '' : buffer.toString('utf8'), buffer.byteLength);
    if (!parsed.ok) {
      if (party === null) return this.#refuseAuth(connection, 'unauthorized', 'authenticate first');
      return this.#refuse(connection, parsed.id, parsed.code, parsed.message);
    }
    const frame = parsed.frame;

    if (frame.type === 'auth') {
      if (party !== null) return this.#refuse(connection, undefined, 'conflict', 'already authenticated');
      if (frame.v !== PROTOCOL_VERSION) {
        connection.send({ type: 'error', code: 'unsupported_version', message: `this server speaks protocol ${PROTOCOL_VERSION}` });
        return connection.close(CloseCode.badProtocol, 'unsupported protocol version');
      }
      const verified = await this.options.tokens.verify(frame.token);
      if (!verified.ok) return this.#refuseAuth(connection, 'unauthorized', describeTokenProblem(verified.problem));
      if (frame.info) connection.visitorInfo = frame.info;
      connection.guestScope = verified.claims.scope ?? null;
      return this.#ready(connection, partyOf(verified.claims));
    }
    if (party === null) return this.#refuseAuth(connection, 'unauthorized', 'the first frame must be auth');

    try {
      const data = await handleFrame(frame, connection, this.options);
      connection.forgive();
      if ('id' in frame && data !== undefined) {
        connection.send({ type: 'result', id: frame.id, data });
      }
    } catch (err) {
      const id = 'id' in frame ? frame.id : undefined;
      // The server's trouble (the database away) is no fault of the client's: answered, never counted as a strike.
      if (err instanceof ParleyServerError && err.code === 'unavailable') {
        return connection.send({ type: 'error', ...(id ? { id } : {}), code: err.code, message: err.message });
      }
      if (err instanceof ParleyServerError) return this.#refuse(connection, id, err.code, err.message);
      this.options.log.error({ err, type: frame.type }, 'frame failed');
      connection.send({ type: 'error', ...(id ? { id } : {}), code: 'internal', message: 'internal error; it has been logged' });
    }
  }

  /**
   * A frame failed outside a request's answer: authentication could not load the identity's conversations
   * (the database away): the client is told why and asked to reconnect. Nothing escapes to stop the process.
   */
  #frameFailed(connection: ClientConnection, err: unknown): void {
    const unavailable = err instanceof ParleyServerError && err.code === 'unavailable';
    if (!unavailable) this.options.log.error({ err }, 'frame failed');
    const message = unavailable ? err.message : 'internal error; it has been logged';
    connection.send({ type: 'error', code: unavailable ? 'unavailable' : 'internal', message });
    connection.close(CloseCode.tryAgainLater, unavailable ? 'database unavailable; reconnect' : 'internal error; reconnect');
  }

  /**
   * Completes authentication. The open conversations are read first; then, with no await in between, the
   * connection subscribes to everything and `ready` goes out, so no frame can overtake `ready`. Whatever was
   * published while reading is fetched by the client's `conversation.sync` from its last seq.
   */
  async #ready(connection: ClientConnection, party: Party): Promise<void> {
    const conversations = await this.options.conversations.openConversationsOf(party);
    if (!connection.isOpen) return;
    const max = this.options.limits.maxSocketsPerIdentity;
    if ((this.#identityBuckets.get(party.id)?.connections ?? 0) >= max) {
      connection.send({ type: 'error', code: 'rate_limited', message: `this identity holds ${max} connections already; close one first` });
      return connection.close(CloseCode.policy, 'too many connections for this identity');
    }
    connection.party = party;
    connection.bucket.scale(party.role === 'agent' ? AGENT_FACTOR : 1);
    this.#identityBucket(party, true);
    this.options.nodes.connected(party);
    connection.subscribe(topics.party(party.id));
    for (const c of conversations) connection.subscribe(topics.conversation(c.sessionID), c.lastSeq);
    const scope = connection.guestScope;
    if (scope) {
      // A guest hears its call's changes and nothing else of the conversation (ClientConnection filters).
      connection.subscribe(topics.conversation(scope.sessionID));
      const live = this.options.calls.liveCall(scope.sessionID);
      const call = live && live.callId === scope.callId && live.participants.some((p) => p.id === party.id) ? live : null;
      connection.send({ type: 'ready', v: PROTOCOL_VERSION, identity: party, conversations: [], guest: { sessionID: scope.sessionID, call } });
      // Removed or gone: the guest learns its call is over for it, and hears nothing more.
      if (call === null) connection.outOfCall();
      return;
    }
    if (party.role !== 'agent') {
      connection.send({ type: 'ready', v: PROTOCOL_VERSION, identity: party, conversations });
      return;
    }
    connection.subscribe(topics.agents);
    const presence = this.options.presence.presenceOnConnect(party.id);
    connection.send({ type: 'ready', v: PROTOCOL_VERSION, identity: party, conversations, presence });
    this.options.presence.connected(party);
  }

  #identityBucket(party: Party, connecting = false): TokenBucket {
    let entry = this.#identityBuckets.get(party.id);
    if (!entry) {
      const factor = IDENTITY_FACTOR * (party.role === 'agent' ? AGENT_FACTOR : 1);
      const { rps, burst } = this.options.rateLimit;
      entry = { bucket: new TokenBucket(rps * factor, burst * factor), connections: 0 };
      this.#identityBuckets.set(party.id, entry);
    }
    if (connecting) entry.connections++;
    return entry.bucket;
  }

  /** Returns true when that was the identity's last connection. */
  #releaseIdentityBucket(id: string): boolean {
    const entry = this.#identityBuckets.get(id);
    if (!entry || --entry.connections > 0) return false;
    this.#identityBuckets.delete(id);
    return true;
  }

  #refuse(connection: ClientConnection, id: string | undefined, code: ErrorCode, message: string): void {
    if (connection.strike()) return;
    connection.send({ type: 'error', ...(id ? { id } : {}), code, message });
  }

  #refuseAuth(connection: ClientConnection, code: ErrorCode, message: string): void {
    connection.send({ type: 'error', code, message });
    connection.close(CloseCode.unauthorized, message.slice(0, 100));
  }

  /**
   * Closes authenticated connections that sent no frame and no pong within the idle limit; pings the rest. A silent
   * peer is most likely gone (a cut network), so it is not waited on for the closing handshake: its socket is
   * destroyed soon after the close frame, and the party counts as gone (its calls' grace begins) at once, not after
   * the WebSocket library's 30 s closing timeout.
   */
  #beat(): void {
    const idleMs = this.options.limits.wsIdleTimeoutMs;
    for (const connection of this.#connections) {
      if (connection.party !== null && connection.silentForMs() > idleMs) {
        connection.close(CloseCode.idle, 'idle; reconnect');
        setTimeout(() => connection.socket.terminate(), SILENT_CLOSE_WAIT_MS).unref();
        continue;
      }
      try {
        connection.socket.ping();
      } catch {
        connection.socket.terminate();
      }
    }
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  // Node's HTTP server stops listening for errors on a socket it hands to 'upgrade': without a listener, a peer
  // that resets the connection (HAProxy does, on a refused upgrade) would be an uncaught exception.
  socket.on('error', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
}

