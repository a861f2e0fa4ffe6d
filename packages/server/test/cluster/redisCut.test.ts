/*
 * Losing Redis for a while: one node's link to it is cut (a TCP proxy the test controls). That node says so on
 * /healthz (503, so a balancer takes it out), keeps serving its own clients, and hears the other node's messages
 * from the store meanwhile; once the link is back, nothing was lost, doubled or reordered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message, ServerFrame } from '@parley/protocol';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { newAgent, newVisitor, startTestServer, type TestServer } from '../support/server.ts';
import { TcpProxy } from '../support/TcpProxy.ts';

const isAssigned = (sessionID: string) => (f: ServerFrame) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID;

async function health(server: TestServer): Promise<{ status: number; body: { status: string; reason?: string } }> {
  const res = await fetch(`${server.url}/healthz`);
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
}

async function eventually<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Seqs a client heard as `message` frames, with what was out of order or doubled. */
function tally(messages: Message[]) {
  const seqs = messages.map((m) => m.seq);
  let reordered = 0;
  for (let i = 1; i < seqs.length; i++) if (seqs[i]! < seqs[i - 1]!) reordered++;
  return { seqs: new Set(seqs), doubled: seqs.length - new Set(seqs).size, reordered };
}

describe('losing Redis for a while', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    db = await createTestDatabase('rediscut');
    proxy = await TcpProxy.start('127.0.0.1', 6379);
    const env = { DATABASE_URL: db.url, NODE_HEARTBEAT_MS: '300', NODE_DEAD_MS: '1500' };
    a = await startTestServer({ ...env, NODE_ID: 'cut-a', REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    b = await startTestServer({ ...env, NODE_ID: 'cut-b', REDIS_URL: 'redis://127.0.0.1:6379' });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it('the cut node answers 503, keeps serving, catches up from the store, and loses nothing', async () => {
    const agent = await newAgent(b, 'Bo');
    const visitor = await newVisitor(a, 'Al');
    const id = (await visitor.client.request('chat.start', { text: 'before the cut' })).conversation.sessionID;
    const assigned = await agent.client.waitFor(isAssigned(id));
    // Before its assignment is the agent's history (it reads it with conversation.sync): live frames follow it.
    const history = assigned.type === 'conversation.assigned' ? assigned.conversation.lastSeq : 0;
    assert.equal((await health(a)).status, 200);

    proxy.cut();
    const down = await eventually('a 503 from the cut node', async () => {
      const h = await health(a);
      return h.status === 503 ? h : null;
    });
    assert.match(down.body.reason ?? '', /bus/);
    assert.equal((await health(b)).status, 200, 'the other node is fine');

    // While cut: both sides keep sending; the visitor's node serves it, and hears the agent from the store.
    for (let i = 0; i < 10; i++) {
      await visitor.client.request('message.send', { sessionID: id, clientId: `v-cut-${i}`, text: `v cut ${i}` });
      await agent.client.request('message.send', { sessionID: id, clientId: `a-cut-${i}`, text: `a cut ${i}` });
    }
    await visitor.client.waitFor((f) => f.type === 'message' && f.message.text === 'a cut 9', 10_000);
    await agent.client.waitFor((f) => f.type === 'message' && f.message.text === 'v cut 9', 10_000);

    // While cut, a chat started on the other node goes to the agent on the cut node (least busy): it hears of it
    // once the bus is back, even though that frame was lost.
    const second = await newAgent(a, 'Cy');
    const late = await newVisitor(b, 'Di');
    const lateId = (await late.client.request('chat.start', { text: 'during the cut' })).conversation.sessionID;
    await eventually('the chat assigned in the store', async () => ((await b.store.getConversation(lateId))?.agent?.id === second.agent.id ? true : null));

    proxy.restore();
    const caughtUp = await second.client.waitFor(isAssigned(lateId), 15_000);
    assert.equal(caughtUp.type === 'conversation.assigned' && caughtUp.conversation.agent?.id, second.agent.id);
    await eventually('the cut node healthy again', async () => ((await health(a)).status === 200 ? true : null));
    for (let i = 0; i < 10; i++) {
      await visitor.client.request('message.send', { sessionID: id, clientId: `v-after-${i}`, text: `v after ${i}` });
      await agent.client.request('message.send', { sessionID: id, clientId: `a-after-${i}`, text: `a after ${i}` });
    }
    await visitor.client.waitFor((f) => f.type === 'message' && f.message.text === 'a after 9', 10_000);
    await agent.client.waitFor((f) => f.type === 'message' && f.message.text === 'v after 9', 10_000);

    const stored = (await visitor.client.request('conversation.sync', { sessionID: id, afterSeq: 0 })).messages;
    for (const [who, client, role] of [['visitor', visitor.client, 'agent'], ['agent', agent.client, 'visitor']] as const) {
      const heard = tally(client.messages(id));
      const expected = stored.filter((m) => m.from.role === role && m.seq > history).map((m) => m.seq);
      const lost = expected.filter((s) => !heard.seqs.has(s));
      assert.deepEqual({ lost, doubled: heard.doubled, reordered: heard.reordered }, { lost: [], doubled: 0, reordered: 0 }, who);
    }
    for (const c of [agent.client, visitor.client, second.client, late.client]) c.close();
  });
});
