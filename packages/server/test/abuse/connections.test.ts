/*
 * Abuse of connections, over real sockets: idle and slow TCP sockets, per-address caps, silent WebSockets,
 * the client address behind a trusted proxy, sockets per identity, the first-frame rule, the Origin check on
 * an encoded path and the pages' CSP. Limits are lowered through the environment so each test is short.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { postJson } from '../support/http.ts';
import { PROTOCOL_VERSION } from '@parley/protocol';
import { ProtocolClient } from '../support/ProtocolClient.ts';
import { TcpProxy } from '../support/TcpProxy.ts';
import { newAgent, newVisitor, startTestServer } from '../support/server.ts';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/** A raw TCP socket to the server from `localAddress` that sends nothing; resolves once connected. */
function rawSocket(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with what the socket received once it is closed (by the server). */
function closed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    if (socket.destroyed) resolve(received);
    else socket.once('close', () => resolve(received));
  });
}

const within = <T>(ms: number, what: string, promise: Promise<T>): Promise<T> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

describe('idle and slow TCP sockets', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ MAX_CONNECTIONS_PER_IP: '100', HTTP_IDLE_TIMEOUT_SECONDS: '2', HTTP_HEADERS_TIMEOUT_SECONDS: '1' });
  });
  after(() => server.stop());

  it('refuses 1,100 silent sockets of one address over the cap, closes the rest on time, and serves another address meanwhile', async () => {
    const started = Date.now();
    const sockets: Socket[] = [];
    for (let i = 0; i < 1100; i++) sockets.push(await rawSocket(server.port, '127.0.0.2'));
    const ends = sockets.map(closed);
    // An honest request from another address is served while the attacker holds its sockets.
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    const received = await within(6000, 'all 1,100 sockets closed', Promise.all(ends));
    const refused = received.filter((r) => r.startsWith('HTTP/1.1 503')).length;
    assert.equal(refused, 1000, 'every socket over the cap of 100 is refused with 503');
    assert.ok(Date.now() - started < 6000, `closed in ${Date.now() - started} ms`);
    // The address may connect again once its sockets are gone.
    const again = await rawSocket(server.port, '127.0.0.2');
    again.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(await within(2000, 'answer', closed(again)), /^HTTP\/1.1 200/);
  });

  it('closes a socket that trickles its headers past the headers timeout', async () => {
    const socket = await rawSocket(server.port, '127.0.0.3');
    const end = closed(socket);
    socket.write('GET /healthz HTTP/1.1\r\n');
    const trickle = setInterval(() => socket.writable && socket.write('X-Slow: y\r\n'), 300);
    const started = Date.now();
    try {
      await within(4000, 'slow socket closed', end);
    } finally {
      clearInterval(trickle);
    }
    assert.ok(Date.now() - started >= 900, 'not before the headers timeout');
  });
});

describe('silent WebSockets', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ WS_AUTH_TIMEOUT_SECONDS: '1', WS_IDLE_TIMEOUT_SECONDS: '1' });
  });
  after(() => server.stop());

  it('closes a socket that never authenticates after the pre-auth limit, with a code', async () => {
    const client = await ProtocolClient.open(server.url);
    const code = await client.waitClose(3000);
    assert.equal(code, 4408);
    assert.ok(client.frames.some((f) => f.type === 'error' && f.code === 'unauthorized'));
  });

  it('closes an authenticated socket with no frame and no pong; keeps one with a heartbeat, and one that answers pings', async () => {
    const silent = await newVisitor(server);
    silent.client.close();
    const mute = await ProtocolClient.connect(server.url, silent.token, { autoPong: false });
    const beating = await ProtocolClient.connect(server.url, silent.token, { autoPong: false });
    const ponging = await ProtocolClient.connect(server.url, silent.token);
    const heartbeat = setInterval(() => void beating.request('ping', {}).catch(() => undefined), 400);
    try {
      assert.equal(await mute.waitClose(3500), 4408);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(beating.closeCode, null, 'a socket with a heartbeat stays open');
      assert.equal(ponging.closeCode, null, 'a socket that answers pings stays open');
    } finally {
      clearInterval(heartbeat);
      await Promise.all([beating.close(), ponging.close()]);
    }
  });

  it('counts a party behind a silent network as gone soon after the idle limit, without waiting for a closing handshake', async () => {
    // Through a proxy that stops forwarding: the close frame is never answered, as over a cut network. The library's
    // own closing timeout is 30 s; the server must not wait for it (that would delay a call's grace by as much).
    const proxy = await TcpProxy.start('127.0.0.1', server.port);
    const watcher = await newAgent(server, 'Watcher');
    const cut = await newAgent(server, 'Cut Off');
    const behind = await ProtocolClient.connect(`http://127.0.0.1:${proxy.port}`, cut.token);
    cut.client.close();
    try {
      await watcher.client.request('presence.set', { presence: 'away' });
      const online = await watcher.client.request('agents.list', {});
      assert.equal(online.agents.find((a) => a.id === cut.agent.id)?.presence, 'online', 'online through the proxy');
      proxy.stall();
      const offline = await watcher.client.waitFor(
        (f) => f.type === 'presence.changed' && f.agent.id === cut.agent.id && f.agent.presence === 'offline',
        10_000,
        { fromNow: true },
      );
      assert.ok(offline, 'the colleague is told the agent behind the silent network is offline');
    } finally {
      proxy.restore();
      await behind.close();
      watcher.client.close();
      await proxy.close();
    }
  });
});

describe('behind a trusted proxy', () => {
  /** 12 wrong logins at once (sign-ins allow a burst of 10 per address); the statuses, in order. */
  const wrongLogins = (url: string, email: string, forwardedFor: (i: number) => string) =>
    Promise.all(
      Array.from({ length: 12 }, async (_, i) =>
        (await postJson(`${url}/api/agents/login`, { email, password: 'wrong password!' }, { 'x-forwarded-for': forwardedFor(i) })).status,
      ),
    );

  it("one forwarded address's wrong logins do not lock out another's correct login", async () => {
    const server = await startTestServer({ TRUST_PROXY: '127.0.0.1,::1' });
    try {
      await server.createAgent({ email: 'ana@example.test', name: 'Ana', password: 'correct horse battery' });
      const statuses = await wrongLogins(server.url, 'ana@example.test', () => '203.0.113.7');
      assert.ok(statuses.includes(429), `the attacker is limited: ${statuses.join(',')}`);
      const honest = await postJson(`${server.url}/api/agents/login`, { email: 'ana@example.test', password: 'correct horse battery' }, { 'x-forwarded-for': '198.51.100.2' });
      assert.equal(honest.status, 200);
      // A hop the client wrote itself sits left of what the proxy appended, and is not believed.
      const spoofed = await wrongLogins(server.url, 'ana@example.test', (i) => `192.0.2.${i + 1}, 203.0.113.9`);
      assert.ok(spoofed.includes(429), `spoofed hops do not escape the limit: ${spoofed.join(',')}`);
    } finally {
      await server.stop();
    }
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const server = await startTestServer({ TRUST_PROXY: '10.0.0.0/8' });
    try {
      const statuses = await wrongLogins(server.url, 'ben@example.test', (i) => `203.0.113.${i + 1}`);
      assert.ok(statuses.includes(429), `all came from 127.0.0.1, whatever the header says: ${statuses.join(',')}`);
    } finally {
      await server.stop();
    }
  });

  it('caps WebSockets per forwarded client, not per proxy', async () => {
    const server = await startTestServer({ TRUST_PROXY: '127.0.0.1', MAX_CONNECTIONS_PER_IP: '3' });
    const clients: ProtocolClient[] = [];
    try {
      for (let i = 0; i < 3; i++) clients.push(await ProtocolClient.open(server.url, { headers: { 'x-forwarded-for': '203.0.113.7' } }));
      await assert.rejects(ProtocolClient.open(server.url, { headers: { 'x-forwarded-for': '203.0.113.7' } }), /HTTP 503/);
      clients.push(await ProtocolClient.open(server.url, { headers: { 'x-forwarded-for': '198.51.100.2' } }));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await server.stop();
    }
  });

  it('refuses a TRUST_PROXY that is not an address or CIDR, naming the variable', async () => {
    await assert.rejects(startTestServer({ TRUST_PROXY: '127.0.0.1,proxy.local,10.0.0.0/33' }), (err: Error) => {
      assert.match(err.message, /TRUST_PROXY: "proxy.local"/);
      assert.match(err.message, /TRUST_PROXY: "10.0.0.0\/33"/);
      return true;
    });
  });
});

describe('sockets and frames', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ MAX_SOCKETS_PER_IDENTITY: '3' });
  });
  after(() => server.stop());

  it('lets one token hold at most MAX_SOCKETS_PER_IDENTITY sockets; the next is refused with a code', async () => {
    const visitor = await newVisitor(server);
    const more = [await ProtocolClient.connect(server.url, visitor.token), await ProtocolClient.connect(server.url, visitor.token)];
    const extra = await ProtocolClient.open(server.url);
    extra.send({ type: 'auth', v: PROTOCOL_VERSION, token: visitor.token });
    assert.equal(await extra.waitClose(2000), 1008);
    assert.ok(extra.frames.some((f) => f.type === 'error' && f.code === 'rate_limited'), JSON.stringify(extra.frames));
    await more[0]?.close();
    const after = await ProtocolClient.connect(server.url, visitor.token);
    await Promise.all([after.close(), more[1]?.close(), visitor.client.close()]);
  });

  it('answers a binary first frame and closes the socket', async () => {
    const client = await ProtocolClient.open(server.url);
    client.ws.send(Buffer.from('{"type":"auth"}'), { binary: true });
    assert.equal(await client.waitClose(2000), 4401);
    assert.ok(client.frames.some((f) => f.type === 'error' && f.code === 'unauthorized'));
  });
});

describe('HTTP edge', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('refuses a foreign Origin on an encoded API path like on the plain one', async () => {
    for (const path of ['/api/visitors', '/%61pi/visitors', '/%61%70%69/visitors']) {
      const res = await postJson<{ code: string }>(`${server.url}${path}`, {}, { origin: 'https://evil.example' });
      assert.equal(res.status, 403, path);
      assert.equal(res.body.code, 'forbidden', path);
    }
  });

  it("lets pages connect only to the server's own origins", async () => {
    for (const path of ['/', '/agent', '/guest']) {
      const csp = (await fetch(`${server.url}${path}`)).headers.get('content-security-policy') ?? '';
      const connect = /connect-src ([^;]*)/.exec(csp)?.[1]?.split(' ') ?? [];
      assert.deepEqual(connect, ["'self'", `ws://127.0.0.1:${server.port}`, `ws://localhost:${server.port}`], `${path}: ${csp}`);
    }
  });
});
