import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError } from 'fastify';
import pino, { type Logger } from 'pino';
import { httpStatusFor } from '@parley/protocol';
import { hashPassword } from './auth/password.ts';
import { loadOrCreateSecret } from './auth/secret.ts';
import { InviteTokens, TokenService } from './auth/tokens.ts';
import { InProcessBus } from './bus/InProcessBus.ts';
import { defaultAllowedOrigins, type Config } from './config.ts';
import { CallService } from './calls/CallService.ts';
import { GuestInvites } from './calls/GuestInvites.ts';
import { createMediaTopology } from './calls/media/index.ts';
import { ConversationService } from './conversations/ConversationService.ts';
import { OpenConversations } from './conversations/OpenConversations.ts';
import { Transcript } from './conversations/Transcript.ts';
import { ParleyServerError } from './errors.ts';
import { Gateway } from './gateway/Gateway.ts';
import { registerApi } from './http/api.ts';
import { QueueAdmission } from './conversations/QueueAdmission.ts';
import { registerCors } from './http/cors.ts';
import { registerPages, webSocketOrigins } from './http/pages.ts';
import { ConnectionCap, capConnections } from './net/ConnectionCap.ts';
import { ProxyTrust } from './net/ProxyTrust.ts';
import { AgentPresence } from './routing/AgentPresence.ts';
import { PresenceRegistry } from './routing/PresenceRegistry.ts';
import { Queue } from './routing/Queue.ts';
import { openStore } from './store/index.ts';
import type { AgentRecord, Store } from './store/Store.ts';
import { StoreConflictError } from './store/Store.ts';
import { StoreHealth } from './store/StoreHealth.ts';
import { guardStore } from './store/unavailable.ts';

/** A running Parley server. */
export interface ParleyServer {
  /** Base URL, e.g. http://127.0.0.1:3000 */
  readonly url: string;
  readonly port: number;
  readonly allowedOrigins: readonly string[];
  readonly store: Store;
  readonly log: Logger;
  /** Creates an agent (password hashed with scrypt). Throws ParleyServerError `conflict` for a taken email. */
  createAgent(input: { email: string; name: string; password: string }): Promise<AgentRecord>;
  /** Graceful stop: no new connections, clients told to reconnect, writes finished, store closed. */
  close(): Promise<void>;
}

/** Creates an agent in a store. Shared by the server and the CLI. */
export async function createAgent(store: Store, input: { email: string; name: string; password: string }): Promise<AgentRecord> {
  if (input.password.length < 8) throw ParleyServerError.invalid('the password must have at least 8 characters');
  try {
    return await store.createAgent({
      id: crypto.randomUUID(),
      email: input.email.trim().toLowerCase(),
      name: input.name.trim(),
      passwordHash: await hashPassword(input.password),
    });
  } catch (err) {
    if (err instanceof StoreConflictError) throw ParleyServerError.conflict(`an agent with email ${input.email} exists already`);
    throw err;
  }
}

/** Starts Parley with a validated configuration. */
export async function startServer(config: Config, options: { log?: Logger; store?: Store } = {}): Promise<ParleyServer> {
  const log = options.log ?? pino({ level: config.logLevel, base: { service: 'parley' } });
  // The database may go away while running: its failures become `unavailable` errors, and StoreHealth follows it.
  const health = new StoreHealth({ ping: () => opened.ping(), log });
  const onIdleError = (err: Error) => {
    log.warn({ err }, 'an idle database connection failed; it is replaced on demand');
    health.failed(err);
  };
  const opened = options.store ?? (await openStore(config, { onIdleError }));
  const store = guardStore(opened, (err) => health.failed(err));
  await store.migrate();
  health.start();
  const secret = await loadOrCreateSecret(config.dataDir, config.tokenSecret);
  const tokens = new TokenService(secret);
  const bus = new InProcessBus((err) => log.error({ err }, 'delivery failed'));
  const open = new OpenConversations(store);
  const transcript = new Transcript({ store, bus, onAppended: (message) => open.noteSeq(message.sessionID, message.seq) });
  const presence = new AgentPresence({
    registry: new PresenceRegistry(),
    store,
    bus,
    onListenerError: (err) => log.error({ err }, 'presence listener failed'),
  });
  const calls = new CallService({
    bus,
    conversations: open,
    transcript,
    store,
    log,
    ringMs: config.callRingSeconds * 1000,
    graceMs: config.callGraceSeconds * 1000,
    ice: config,
    media: createMediaTopology(config, log, store),
    callRequestsPerMinute: config.caps.callRequestsPerMinute,
    guestLinksPerCall: config.caps.guestLinksPerCall,
  });
  const conversations = new ConversationService({
    store,
    bus,
    log,
    open,
    transcript,
    queue: new Queue({ store, bus, log }),
    presence,
    calls,
    agentMaxChats: config.agentMaxChats,
    admission: new QueueAdmission({
      perAddress: config.caps.queuedPerIp,
      total: config.caps.queuedTotal,
      queuedAtStart: async () => (await store.listQueuedConversations()).map((c) => c.id),
    }),
  });
  // What outlives a node: agents' choices, and the live calls with their deadlines from their stored times.
  await presence.load();
  await calls.load();
  let url = '';
  const guests = new GuestInvites({
    invites: new InviteTokens(secret),
    tokens,
    conversations: open,
    calls,
    log,
    ttlSeconds: config.guestInviteMinutes * 60,
    baseUrl: () => url,
  });

  const limits = config.connections;
  const trust = new ProxyTrust(limits.trustProxy);
  const connectionCap = new ConnectionCap(limits.maxConnectionsPerIp);
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    // request.ip is the client behind a trusted proxy, the socket's peer otherwise (the Gateway uses the same rule).
    trustProxy: (address: string) => trust.isTrusted(address),
    connectionTimeout: limits.httpIdleTimeoutMs,
    keepAliveTimeout: limits.httpKeepAliveMs,
    requestTimeout: limits.httpRequestTimeoutMs,
    // Headers and request timeouts are enforced by a sweep; once a second keeps them close to their value.
    http: { headersTimeout: limits.httpHeadersTimeoutMs, connectionsCheckingInterval: 1000 },
  });
  capConnections(app.server, connectionCap, trust, (address) => log.warn({ address }, 'connection refused: too many from this address'));
  let allowed: string[] = [];
  const isAllowedOrigin = (origin: string) => allowed.includes(origin);

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ParleyServerError) {
      if (err.code === 'unavailable') reply.header('retry-after', '1');
      return reply.code(httpStatusFor(err.code)).send({ code: err.code, message: err.message });
    }
    if (err.statusCode === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ code: 'too_large', message: 'request body is over 64 KiB' });
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(400).send({ code: 'invalid_frame', message: err.message });
    }
    log.error({ err, url: request.url }, 'request failed');
    return reply.code(500).send({ code: 'internal', message: 'internal error; it has been logged' });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ code: 'not_found', message: 'no such route' }));
  registerCors(app, isAllowedOrigin);
  registerApi(app, { store, tokens, conversations, presence, guests, visitorsPerIpPerMinute: config.caps.visitorsPerIpPerMinute });
  // Pages connect to this server's own origins (HTTP and WebSocket) and, for SFU calls, to Janus; nowhere else.
  let connectTo: string[] = [];
  registerPages(app, () => allowed, () => connectTo);
  app.get('/healthz', async (_request, reply) => {
    const about = { version: '0.1.0', node: config.nodeId, connections: gateway.connectionCount, uptimeSeconds: Math.round(process.uptime()) };
    const state = health.state;
    if (state.healthy) return { status: 'ok', ...about };
    return reply.code(503).send({ status: 'unavailable', reason: `the database is unavailable: ${state.reason}`, since: state.since, ...about });
  });

  const gateway = new Gateway({
    server: app.server,
    path: '/ws',
    conversations,
    presence,
    calls,
    guests,
    tokens,
    bus,
    log,
    isAllowedOrigin,
    rateLimit: config.rateLimit,
    trust,
    connectionCap,
    limits,
  });

  await app.listen({ port: config.port, host: config.host });
  const port = (app.server.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  url = config.publicUrl ?? `http://${hostForUrl}:${port}`;
  // The server's own origin is always allowed: its pages and the widget's frame connect from it.
  allowed = [...new Set([...(config.allowedOrigins ?? []), ...defaultAllowedOrigins(url)])];
  const janusOrigins = (config.janus?.instances ?? []).map((instance) => new URL(instance.publicUrl).origin);
  connectTo = [...new Set([...webSocketOrigins(defaultAllowedOrigins(url)), ...janusOrigins])];
  log.info({ url, allowedOrigins: allowed }, 'listening');

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    allowedOrigins: allowed,
    store,
    log,
    createAgent: (input) => createAgent(store, input),
    close() {
      closing ??= (async () => {
        const httpClosed = app.close();
        await gateway.shutdown();
        await calls.shutdown();
        await conversations.drain();
        await httpClosed;
        await bus.close();
        health.stop();
        await store.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}
