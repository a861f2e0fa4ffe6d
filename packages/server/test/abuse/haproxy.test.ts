/*
 * The abuse findings rerun behind a real HAProxy (README "Behind a reverse proxy"): Parley trusts it
 * (TRUST_PROXY=127.0.0.1) and is otherwise on its defaults, or has one limit lowered so a test is short.
 * Clients reach HAProxy from different loopback addresses (127.0.0.x); HAProxy appends that address to
 * X-Forwarded-For, and every connection Parley sees comes from HAProxy's 127.0.0.1. Each test fails if Parley
 * took HAProxy for the client: one client's abuse would then limit every other client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AgentLoginResponse, CreateVisitorResponse } from '@parley/protocol';
import { startHaproxy, type Haproxy } from '../support/haproxy.ts';
import { postJsonFrom } from '../support/http.ts';
import { ProtocolClient, refusal, type ConnectedClient } from '../support/ProtocolClient.ts';
import { startTestServer } from '../support/server.ts';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

const PASSWORD = 'correct horse battery';

/** A Parley server trusting the proxy in front of it, and an HAProxy in front of it; `stop` ends both. */
async function behindHaproxy(env: Record<string, string> = {}): Promise<{ server: TestServer; proxy: Haproxy; stop(): Promise<void> }> {
  const server = await startTestServer({ TRUST_PROXY: '127.0.0.1', ...env });
  let proxy: Haproxy;
  try {
    proxy = await startHaproxy(server.port);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    server,
    proxy,
    async stop() {
      try {
        await proxy.stop();
      } finally {
        await server.stop();
      }
    },
  };
}

/** A visitor's token, created through the proxy from `from`. */
async function visitorTokenVia(proxy: Haproxy, from: string, name: string): Promise<string> {
  const created = await postJsonFrom<CreateVisitorResponse>(`${proxy.url}/api/visitors`, { name }, from);
  assert.equal(created.status, 201, `visitor from ${from}: ${JSON.stringify(created.body)}`);
  return created.body.token;
}

/** A visitor created and connected through the proxy from `from`. */
async function visitorVia(proxy: Haproxy, from: string, name = 'Vera'): Promise<ConnectedClient> {
  return ProtocolClient.connect(proxy.url, await visitorTokenVia(proxy, from, name), { localAddress: from });
}

/** An agent account, signed in and connected through the proxy from `from`. */
async function agentVia(server: TestServer, proxy: Haproxy, from: string, name: string) {
  const email = `${name.toLowerCase().replace(/\W+/g, '.')}@example.test`;
  await server.createAgent({ email, name, password: PASSWORD });
  const login = await postJsonFrom<AgentLoginResponse>(`${proxy.url}/api/agents/login`, { email, password: PASSWORD }, from);
  assert.equal(login.status, 200, `agent sign-in from ${from}: ${JSON.stringify(login.body)}`);
  const client = await ProtocolClient.connect(proxy.url, login.body.token, { localAddress: from });
  return { ...login.body, email, client };
}

describe('behind HAProxy, on the defaults', () => {
  let server: TestServer;
  let proxy: Haproxy;
  let stop: () => Promise<void>;
  before(async () => {
    ({ server, proxy, stop } = await behindHaproxy());
  });
  after(() => stop?.());

  it("one client's wrong sign-ins do not lock out another client's correct one", { timeout: 60_000 }, async () => {
    const email = 'ana@example.test';
    await server.createAgent({ email, name: 'Ana', password: PASSWORD });
    const signIn = (from: string, password: string) => postJsonFrom<{ code?: string }>(`${proxy.url}/api/agents/login`, { email, password }, from);
    // 12 wrong guesses at once from the attacker (sign-ins allow a burst of 10 per address, then one a second).
    const guesses = Array.from({ length: 12 }, () => signIn('127.0.0.2', 'wrong password!'));
    // The attacker's 13th, sent as soon as the first refusal is back: the bucket is still empty.
    // (Not after all 12 are answered: the ten wrong passwords take their hashing time, and a second of it
    // refills the bucket by one.)
    const firstRefusal = Promise.race(guesses.map((g) => g.then((r) => (r.status === 429 ? r : new Promise<never>(() => undefined)))));
    await firstRefusal;
    const thirteenth = await signIn('127.0.0.2', 'wrong password!');
    const statuses = await Promise.all(guesses.map((g) => g.then((r) => r.status)));
    assert.deepEqual(
      [statuses.filter((s) => s === 401).length, statuses.filter((s) => s === 429).length],
      [10, 2],
      `the burst of 10 is spent, then refused: ${statuses.join(',')}`,
    );
    assert.deepEqual([thirteenth.status, thirteenth.body.code], [429, 'rate_limited'], "the attacker's 13th attempt is limited");
    // Ana, from her own address through the same proxy, signs in.
    const honest = await signIn('127.0.0.3', PASSWORD);
    assert.equal(honest.status, 200, `the honest sign-in: ${JSON.stringify(honest.body)}`);
  });

  it('a queue flood from one client leaves the agent connected and lets another client reach it', { timeout: 120_000 }, async () => {
    const agent = await agentVia(server, proxy, '127.0.0.4', 'Flo Agent');
    const flood: ConnectedClient[] = [];
    const codes: string[] = [];
    let refused = '';
    try {
      // MAX_QUEUED_PER_IP (20) waiting, plus the AGENT_MAX_CHATS (5) routing gives the agent, plus 3 more.
      for (let i = 0; i < 28; i++) {
        const visitor = await visitorVia(proxy, '127.0.0.5', `Flood ${i}`);
        flood.push(visitor);
        const r = await refusal(visitor.request('chat.start', { text: 'F'.repeat(200) }));
        codes.push(r.code);
        if (r.code !== 'ok') refused ||= r.message;
      }
      const accepted = codes.filter((c) => c === 'ok').length;
      assert.ok(accepted >= 20 && accepted <= 25, `the flood's share: ${codes.join(',')}`);
      assert.deepEqual(codes.slice(accepted), Array(28 - accepted).fill('rate_limited'), `then refused: ${codes.join(',')}`);
      assert.match(refused, /MAX_QUEUED_PER_IP allows \(20\)/);

      assert.equal(agent.client.closeCode, null, 'the agent stayed connected through the flood');
      // A visitor from another address is not limited by the flood: its chat reaches the agent.
      const honest = await visitorVia(proxy, '127.0.0.6', 'Honest Hana');
      flood.push(honest);
      const { sessionID } = (await honest.request('chat.start', { text: 'I just want my order' })).conversation;
      const page = await agent.client.request('queue.list', {});
      assert.equal(page.queue.find((q) => q.sessionID === sessionID)?.visitor.name, 'Honest Hana', 'the honest chat is in the queue the agent reads');
      const taken = await agent.client.request('conversation.accept', { sessionID });
      assert.equal(taken.conversation.agent?.id, agent.agent.id);
      await honest.waitFor((f) => f.type === 'conversation.updated' && f.conversation.agent?.id === agent.agent.id);
      await honest.request('message.send', { sessionID, clientId: 'hana-1', text: 'order 1234' });
      await agent.client.waitFor((f) => f.type === 'message' && f.message.sessionID === sessionID && f.message.text === 'order 1234');
      assert.equal(agent.client.closeCode, null, 'the agent is still connected at the end');
    } finally {
      await Promise.all([...flood, agent.client].map((c) => c.close()));
    }
  });
});

describe('behind HAProxy, with lowered connection limits', () => {
  let proxy: Haproxy;
  let stop: () => Promise<void>;
  before(async () => {
    ({ proxy, stop } = await behindHaproxy({ MAX_CONNECTIONS_PER_IP: '3', WS_AUTH_TIMEOUT_SECONDS: '1', WS_IDLE_TIMEOUT_SECONDS: '2' }));
  });
  after(() => stop?.());

  it('caps WebSockets per forwarded client: one over the cap is refused, another client still connects', { timeout: 60_000 }, async () => {
    const token = await visitorTokenVia(proxy, '127.0.0.7', 'Many Sockets');
    const clients: ProtocolClient[] = [];
    try {
      // Authenticated, so WS_AUTH_TIMEOUT_SECONDS does not close them meanwhile.
      for (let i = 0; i < 3; i++) clients.push(await ProtocolClient.connect(proxy.url, token, { localAddress: '127.0.0.7' }));
      await assert.rejects(ProtocolClient.open(proxy.url, { localAddress: '127.0.0.7' }), /HTTP 503/, 'the 4th WebSocket of 127.0.0.7 is refused');
      // HAProxy's own connections to Parley are not capped: another client connects through it.
      clients.push(await visitorVia(proxy, '127.0.0.8', 'Other'));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('closes a socket that never authenticates after WS_AUTH_TIMEOUT_SECONDS; keeps an authenticated one with a heartbeat', { timeout: 60_000 }, async () => {
    const started = Date.now();
    const silent = await ProtocolClient.open(proxy.url, { localAddress: '127.0.0.9' });
    const beating = await visitorVia(proxy, '127.0.0.10', 'Beating');
    const heartbeat = setInterval(() => void beating.request('ping', {}).catch(() => undefined), 400);
    try {
      // 4408 is Parley's code: a socket HAProxy cut would close abnormally (1006).
      assert.equal(await silent.waitClose(4000), 4408);
      assert.ok(Date.now() - started >= 900, `not before the limit: ${Date.now() - started} ms`);
      assert.ok(silent.frames.some((f) => f.type === 'error' && f.code === 'unauthorized'), JSON.stringify(silent.frames));
      // Past the pre-auth limit and past WS_IDLE_TIMEOUT_SECONDS (2 s): the heartbeat keeps it.
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(beating.closeCode, null, 'an authenticated socket with a heartbeat stays open');
      await beating.request('ping', {});
    } finally {
      clearInterval(heartbeat);
      await Promise.all([silent.close(), beating.close()]);
    }
  });
});
