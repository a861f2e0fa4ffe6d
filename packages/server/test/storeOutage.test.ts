/*
 * PostgreSQL going away while Parley runs, through a TCP proxy between them that the tests cut (connections
 * destroyed, new ones reset), stall (a silent network) and restore. Held: requests that need the database get a
 * coded `unavailable` error (HTTP 503), never a hang and never an acknowledgement of what was not stored;
 * `/healthz` says 503 with the reason and turns 200 by itself once the database is back; the process stays up;
 * resends of the unacknowledged messages (same clientIds) are stored exactly once, and the other side hears
 * each message exactly once, in order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PROTOCOL_VERSION, type Message, type ServerFrame } from '@parley/protocol';
import { createTestDatabase, PG_BASE_URL, type TestDatabase } from './support/postgres.ts';
import { newAgent, newVisitor, startTestServer } from './support/server.ts';
import { ProtocolClient, ProtocolError, type ConnectedClient } from './support/ProtocolClient.ts';
import { createVisitor, loginAgent, postJson } from './support/http.ts';
import { TcpProxy } from './support/TcpProxy.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;

/** Messages in the burst: bounded, the machine is shared. */
const BURST = 200;
/** The proxy is cut (at the next commit) once the visitor holds this many acknowledgements. */
const CUT_AFTER_ACKS = 60;

const isAssigned = (sessionID: string) => (f: ServerFrame) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID;

interface Health {
  status: number;
  body: { status: string; reason?: string };
  text: string;
}

async function healthz(server: Server): Promise<Health> {
  const res = await fetch(`${server.url}/healthz`);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Health['body'], text };
}

/** Asks /healthz until it answers `status` (bounded by `ms`); the server is expected to get there by itself. */
async function healthBecomes(server: Server, status: number, ms = 20_000): Promise<Health> {
  const deadline = Date.now() + ms;
  for (;;) {
    const health = await healthz(server);
    if (health.status === status) return health;
    if (Date.now() > deadline) throw new Error(`/healthz still answers ${health.status} after ${ms} ms: ${health.text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('PostgreSQL going away while running, and coming back', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let server: Server;
  let dbUrl: URL;

  before(async () => {
    db = await createTestDatabase('outage');
    const target = new URL(PG_BASE_URL);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    dbUrl = new URL(db.url);
    dbUrl.host = `127.0.0.1:${proxy.port}`;
    // Short bounds, so that a silent network fails requests within a second or two.
    dbUrl.searchParams.set('connect_timeout', '1');
    dbUrl.searchParams.set('query_timeout', '1000');
    server = await startTestServer({
      DATABASE_URL: dbUrl.href,
      // The burst goes out at once on one connection: no rate limit in the way.
      RATE_LIMIT_RPS: '10000',
      RATE_LIMIT_BURST: '10000',
    });
  });
  after(async () => {
    proxy?.restore();
    await server?.stop();
    await proxy?.close();
    await db?.drop();
  });

  /** A visitor and an agent in an active conversation. */
  async function chatting(): Promise<{ visitor: ConnectedClient; agent: ConnectedClient; sessionID: string }> {
    const agent = await newAgent(server);
    const visitor = await newVisitor(server);
    const sessionID = (await visitor.client.request('chat.start', {})).conversation.sessionID;
    await agent.client.waitFor(isAssigned(sessionID));
    return { visitor: visitor.client, agent: agent.client, sessionID };
  }

  it('a burst cut mid-way: nothing acknowledged is lost, nothing is stored twice, the agent hears each once and in order', async () => {
    const { visitor, agent, sessionID } = await chatting();
    const acked = new Map<string, Message>();
    const refused: string[] = [];
    const clientIdOf = (i: number) => `burst-${i}`;

    // The burst goes out in waves (appends of one event-loop turn are written as one batch); the proxy is cut
    // from within the stream of answers.
    const send = async (i: number) => {
      const clientId = clientIdOf(i);
      const answer = await visitor.requestRaw('message.send', { sessionID, clientId, text: `burst ${i}` }, 30_000);
      if (answer.type === 'result') {
        acked.set(clientId, (answer.data as { message: Message }).message);
        // The next batch's statement reaches PostgreSQL and its answer is lost: what it wrote is stored, yet refused.
        if (acked.size === CUT_AFTER_ACKS) proxy.cutAfter('INSERT INTO messages');
      } else {
        assert.equal(answer.type, 'error');
        assert.equal(answer.type === 'error' && answer.code, 'unavailable', JSON.stringify(answer));
        assert.match(answer.type === 'error' ? answer.message : '', /database is unavailable/);
        refused.push(clientId);
      }
    };
    const WAVE = 10;
    for (let start = 0; start < BURST; start += WAVE) {
      await Promise.all(Array.from({ length: Math.min(WAVE, BURST - start) }, (_, k) => send(start + k)));
    }
    assert.ok(acked.size >= CUT_AFTER_ACKS, `acknowledged before the cut: ${acked.size}`);
    assert.ok(refused.length > 0, 'some messages were refused while the database was away');
    assert.equal(acked.size + refused.length, BURST);
    // 100+ refusals in a row are the server's trouble, not abuse: the connection stays open.
    assert.equal(visitor.closeCode, null);

    // While cut: /healthz says so, with a reason and nothing of the URL.
    const down = await healthz(server);
    assert.equal(down.status, 503);
    assert.equal(down.body.status, 'unavailable');
    assert.match(down.body.reason ?? '', /^the database is unavailable: .+/);
    assert.doesNotMatch(down.text, new RegExp(`postgres|${proxy.port}|${db.name}`));

    proxy.restore();
    await healthBecomes(server, 200);

    // The client resends everything not acknowledged, with the same clientIds, in order.
    const resent = await Promise.all(
      refused.map((clientId) => visitor.request('message.send', { sessionID, clientId, text: `burst ${clientId.slice(6)}` }, 30_000)),
    );
    for (const [n, result] of resent.entries()) acked.set(refused[n]!, result.message);
    // The one whose commit was cut off was stored: its resend finds it.
    assert.equal(resent.filter((r) => r.duplicate).length, 1, 'one resend finds its message stored already');
    assert.equal(acked.size, BURST);

    const fromVisitor = (m: Message) => m.kind === 'text' && m.clientId?.startsWith('burst-') === true;
    await agent.waitFor(() => agent.messages(sessionID).filter(fromVisitor).length >= BURST, 30_000);

    // The store: every acknowledged message, as acknowledged; each clientId once; seqs 1..last without gaps.
    const stored = await server.store.listMessages(sessionID, { afterSeq: 0, limit: 10_000 });
    assert.equal(stored.more, false);
    assert.deepEqual(
      stored.messages.map((m) => m.seq),
      stored.messages.map((_, n) => n + 1),
      'seqs are gapless from 1',
    );
    const byClientId = new Map<string, Message[]>();
    for (const m of stored.messages.filter(fromVisitor)) byClientId.set(m.clientId!, [...(byClientId.get(m.clientId!) ?? []), m]);
    assert.equal(byClientId.size, BURST);
    for (let i = 0; i < BURST; i++) {
      const copies = byClientId.get(clientIdOf(i)) ?? [];
      assert.equal(copies.length, 1, `${clientIdOf(i)} stored once`);
      assert.equal(copies[0]!.id, acked.get(clientIdOf(i))!.id, `${clientIdOf(i)} acknowledged as stored`);
      assert.equal(copies[0]!.text, `burst ${i}`);
    }

    // The agent: each message exactly once, in seq order.
    const heard = agent.messages(sessionID).filter(fromVisitor);
    assert.equal(heard.length, BURST);
    assert.equal(new Set(heard.map((m) => m.clientId)).size, BURST, 'no message heard twice');
    const seqs = heard.map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'heard in seq order');

    visitor.close();
    agent.close();
  });

  it('while cut, sign-ups, sign-ins, new chats and new connections are refused with `unavailable`; the process stays up and recovers', async () => {
    const email = `outage-${Date.now()}@example.test`;
    await server.createAgent({ email, name: 'Olga Outage', password: 'correct horse battery' });
    const waiting = await newVisitor(server, 'Early');

    proxy.cut();
    try {
      const signUp = await postJson<{ code: string; message: string }>(`${server.url}/api/visitors`, { name: 'Late' });
      assert.equal(signUp.status, 503);
      assert.equal(signUp.body.code, 'unavailable');
      assert.match(signUp.body.message, /database is unavailable/);
      assert.doesNotMatch(JSON.stringify(signUp.body), new RegExp(`postgres|${proxy.port}|${db.name}`));

      const signIn = await fetch(`${server.url}/api/agents/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'correct horse battery' }),
      });
      assert.equal(signIn.status, 503);
      assert.equal(signIn.headers.get('retry-after'), '1');
      assert.equal(((await signIn.json()) as { code: string }).code, 'unavailable');

      // A connected visitor starting a chat gets a coded refusal, and keeps its connection.
      const start = await waiting.client.requestRaw('chat.start', { text: 'hello?', clientId: 'start-1' });
      assert.equal(start.type === 'error' && start.code, 'unavailable', JSON.stringify(start));
      assert.equal(waiting.client.closeCode, null);

      // A new connection cannot load its conversations: told why, asked to come back (1013).
      const fresh = await ProtocolClient.open(server.url);
      fresh.send({ type: 'auth', v: PROTOCOL_VERSION, token: waiting.token });
      const refusal = await fresh.nextError();
      assert.equal(refusal.code, 'unavailable');
      assert.equal(await fresh.waitClose(), 1013);

      assert.equal((await healthz(server)).status, 503);
    } finally {
      proxy.restore();
    }

    // Back by itself: everything works again, on the same process.
    await healthBecomes(server, 200);
    assert.equal(typeof (await createVisitor(server.url, 'Later')).token, 'string');
    assert.equal(typeof (await loginAgent(server.url, email, 'correct horse battery')).token, 'string');
    const started = await waiting.client.request('chat.start', { text: 'hello?', clientId: 'start-1' });
    assert.equal(started.message?.text, 'hello?');
    const again = await ProtocolClient.connect(server.url, waiting.token);
    assert.deepEqual(
      again.ready.conversations.map((c) => c.sessionID),
      [started.conversation.sessionID],
    );
    waiting.client.close();
    again.close();
  });

  it('a silent network fails requests within the query timeout instead of hanging them, and heals', async () => {
    const { visitor, agent, sessionID } = await chatting();
    proxy.stall();
    let stalled: ServerFrame;
    try {
      // Bounded by query_timeout / connect_timeout (about a second), not by the client's 30 s.
      stalled = await visitor.requestRaw('message.send', { sessionID, clientId: 'quiet-1', text: 'anyone?' }, 30_000);
      const down = await healthBecomes(server, 503);
      assert.match(down.body.reason ?? '', /^the database is unavailable: /);
    } finally {
      proxy.restore();
    }
    assert.equal(stalled.type === 'error' && stalled.code, 'unavailable', JSON.stringify(stalled));

    await healthBecomes(server, 200);
    // A connection the pool held through the stall may fail once more; a client sends again, as the SDK does.
    const retried = await sendUntilStored(visitor, { sessionID, clientId: 'quiet-1', text: 'anyone?' });
    await agent.waitFor((f) => f.type === 'message' && f.message.clientId === 'quiet-1', 30_000);
    const stored = await server.store.listMessages(sessionID, { afterSeq: 0, limit: 100 });
    const copies = stored.messages.filter((m) => m.clientId === 'quiet-1');
    assert.equal(copies.length, 1, 'stored once');
    assert.equal(copies[0]!.id, retried.message.id);
    assert.equal(agent.messages(sessionID).filter((m) => m.clientId === 'quiet-1').length, 1, 'heard once');
    // The connections given up on were dropped: the pool works on fresh ones.
    const after = await sendUntilStored(visitor, { sessionID, clientId: 'quiet-2', text: 'there you are' });
    assert.equal(after.message.seq, retried.message.seq + 1);
    visitor.close();
    agent.close();
  });
});

/** Sends a message, again with the same clientId after `unavailable` (at most 10 times), as the SDK's outbox does. */
async function sendUntilStored(client: ProtocolClient, body: { sessionID: string; clientId: string; text: string }) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.request('message.send', body, 30_000);
    } catch (err) {
      if (!(err instanceof ProtocolError) || err.frame.code !== 'unavailable' || attempt >= 10) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
