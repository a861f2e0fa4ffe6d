import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { parseTrustProxy } from './net/ProxyTrust.ts';

/** Validated server configuration. Built from environment variables by {@link loadConfig}. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /**
   * PostgreSQL connection URL (DATABASE_URL); null: the embedded SQLite database in dataDir.
   * Holds the password: log it only through store/index.ts's redactUrl.
   */
  databaseUrl: string | null;
  /**
   * Redis URL (REDIS_URL): the bus between the nodes of one deployment; null: this node is the deployment.
   * Needs DATABASE_URL (the nodes share PostgreSQL). Log it only through redactUrl: it may hold a password.
   */
  redisUrl: string | null;
  /** This node's id in the deployment (NODE_ID; made up from the host name and pid when unset). */
  nodeId: string;
  /** How often this node writes its heartbeat, and after how long without one a node counts as dead. */
  cluster: { heartbeatMs: number; deadAfterMs: number };
  /**
   * For the tests of losing a node only (PARLEY_TEST_CRASH_AT=point:marker): the process kills itself at that
   * point of appending a text message containing the marker. Null otherwise.
   */
  crashAt: { point: 'beforeCommit' | 'afterCommit' | 'afterPublish'; marker: string } | null;
  /** Addresses or CIDRs besides loopback that may read GET /metrics (METRICS_ALLOW); empty: loopback only. */
  metricsAllow: string[];
  /** Public base URL without a trailing slash; null until known when PORT=0 and PUBLIC_URL is unset. */
  publicUrl: string | null;
  /** Origins allowed to use the WebSocket and HTTP API from browsers; null = derive from publicUrl. */
  allowedOrigins: string[] | null;
  tokenSecret: string | null;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  demoAgent: boolean;
  agentMaxChats: number;
  /** Seconds a call request or invitation rings before it expires. */
  callRingSeconds: number;
  /** Seconds a call participant may be disconnected before the call ends. */
  callGraceSeconds: number;
  rateLimit: { rps: number; burst: number };
  iceServers: IceServer[];
  turn: { secret: string; urls: string[]; ttlSeconds: number } | null;
  /**
   * Which ICE candidates browsers use (ICE_TRANSPORT_POLICY): `all` (their own addresses, the STUN-reflected
   * one and TURN), or `relay`: TURN only, so no party ever learns another's addresses. Needs a TURN server.
   */
  iceTransportPolicy: 'all' | 'relay';
  /** Minutes a guest invitation link stays valid. */
  guestInviteMinutes: number;
  /** Most people in a peer-to-peer call (each page sends its media to every other one). */
  meshMaxParticipants: number;
  /**
   * Janus VideoRoom SFUs for calls, when JANUS_URL is set; null: calls are peer-to-peer (up to 4 people).
   * `instances` is the pool (JANUS_URL, comma-separated), in order: `url` is where the server reaches an
   * instance's WebSocket API, `publicUrl` where browsers reach it (JANUS_PUBLIC_URL, same order; default `url`).
   */
  janus: { instances: Array<{ url: string; publicUrl: string }>; apiSecret: string | null; maxParticipants: number } | null;
  /** Caps against abuse by anonymous parties (docs/security.md, "Caps, text and call rules"). */
  caps: AbuseCaps;
  /** Connection limits: who is the client behind a proxy, timeouts, per-address and per-identity caps. */
  connections: ConnectionLimits;
}

/** Caps against abuse; each refusal names its variable and value. */
export interface AbuseCaps {
  /** Visitor identities one client address may create per minute (POST /api/visitors). */
  visitorsPerIpPerMinute: number;
  /** Conversations waiting in the queue from one client address. */
  queuedPerIp: number;
  /** Conversations waiting in the queue in all. */
  queuedTotal: number;
  /** Calls (requests and invitations) one conversation may start per minute. */
  callRequestsPerMinute: number;
  /** Guest links one call may hand out. */
  guestLinksPerCall: number;
}

/** Connection limits against idle, slow and multiplied sockets. */
export interface ConnectionLimits {
  /** Addresses or CIDRs of the reverse proxies whose X-Forwarded-For is believed (TRUST_PROXY); empty: none. */
  trustProxy: string[];
  /** Node's headersTimeout: a request's headers must arrive within this. */
  httpHeadersTimeoutMs: number;
  /** Node's requestTimeout: a whole request (headers and body) must arrive within this. */
  httpRequestTimeoutMs: number;
  /** An HTTP socket silent this long is closed (fastify's connectionTimeout). */
  httpIdleTimeoutMs: number;
  /** An idle keep-alive socket is closed after this. */
  httpKeepAliveMs: number;
  /** A WebSocket that has not authenticated within this is closed (4408). */
  wsAuthTimeoutMs: number;
  /** An authenticated WebSocket with no frame and no pong for this long is closed (4408). */
  wsIdleTimeoutMs: number;
  /** Open TCP connections (HTTP and WebSocket) one client address may hold; the next is refused with 503. */
  maxConnectionsPerIp: number;
  /** WebSockets one token (visitor, agent or guest) may hold at once; the next is refused. */
  maxSocketsPerIdentity: number;
}

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** Thrown with every problem found, one line each, naming the variable and what is expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Reads and validates configuration from the environment.
 * @throws ConfigError listing every bad value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };

  const bool = (name: string, fallback: boolean): boolean => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name}=${JSON.stringify(raw)}: expected true or false`);
    return fallback;
  };

  const port = int('PORT', 3000, 0, 65535);
  const host = read('HOST') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host)) problems.push(`HOST=${JSON.stringify(host)}: expected a host name or IP address`);

  const dataDirRaw = read('DATA_DIR') ?? './data';
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw);

  const databaseUrl = parseDatabaseUrl(read('DATABASE_URL'), problems);
  const redisUrl = parseRedisUrl(read('REDIS_URL'), problems);
  if (redisUrl !== null && databaseUrl === null) {
    problems.push('REDIS_URL is set but DATABASE_URL is not: the nodes of one deployment share PostgreSQL (set DATABASE_URL=postgres://…)');
  }
  const nodeId = read('NODE_ID') ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, '').slice(0, 40) || 'node'}-${process.pid}-${randomBytes(2).toString('hex')}`;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(nodeId)) problems.push(`NODE_ID=${JSON.stringify(nodeId.slice(0, 80))}: expected 1 to 64 letters, digits, '.', '_' or '-'`);
  let crashAt: Config['crashAt'] = null;
  const crashRaw = read('PARLEY_TEST_CRASH_AT');
  if (crashRaw !== undefined) {
    const match = /^(beforeCommit|afterCommit|afterPublish):(\S{8,})$/.exec(crashRaw);
    if (match) crashAt = { point: match[1] as NonNullable<Config['crashAt']>['point'], marker: match[2] as string };
    else problems.push('PARLEY_TEST_CRASH_AT: expected beforeCommit|afterCommit|afterPublish:<marker of at least 8 characters> (a test hook; leave it unset)');
  }
  const metricsAllow = parseTrustProxy(read('METRICS_ALLOW'));
  for (const bad of metricsAllow.invalid) {
    problems.push(`METRICS_ALLOW: ${JSON.stringify(bad)} is not an IPv4/IPv6 address or CIDR; expected e.g. 10.0.0.0/8,fd00::/8`);
  }
  const heartbeatMs = int('NODE_HEARTBEAT_MS', 2000, 100, 60_000);
  const deadAfterMs = int('NODE_DEAD_MS', 6000, 300, 600_000);
  if (deadAfterMs < 2 * heartbeatMs) problems.push('NODE_DEAD_MS: expected at least twice NODE_HEARTBEAT_MS (a node must miss two heartbeats to count as dead)');

  let publicUrl: string | null = null;
  const publicRaw = read('PUBLIC_URL');
  if (publicRaw !== undefined) {
    const url = parseHttpUrl(publicRaw);
    if (url === null || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
      problems.push(`PUBLIC_URL=${JSON.stringify(publicRaw)}: expected an http(s) origin such as https://chat.example.com`);
    } else publicUrl = url.origin;
  } else if (port !== 0) {
    publicUrl = `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
  }

  let allowedOrigins: string[] | null = null;
  const originsRaw = read('ALLOWED_ORIGINS');
  if (originsRaw !== undefined) {
    allowedOrigins = [];
    for (const item of originsRaw.split(',').map((s) => s.trim()).filter(Boolean)) {
      const url = parseHttpUrl(item);
      if (url === null || url.origin !== item.replace(/\/$/, '')) {
        problems.push(`ALLOWED_ORIGINS: ${JSON.stringify(item)} is not an origin; expected scheme://host[:port], comma-separated`);
      } else allowedOrigins.push(url.origin);
    }
  }

  const tokenSecret = read('TOKEN_SECRET') ?? null;
  if (tokenSecret !== null && tokenSecret.length < 32) {
    problems.push('TOKEN_SECRET: expected at least 32 characters (leave it unset to have one generated and kept in the database)');
  }

  const logRaw = read('LOG_LEVEL') ?? 'info';
  const logLevel = (LOG_LEVELS as readonly string[]).includes(logRaw) ? (logRaw as Config['logLevel']) : 'info';
  if (logLevel !== logRaw) problems.push(`LOG_LEVEL=${JSON.stringify(logRaw)}: expected one of ${LOG_LEVELS.join(', ')}`);

  const iceServers = parseIceServers(read('ICE_SERVERS'), problems);
  const turnSecret = read('TURN_SECRET');
  const turnUrls = (read('TURN_URLS') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const u of turnUrls) {
    if (!/^turns?:[^\s]+$/.test(u)) problems.push(`TURN_URLS: ${JSON.stringify(u)} is not a turn: or turns: URL`);
  }
  if (turnSecret !== undefined && turnUrls.length === 0) problems.push('TURN_SECRET is set but TURN_URLS is empty: expected the TURN server URLs');
  if (turnSecret === undefined && turnUrls.length > 0) problems.push('TURN_URLS is set but TURN_SECRET is not: expected the shared secret of the TURN server');

  const policyRaw = read('ICE_TRANSPORT_POLICY') ?? 'all';
  const iceTransportPolicy = policyRaw === 'relay' ? 'relay' : 'all';
  if (policyRaw !== 'all' && policyRaw !== 'relay') problems.push(`ICE_TRANSPORT_POLICY=${JSON.stringify(policyRaw)}: expected all or relay`);
  const anyTurn = turnUrls.length > 0 || iceServers.some((s) => [s.urls].flat().some((u) => /^turns?:/.test(u)));
  if (iceTransportPolicy === 'relay' && !anyTurn) {
    problems.push('ICE_TRANSPORT_POLICY=relay sends media only through TURN, and none is configured: set TURN_URLS and TURN_SECRET, or a turn: URL in ICE_SERVERS');
  }

  // The Janus pool: one ws(s):// URL per instance, comma-separated; JANUS_PUBLIC_URL names the same instances in order.
  const janusUrls = (name: 'JANUS_URL' | 'JANUS_PUBLIC_URL'): string[] | undefined => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    const urls = raw.split(',').map((s) => s.trim()).filter(Boolean);
    const seen = new Set<string>();
    for (const item of urls) {
      let url: URL | null = null;
      try {
        url = new URL(item);
      } catch {
        // reported below
      }
      if (url === null || (url.protocol !== 'ws:' && url.protocol !== 'wss:') || url.hostname === '' || /\s/.test(item)) {
        problems.push(`${name}: ${JSON.stringify(item)} is not a ws:// or wss:// URL of Janus's WebSocket API (one per instance, comma-separated)`);
      } else if (seen.has(url.href)) {
        problems.push(`${name}: ${JSON.stringify(item)} is listed twice; each Janus instance once`);
      } else seen.add(url.href);
    }
    if (urls.length === 0) problems.push(`${name}: expected at least one ws:// or wss:// URL`);
    return urls;
  };
  const janusUrl = janusUrls('JANUS_URL');
  const janusPublicUrl = janusUrls('JANUS_PUBLIC_URL');
  if (janusPublicUrl !== undefined && janusUrl === undefined) problems.push('JANUS_PUBLIC_URL is set but JANUS_URL is not: expected the URL the server reaches Janus at');
  if (janusUrl !== undefined && janusPublicUrl !== undefined && janusUrl.length > 0 && janusPublicUrl.length !== janusUrl.length) {
    problems.push(
      `JANUS_PUBLIC_URL names ${janusPublicUrl.length} URL(s) but JANUS_URL ${janusUrl.length}: expected one public URL per instance, in the same order (or leave JANUS_PUBLIC_URL unset)`,
    );
  }

  const config: Omit<Config, 'connections'> = {
    port,
    host,
    dataDir,
    databaseUrl,
    redisUrl,
    nodeId,
    cluster: { heartbeatMs, deadAfterMs },
    crashAt,
    metricsAllow: metricsAllow.entries,
    publicUrl,
    allowedOrigins,
    tokenSecret,
    logLevel,
    demoAgent: bool('DEMO_AGENT', true),
    agentMaxChats: int('AGENT_MAX_CHATS', 5, 1, 1000),
    callRingSeconds: int('CALL_RING_SECONDS', 30, 1, 600),
    callGraceSeconds: int('CALL_GRACE_SECONDS', 20, 1, 600),
    rateLimit: { rps: int('RATE_LIMIT_RPS', 20, 1, 100_000), burst: int('RATE_LIMIT_BURST', 60, 1, 1_000_000) },
    iceServers,
    turn:
      turnSecret !== undefined && turnUrls.length > 0
        ? { secret: turnSecret, urls: turnUrls, ttlSeconds: int('TURN_TTL_SECONDS', 3600, 60, 86_400) }
        : null,
    iceTransportPolicy,
    guestInviteMinutes: int('GUEST_INVITE_MINUTES', 15, 1, 24 * 60),
    meshMaxParticipants: int('MESH_MAX_PARTICIPANTS', 4, 2, 8),
    janus:
      janusUrl !== undefined
        ? {
            instances: janusUrl.map((url, i) => ({ url, publicUrl: janusPublicUrl?.[i] ?? url })),
            apiSecret: read('JANUS_API_SECRET') ?? null,
            maxParticipants: int('JANUS_MAX_PARTICIPANTS', 12, 2, 100),
          }
        : null,
    caps: {
      visitorsPerIpPerMinute: int('VISITORS_PER_IP_PER_MINUTE', 120, 1, 1_000_000),
      queuedPerIp: int('MAX_QUEUED_PER_IP', 20, 1, 1_000_000),
      queuedTotal: int('MAX_QUEUED_TOTAL', 500, 1, 1_000_000),
      callRequestsPerMinute: int('CALL_REQUESTS_PER_MINUTE', 6, 1, 1000),
      guestLinksPerCall: int('GUEST_LINKS_PER_CALL', 10, 1, 1000),
    },
  };
  const connections = readConnectionLimits(read, int, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...config, connections };
}

function readConnectionLimits(
  read: (name: string) => string | undefined,
  int: (name: string, fallback: number, min: number, max: number) => number,
  problems: string[],
): ConnectionLimits {
  const trust = parseTrustProxy(read('TRUST_PROXY'));
  for (const bad of trust.invalid) {
    problems.push(`TRUST_PROXY: ${JSON.stringify(bad)} is not an IPv4/IPv6 address or CIDR; expected e.g. 127.0.0.1,10.0.0.0/8,::1`);
  }
  const seconds = (name: string, fallback: number, max = 3600) => int(name, fallback, 1, max) * 1000;
  const limits: ConnectionLimits = {
    trustProxy: trust.entries,
    httpHeadersTimeoutMs: seconds('HTTP_HEADERS_TIMEOUT_SECONDS', 10),
    httpRequestTimeoutMs: seconds('HTTP_REQUEST_TIMEOUT_SECONDS', 30),
    httpIdleTimeoutMs: seconds('HTTP_IDLE_TIMEOUT_SECONDS', 30),
    httpKeepAliveMs: seconds('HTTP_KEEP_ALIVE_SECONDS', 5),
    wsAuthTimeoutMs: seconds('WS_AUTH_TIMEOUT_SECONDS', 10),
    // The server pings three times within this, and browsers answer pings by themselves (in a background tab too),
    // so a live client never reaches it; a cut network is noticed within it, and a call's grace starts then.
    wsIdleTimeoutMs: seconds('WS_IDLE_TIMEOUT_SECONDS', 20),
    maxConnectionsPerIp: int('MAX_CONNECTIONS_PER_IP', 200, 1, 1_000_000),
    maxSocketsPerIdentity: int('MAX_SOCKETS_PER_IDENTITY', 10, 1, 10_000),
  };
  if (limits.httpHeadersTimeoutMs > limits.httpRequestTimeoutMs) {
    problems.push('HTTP_HEADERS_TIMEOUT_SECONDS: expected at most HTTP_REQUEST_TIMEOUT_SECONDS (the headers are part of the request)');
  }
  return limits;
}

/**
 * A postgres:// (or postgresql://) URL with a host and a database name, or null when unset. Problems
 * never repeat the value: it may hold a password.
 */
function parseDatabaseUrl(raw: string | undefined, problems: string[]): string | null {
  if (raw === undefined) return null;
  const expected = 'expected postgres://user:password@host:5432/database (leave it unset for the embedded SQLite in DATA_DIR)';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`DATABASE_URL: not a URL; ${expected}`);
    return null;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    problems.push(`DATABASE_URL: the scheme ${JSON.stringify(url.protocol.slice(0, -1))} is not postgres; ${expected}`);
    return null;
  }
  if (url.hostname === '') {
    problems.push(`DATABASE_URL: no host; ${expected}`);
    return null;
  }
  if (url.pathname.replace(/^\//, '') === '') {
    problems.push(`DATABASE_URL: no database name after the host; ${expected}`);
    return null;
  }
  return raw;
}

/** A redis:// or rediss:// URL with a host, or null when unset. Problems never repeat the value (a password). */
function parseRedisUrl(raw: string | undefined, problems: string[]): string | null {
  if (raw === undefined) return null;
  const expected = 'expected redis://[:password@]host:6379[/db] or rediss://… (leave it unset for a single node)';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`REDIS_URL: not a URL; ${expected}`);
    return null;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    problems.push(`REDIS_URL: the scheme ${JSON.stringify(url.protocol.slice(0, -1))} is not redis; ${expected}`);
    return null;
  }
  if (url.hostname === '') {
    problems.push(`REDIS_URL: no host; ${expected}`);
    return null;
  }
  return raw;
}

function parseHttpUrl(raw: string): URL | null {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

function parseIceServers(raw: string | undefined, problems: string[]): IceServer[] {
  if (raw === undefined) return [];
  const expected = 'expected a JSON array like [{"urls":"stun:stun.example.com:3478"}]';
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    problems.push(`ICE_SERVERS: not valid JSON; ${expected}`);
    return [];
  }
  if (!Array.isArray(value)) {
    problems.push(`ICE_SERVERS: ${expected}`);
    return [];
  }
  const servers: IceServer[] = [];
  value.forEach((item: unknown, i) => {
    const s = item as Partial<IceServer> | null;
    const urls = s?.urls;
    const urlsOk = typeof urls === 'string' || (Array.isArray(urls) && urls.length > 0 && urls.every((u) => typeof u === 'string'));
    const list = typeof urls === 'string' ? [urls] : Array.isArray(urls) ? urls : [];
    if (!urlsOk || !list.every((u) => /^(stun|stuns|turn|turns):\S+$/.test(u))) {
      problems.push(`ICE_SERVERS[${i}]: expected {"urls": "stun:…" | "turn:…" | [..]} with optional username and credential`);
      return;
    }
    servers.push({
      urls: urls as string | string[],
      ...(typeof s?.username === 'string' ? { username: s.username } : {}),
      ...(typeof s?.credential === 'string' ? { credential: s.credential } : {}),
    });
  });
  return servers;
}

/** The origins allowed by default: the public URL's, plus its localhost/127.0.0.1 twin on loopback. */
export function defaultAllowedOrigins(publicUrl: string): string[] {
  const url = new URL(publicUrl);
  const origins = new Set([url.origin]);
  if (url.hostname === '127.0.0.1' || url.hostname === 'localhost') {
    const port = url.port ? `:${url.port}` : '';
    origins.add(`${url.protocol}//127.0.0.1${port}`);
    origins.add(`${url.protocol}//localhost${port}`);
  }
  return [...origins];
}
