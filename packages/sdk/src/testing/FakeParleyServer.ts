/*
 * A small in-memory Parley server for the SDK's Node tests: a real HTTP server and a real `ws`
 * WebSocketServer on 127.0.0.1, speaking the protocol just enough, with knobs to misbehave
 * (drop sockets, lose results, push duplicate or out-of-order frames) and counters to assert on.
 * Test-only: never imported by the SDK itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type {
  ClientFrame,
  ConversationSnapshot,
  Message,
  Party,
  RequestResults,
  RequestType,
  ServerFrame,
} from '@parley/protocol';
import { LIMITS, PROTOCOL_VERSION } from '@parley/protocol/limits';

interface Conversation {
  snapshot: ConversationSnapshot;
  messages: Message[];
  byClientId: Map<string, Message>;
}

/** One authenticated (or not yet) socket. */
export interface FakeConnection {
  socket: WebSocket;
  identity: Party | null;
  /** Every frame received on this socket, in order. */
  frames: ClientFrame[];
}

/** What a test hook may decide about an incoming request. */
export type RequestHook = (
  frame: ClientFrame,
  connection: FakeConnection,
) => 'handle' | 'ignore' | 'drop-connection-after' | void;

export class FakeParleyServer {
  readonly connections: FakeConnection[] = [];
  readonly conversations = new Map<string, Conversation>();
  /** How many times each clientId was received in `message.send` (ignored or not). */
  readonly sendsByClientId = new Map<string, number>();
  /** Every `conversation.sync` received. */
  readonly syncs: Array<{ sessionID: string; afterSeq: number; connection: FakeConnection }> = [];
  /** Every HTTP request, as `METHOD path`. */
  readonly httpRequests: string[] = [];
  /** Tokens the server refuses (as if expired). */
  readonly refusedTokens = new Set<string>();
  /** Called for every request before it is handled. */
  requestHook: RequestHook | null = null;
  /** When false, `message.send` stores and answers but does not broadcast `message` frames. */
  broadcastMessages = true;

  private readonly tokens = new Map<string, Party>();
  private readonly agentPasswords = new Map<string, { password: string; party: Party }>();
  private counter = 0;
  private http!: Server;
  private wss!: WebSocketServer;
  url = '';

  async start(): Promise<this> {
    this.http = createServer((req, res) => void this.handleHttp(req, res));
    this.wss = new WebSocketServer({ server: this.http, path: '/ws' });
    this.wss.on('connection', (socket) => this.handleConnection(socket));
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
    return this;
  }

  /**
   * Stops for good: no new connection is accepted, then every socket is cut. In this order, a client that
   * reconnects at once (as the tests' retry policy does) cannot slip in between and keep the server open.
   */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const socket of this.wss.clients) socket.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await closed;
  }

  /** Registers an agent that can sign in with email and password; returns its party and a token. */
  addAgent(name: string, email: string, password: string): { party: Party; token: string } {
    const party: Party = { id: this.id('agent'), role: 'agent', name };
    this.agentPasswords.set(email, { password, party });
    const token = this.id('tok');
    this.tokens.set(token, party);
    return { party, token };
  }

  /** Creates a visitor identity directly; returns its party and token. */
  addVisitor(name: string): { party: Party; token: string } {
    const party: Party = { id: this.id('visitor'), role: 'visitor', name };
    const token = this.id('tok');
    this.tokens.set(token, party);
    return { party, token };
  }

  /** Opens a conversation for a visitor (queued, or active with `agent`). */
  openConversation(visitor: Party, agent: Party | null = null): Conversation {
    const snapshot: ConversationSnapshot = {
      sessionID: this.id('conv'),
      status: agent ? 'active' : 'queued',
      visitor,
      agent,
      participants: [],
      lastSeq: 0,
      createdAt: new Date().toISOString(),
      closedAt: null,
      visitorInfo: {},
    };
    const conversation = { snapshot, messages: [], byClientId: new Map() };
    this.conversations.set(snapshot.sessionID, conversation);
    return conversation;
  }

  /** Stores a message; broadcasts it to members unless `broadcast` is false. */
  append(sessionID: string, from: Party, text: string, options: { broadcast?: boolean; kind?: 'text' | 'event'; clientId?: string } = {}): Message {
    const conversation = this.mustGet(sessionID);
    const message: Message = {
      id: this.id('msg'),
      seq: conversation.snapshot.lastSeq + 1,
      sessionID,
      from,
      kind: options.kind ?? 'text',
      text,
      at: new Date().toISOString(),
      ...(options.clientId ? { clientId: options.clientId } : {}),
    };
    conversation.messages.push(message);
    conversation.snapshot = { ...conversation.snapshot, lastSeq: message.seq };
    if (options.clientId) conversation.byClientId.set(options.clientId, message);
    if (options.broadcast !== false) this.pushToMembers(sessionID, { type: 'message', message });
    return message;
  }

  /** Sends a frame to every authenticated connection of the conversation's members. */
  pushToMembers(sessionID: string, frame: ServerFrame): void {
    const { snapshot } = this.mustGet(sessionID);
    const members = new Set([snapshot.visitor.id, snapshot.agent?.id]);
    for (const c of this.connections) {
      if (c.identity && members.has(c.identity.id) && c.socket.readyState === c.socket.OPEN) {
        c.socket.send(JSON.stringify(frame));
      }
    }
  }

  /** Sends a frame to every authenticated agent connection (queue news). */
  pushToAgents(frame: ServerFrame): void {
    for (const c of this.connections) {
      if (c.identity?.role === 'agent' && c.socket.readyState === c.socket.OPEN) c.socket.send(JSON.stringify(frame));
    }
  }

  /** Tells agents a conversation entered the queue, as the real server does (within a page's reach only). */
  private announceAdded(sessionID: string): void {
    const queue = this.queue();
    const position = queue.findIndex((q) => q.sessionID === sessionID);
    const added = queue[position];
    if (added && position < LIMITS.maxQueuePage) this.pushToAgents({ type: 'queue.updated', size: queue.length, added, position });
    else this.pushToAgents({ type: 'queue.updated', size: queue.length });
  }

  /** Cuts every socket without a close handshake (the client sees 1006). */
  dropConnections(): void {
    for (const c of this.connections) c.socket.terminate();
  }

  /** Closes every socket with a code (e.g. 4401, 1012), after an optional frame (e.g. goaway). */
  closeConnections(code: number, before?: ServerFrame): void {
    for (const c of this.connections) {
      if (c.socket.readyState !== c.socket.OPEN) continue;
      if (before) c.socket.send(JSON.stringify(before));
      c.socket.close(code);
    }
  }

  /** Connections that completed `auth`. */
  get authenticated(): FakeConnection[] {
    return this.connections.filter((c) => c.identity !== null);
  }

  // ------------------------------------------------------------------ websocket

  private handleConnection(socket: WebSocket): void {
    const connection: FakeConnection = { socket, identity: null, frames: [] };
    this.connections.push(connection);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ClientFrame;
      connection.frames.push(frame);
      if (!connection.identity) return this.handleAuth(connection, frame);
      if (frame.type === 'message.send') {
        this.sendsByClientId.set(frame.clientId, (this.sendsByClientId.get(frame.clientId) ?? 0) + 1);
      }
      const decision = this.requestHook?.(frame, connection);
      if (decision === 'ignore') return;
      if (decision === 'drop-connection-after') {
        this.handleFrame(connection, frame, false);
        socket.terminate();
        return;
      }
      this.handleFrame(connection, frame, true);
    });
  }

  private handleAuth(connection: FakeConnection, frame: ClientFrame): void {
    const party = frame.type === 'auth' && !this.refusedTokens.has(frame.token) ? this.tokens.get(frame.token) : undefined;
    if (!party) {
      this.send(connection, { type: 'error', code: 'unauthorized', message: 'bad token' });
      connection.socket.close(4401);
      return;
    }
    connection.identity = party;
    const conversations = [...this.conversations.values()]
      .map((c) => c.snapshot)
      .filter((s) => s.status !== 'closed' && (s.visitor.id === party.id || s.agent?.id === party.id));
    this.send(connection, {
      type: 'ready',
      v: PROTOCOL_VERSION,
      identity: party,
      conversations,
      ...(party.role === 'agent' ? { presence: 'online' as const } : {}),
    });
  }

  private handleFrame(connection: FakeConnection, frame: ClientFrame, answer: boolean): void {
    const me = connection.identity!;
    const reply = <T extends RequestType>(id: string, data: RequestResults[T]): void => {
      if (answer) this.send(connection, { type: 'result', id, data });
    };
    switch (frame.type) {
      case 'ping':
        return reply<'ping'>(frame.id, { now: new Date().toISOString() });
      case 'chat.start': {
        const open = [...this.conversations.values()].find(
          (c) => c.snapshot.visitor.id === me.id && c.snapshot.status !== 'closed',
        );
        const conversation = open ?? this.openConversation(me);
        const message = !open && frame.text ? this.append(conversation.snapshot.sessionID, me, frame.text, { broadcast: false, clientId: frame.clientId }) : null;
        reply<'chat.start'>(frame.id, { conversation: conversation.snapshot, message });
        if (!open) this.announceAdded(conversation.snapshot.sessionID);
        return;
      }
      case 'message.send': {
        const conversation = this.mustGet(frame.sessionID);
        if (conversation.snapshot.status === 'closed') return this.fail(connection, frame.id, 'conflict');
        const known = conversation.byClientId.get(frame.clientId);
        if (known) return reply<'message.send'>(frame.id, { message: known, duplicate: true });
        const message = this.append(frame.sessionID, me, frame.text, { broadcast: false, clientId: frame.clientId });
        reply<'message.send'>(frame.id, { message, duplicate: false });
        if (this.broadcastMessages && answer) this.pushToMembers(frame.sessionID, { type: 'message', message });
        return;
      }
      case 'conversation.sync': {
        this.syncs.push({ sessionID: frame.sessionID, afterSeq: frame.afterSeq, connection });
        const conversation = this.mustGet(frame.sessionID);
        const after = conversation.messages.filter((m) => m.seq > frame.afterSeq);
        return reply<'conversation.sync'>(frame.id, {
          conversation: conversation.snapshot,
          messages: after.slice(0, 3), // small pages, so paging is exercised
          more: after.length > 3,
        });
      }
      case 'conversation.close': {
        const conversation = this.mustGet(frame.sessionID);
        if (conversation.snapshot.status === 'closed') return this.fail(connection, frame.id, 'conflict');
        this.append(frame.sessionID, { id: 'system', role: 'system', name: 'Parley' }, `${me.name} closed the conversation`, { kind: 'event' });
        const wasQueued = conversation.snapshot.status === 'queued';
        conversation.snapshot = { ...conversation.snapshot, status: 'closed', closedAt: new Date().toISOString() };
        reply<'conversation.close'>(frame.id, { conversation: conversation.snapshot });
        if (wasQueued) this.pushToAgents({ type: 'queue.updated', size: this.queue().length, removed: [frame.sessionID] });
        this.pushToMembers(frame.sessionID, { type: 'conversation.closed', sessionID: frame.sessionID, by: me });
        return;
      }
      case 'typing':
        return;
      case 'queue.list': {
        const queue = this.queue();
        const start = frame.after === undefined ? 0 : queue.findIndex((q) => q.sessionID === frame.after) + 1;
        const page = queue.slice(start, start + (frame.limit ?? 50));
        const more = start + page.length < queue.length;
        return reply<'queue.list'>(frame.id, { queue: page, size: queue.length, next: more ? (page.at(-1)?.sessionID ?? null) : null });
      }
      case 'conversation.accept': {
        const conversation = this.mustGet(frame.sessionID);
        if (conversation.snapshot.status !== 'queued') return this.fail(connection, frame.id, 'conflict');
        conversation.snapshot = { ...conversation.snapshot, status: 'active', agent: me };
        this.append(frame.sessionID, { id: 'system', role: 'system', name: 'Parley' }, `${me.name} joined the conversation`, { kind: 'event' });
        reply<'conversation.accept'>(frame.id, { conversation: conversation.snapshot });
        this.pushToAgents({ type: 'queue.updated', size: this.queue().length, removed: [frame.sessionID] });
        this.pushToMembers(frame.sessionID, { type: 'conversation.assigned', conversation: conversation.snapshot });
        this.pushToMembers(frame.sessionID, { type: 'conversation.updated', conversation: conversation.snapshot });
        return;
      }
      case 'presence.set':
        return reply<'presence.set'>(frame.id, { presence: frame.presence });
      case 'agents.list':
        return reply<'agents.list'>(frame.id, {
          agents: [...this.agentPasswords.values()].map(({ party }) => ({ id: party.id, name: party.name, presence: 'online' as const })),
        });
      case 'auth':
        return;
    }
  }

  private queue(): RequestResults['queue.list']['queue'] {
    return [...this.conversations.values()]
      .filter((c) => c.snapshot.status === 'queued')
      .map((c) => ({
        sessionID: c.snapshot.sessionID,
        visitor: c.snapshot.visitor,
        waitingSince: c.snapshot.createdAt,
        firstMessage: c.messages[0]?.text ?? null,
        visitorInfo: {},
      }));
  }

  private fail(connection: FakeConnection, id: string, code: 'conflict' | 'forbidden'): void {
    this.send(connection, { type: 'error', id, code, message: code });
  }

  private send(connection: FakeConnection, frame: ServerFrame): void {
    if (connection.socket.readyState === connection.socket.OPEN) connection.socket.send(JSON.stringify(frame));
  }

  // ------------------------------------------------------------------ http

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.httpRequests.push(`${req.method} ${url.pathname}`);
    // Any origin may call this fake (browser smoke tests load the SDK from another port).
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-headers', 'content-type, authorization');
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const body = raw ? (JSON.parse(raw) as Record<string, string>) : {};
    if (req.method === 'POST' && url.pathname === '/api/visitors') {
      const { party, token } = this.addVisitor(body.name ?? 'Visitor');
      return json(201, { visitor: party, token, expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    }
    if (req.method === 'POST' && url.pathname === '/api/agents/login') {
      const agent = this.agentPasswords.get(body.email ?? '');
      if (!agent || agent.password !== body.password) return json(401, { code: 'unauthorized', message: 'wrong email or password' });
      const token = this.id('tok');
      this.tokens.set(token, agent.party);
      return json(200, { agent: { ...agent.party, presence: 'online', email: body.email }, token, expiresAt: '2099-01-01T00:00:00Z' });
    }
    const history = /^\/api\/conversations\/([^/]+)\/messages$/.exec(url.pathname);
    if (req.method === 'GET' && history) {
      const party = this.tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      const conversation = this.conversations.get(decodeURIComponent(history[1]!));
      if (!party) return json(401, { code: 'unauthorized', message: 'no token' });
      if (!conversation) return json(404, { code: 'not_found', message: 'no such conversation' });
      const before = Number(url.searchParams.get('before') ?? Infinity);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const older = conversation.messages.filter((m) => m.seq < before);
      return json(200, { messages: older.slice(-limit), more: older.length > limit });
    }
    json(404, { code: 'not_found', message: 'no route' });
  }

  private mustGet(sessionID: string): Conversation {
    const conversation = this.conversations.get(sessionID);
    if (!conversation) throw new Error(`fake server: no conversation ${sessionID}`);
    return conversation;
  }

  private id(prefix: string): string {
    return `${prefix}-${++this.counter}`;
  }
}
