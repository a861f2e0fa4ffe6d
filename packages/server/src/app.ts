import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError } from 'fastify';
import pino, { type Logger } from 'pino';
import { httpStatusFor } from '@parley/protocol';
import { hashPassword } from './auth/password.ts';
import { loadOrCreateSharedSecret } from './auth/secret.ts';
import { InviteTokens, TokenService } from './auth/tokens.ts';
import { randomUUID } from 'node:crypto';
import type { Bus } from './bus/Bus.ts';
import { InProcessBus } from './bus/InProcessBus.ts';
import { RedisBus } from './bus/RedisBus.ts';
import { conversationOf } from './bus/topics.ts';
import { Call } from './calls/Call.ts';
import { NodeRegistry } from './cluster/NodeRegistry.ts';
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
import { Metrics, registerMetrics } from './http/metrics.ts';
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

/**
 * Connects to the deployment's bus. Its channels are named after the deployment (an id made once in the
 * database), so deployments sharing one Redis never hear each other.
 */
async function startRedisBus(config: Config, store: Store, log: Logger): Promise<Bus> {
  const deployment = await store.setting('deployment_id', () => randomUUID(), new Date().toISOString());
  const bus = new RedisBus({
    url: config.redisUrl as string,
    nodeId: config.nodeId,
    prefix: `parley:${deployment}:`,
    log,
    onDeliveryError: (err) => log.error({ err }, 'delivery failed'),
    catchUp: {
      messagesAfter: (sessionID, afterSeq) => store.listMessages(sessionID, { afterSeq, limit: 200 }),
      positions: (ids) => store.conversationPositions(ids, new Date(Date.now() - 15 * 60_000).toISOString()),
      async callSnapshot(callId) {
        const record = await store.getCall(callId);
        return record === null ? null : Call.fromRecord(record).snapshot();
      },
    },
  });
  try {
    await bus.start();
  } catch (err) {
    await bus.close();
    throw new ParleyServerError('unavailable', `the bus (REDIS_URL) could not be reached: ${(err as Error).message}`);
  }
  log.info({ node: config.nodeId }, 'joined the deployment over Redis');
  return bus;
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
  let storeErrors = 0;
  const store = guardStore(opened, (err) => {
    storeErrors++;
    health.failed(err);
  });
  await store.migrate();
  health.start();
  const secret = await loadOrCreateSharedSecret(store, config.dataDir, config.tokenSecret);
  const tokens = new TokenService(secret);
  const clustered = config.redisUrl !== null;
  const bus = clustered ? await startRedisBus(config, store, log) : new InProcessBus((err) => log.error({ err }, 'delivery failed'));
  let counting: ReturnType<Store['countLive']> | null = null;
  const countLive = () =>
    (counting ??= store.countLive().finally(() => {
      counting = null;
    }));
  const metrics = new Metrics(
    {
      nodeId: config.nodeId,
      version: '0.1.0',
      connections: () => gateway.connectionCount,
      // One scrape asks both at once: they share one count of the store.
      openConversations: async () => (await countLive()).conversations,
      callsByState: async () => (await countLive()).calls,
      bus: () => bus.health(),
      store: () => ({ healthy: health.state.healthy, errors: storeErrors }),
    },
    { onSourceError: (source, err) => log.warn({ err, source }, 'a metrics source failed; left out of this scrape') },
  );
  const open = new OpenConversations(store);
  const transcript = new Transcript({
    store,
    bus,
    onAppended: (message) => {
      open.noteSeq(message.sessionID, message.seq);
      metrics.messageStored(message.kind);
    },
    crashAt: config.crashAt,
    republishDuplicates: clustered,
  });
  const presence = new AgentPresence({
    registry: new PresenceRegistry(),
    store,
    bus,
    nodeId: config.nodeId,
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
    iceTransportPolicy: config.iceTransportPolicy,
    media: createMediaTopology(config, log, store),
    callRequestsPerMinute: config.caps.callRequestsPerMinute,
    guestLinksPerCall: config.caps.guestLinksPerCall,
    clustered,
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
  // Other nodes' changes reach this node's caches: what they changed is read again from the store.
  bus.observe({
    remote(topic, frame) {
      const sessionID = conversationOf(topic);
      if (sessionID === null) return;
      if (frame.type === 'message') open.noteSeq(sessionID, frame.message.seq);
      else if (frame.type === 'call.updated') calls.changedElsewhere(sessionID);
      else if (frame.type === 'conversation.updated' || frame.type === 'conversation.closed') open.changedElsewhere(sessionID);
    },
    recovered() {
      open.everythingChangedElsewhere();
      calls.everythingChangedElsewhere();
      void gateway.catchUpAgents();
      void presence.refresh().catch((err: unknown) => log.warn({ err }, 'presence could not be read again'));
    },
    roundTrip: (ms) => metrics.observeBusRoundTrip(ms),
    announced(event) {
      if (event.kind === 'presence') void presence.refresh().catch((err: unknown) => log.warn({ err }, 'presence could not be read again'));
    },
  });
  // This node among the deployment's: a heartbeat, and whoever reaps a dead node settles its parties.
  const nodes = new NodeRegistry({
    store,
    nodeId: config.nodeId,
    url: () => url,
    heartbeatMs: config.cluster.heartbeatMs,
    deadAfterMs: config.cluster.deadAfterMs,
    log,
    async partyGone(party) {
      await calls.partyOffline(party);
      if (party.role === 'agent') presence.goneEverywhere(party);
    },
    tick: () => presence.refresh(),
  });
  // What outlives a node: agents' choices, and the live calls with their deadlines from their stored times.
  await presence.load();
  await calls.load();
  const guests = new GuestInvites({
    invites: new InviteTokens(secret),
    tokens,
    conversations: open,
    calls,
    log,
    ttlSeconds: config.guestInviteMinutes * 60,
    baseUrl: () => url,
  });

  let url = '';
  await nodes.start();
  // Deadlines set by any node (it may be dead) are applied by every node's sweep; twice does nothing.
  const sweeper = clustered
    ? setInterval(() => void calls.sweepDeadlines().catch((err: unknown) => log.warn({ err }, 'the deadline sweep failed')), Math.min(1000, config.cluster.heartbeatMs))
    : null;
  sweeper?.unref();
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
  // Each node's own figures: loopback, or the addresses METRICS_ALLOW names.
  const metricsTrust = new ProxyTrust(config.metricsAllow);
  registerMetrics(app, metrics, { allow: (ip) => metricsTrust.isTrusted(ip) });
  app.get('/healthz', async (_request, reply) => {
    const about = { version: '0.1.0', node: config.nodeId, connections: gateway.connectionCount, uptimeSeconds: Math.round(process.uptime()) };
    const state = health.state;
    const busHealth = bus.health();
    if (!state.healthy) {
      return reply.code(503).send({ status: 'unavailable', reason: `the database is unavailable: ${state.reason}`, since: state.since, ...about });
    }
    if (!busHealth.connected) return reply.code(503).send({ status: 'unavailable', reason: `the bus is unavailable: ${busHealth.reason}`, ...about });
    return { status: 'ok', ...about };
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
    nodes,
    log,
    onFrame: () => metrics.frameReceived(),
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
        if (sweeper) clearInterval(sweeper);
        await nodes.stop();
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
