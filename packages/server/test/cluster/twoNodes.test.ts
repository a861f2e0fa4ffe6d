/*
 * Two nodes of one deployment in this process (each its own server, NODE_ID and connections), sharing one
 * PostgreSQL database and Redis: what crosses between them. The tests with node processes, a balancer in front
 * and nodes killed are in the files beside this one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerFrame } from '@parley/protocol';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { postJson } from '../support/http.ts';
import { newAgent, newVisitor, startTestServer, type TestServer } from '../support/server.ts';

const REDIS_URL = process.env['PARLEY_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const isAssigned = (sessionID: string) => (f: ServerFrame) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID;

describe('two nodes of one deployment', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    db = await createTestDatabase('twonodes');
    const env = { DATABASE_URL: db.url, REDIS_URL, NODE_HEARTBEAT_MS: '300', NODE_DEAD_MS: '1200', AGENT_MAX_CHATS: '50' };
    a = await startTestServer({ ...env, NODE_ID: 'node-a' });
    b = await startTestServer({ ...env, NODE_ID: 'node-b' });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  it('a visitor on one node and an agent on the other chat in order, exactly once, with typing', async () => {
    const agent = await newAgent(b, 'Bea');
    const visitor = await newVisitor(a, 'Val');
    const start = await visitor.client.request('chat.start', { text: 'hello from node a', clientId: 'open' });
    const id = start.conversation.sessionID;
    const assigned = await agent.client.waitFor(isAssigned(id));
    // What came before the assignment is history, which the agent reads (conversation.sync); the rest must arrive live.
    const history = assigned.type === 'conversation.assigned' ? assigned.conversation.lastSeq : 0;
    agent.client.send({ type: 'typing', sessionID: id, typing: true });
    const typing = await visitor.client.waitFor((f) => f.type === 'typing' && f.sessionID === id);
    assert.equal(typing.type === 'typing' && typing.from.id, agent.agent.id);
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      sends.push(visitor.client.request('message.send', { sessionID: id, clientId: `v${i}`, text: `v ${i}` }));
      sends.push(agent.client.request('message.send', { sessionID: id, clientId: `a${i}`, text: `a ${i}` }));
    }
    await Promise.all(sends);
    await agent.client.waitFor((f) => f.type === 'message' && f.message.text === 'v 39');
    await visitor.client.waitFor((f) => f.type === 'message' && f.message.text === 'a 39');
    const stored = (await visitor.client.request('conversation.sync', { sessionID: id, afterSeq: 0 })).messages;
    for (const [who, client] of [['agent', agent.client], ['visitor', visitor.client]] as const) {
      const seen = client.messages(id).map((m) => m.seq);
      // Both sides hear every message of the other (their own come in answers), in order, none twice.
      assert.deepEqual(seen, [...seen].sort((x, y) => x - y), `${who} sees seq order`);
      assert.equal(new Set(seen).size, seen.length, `${who}: no message twice`);
      const otherSide = stored.filter((m) => m.from.role !== who && m.seq > (who === 'agent' ? history : start.message!.seq)).map((m) => m.seq);
      const missing = otherSide.filter((s) => !seen.includes(s));
      assert.deepEqual(missing, [], `${who}: nothing lost`);
    }
    agent.client.close();
    visitor.client.close();
  });

  it('each node answers /metrics with its own figures, the bus connected, and /healthz names it', async () => {
    const visitor = await newVisitor(a, 'Metra');
    await visitor.client.request('chat.start', { text: 'counted' });
    const text = await (await fetch(`${a.url}/metrics`)).text();
    assert.match(text, /^parley_bus_connected\{node="node-a"\} 1$/m);
    assert.match(text, /^parley_connections\{node="node-a"\} [1-9]\d*$/m);
    assert.match(text, /^parley_messages_stored_total\{kind="text",node="node-a"\} [1-9]\d*$/m);
    assert.match(text, /^parley_conversations\{status="queued",node="node-a"\} \d+$/m);
    assert.match(text, /^parley_store_up\{node="node-a"\} 1$/m);
    const health = (await (await fetch(`${b.url}/healthz`)).json()) as { status: string; node: string };
    assert.deepEqual([health.status, health.node], ['ok', 'node-b']);
    visitor.client.close();
  });

  it('presence is one for the deployment, and an agent going offline on one node is seen on the other', async () => {
    const watcher = await newAgent(a, 'Watcher');
    const other = await newAgent(b, 'Other');
    const list = await watcher.client.request('agents.list', {});
    assert.equal(list.agents.find((x) => x.id === other.agent.id)?.presence, 'online');
    other.client.close();
    const offline = await watcher.client.waitFor((f) => f.type === 'presence.changed' && f.agent.id === other.agent.id && f.agent.presence === 'offline');
    assert.ok(offline);
    watcher.client.close();
  });

  it('a call between a visitor on one node and an agent on the other: signaling crosses, and it ends once', async () => {
    const agent = await newAgent(b, 'Cal');
    const visitor = await newVisitor(a, 'Vic');
    const id = (await visitor.client.request('chat.start', { text: 'call me' })).conversation.sessionID;
    await agent.client.waitFor(isAssigned(id));
    const { call } = await visitor.client.request('call.request', { sessionID: id, useAudio: true, useVideo: true });
    await agent.client.waitFor((f) => f.type === 'call.updated' && f.call.callId === call.callId && f.call.state === 'requested');
    // The answer is applied by node b to the call node a stored.
    const answered = await agent.client.request('call.answer', { sessionID: id, callId: call.callId, accept: true });
    assert.equal(answered.call.state, 'connecting');
    await visitor.client.waitFor((f) => f.type === 'call.updated' && f.call.state === 'connecting');
    await visitor.client.request('call.join', { sessionID: id, callId: call.callId });
    await agent.client.request('call.join', { sessionID: id, callId: call.callId });
    const offer = { type: 'offer' as const, sdp: 'v=0 across nodes' };
    visitor.client.sendRaw({ type: 'signal', sessionID: id, callId: call.callId, to: agent.agent.id, description: offer });
    const relayed = await agent.client.waitFor((f) => f.type === 'signal');
    assert.deepEqual(relayed.type === 'signal' && relayed.description, offer);
    agent.client.sendRaw({ type: 'signal', sessionID: id, callId: call.callId, to: visitor.visitor.id, description: { type: 'answer', sdp: 'v=0 back' } });
    const back = await visitor.client.waitFor((f) => f.type === 'signal');
    assert.equal(back.type === 'signal' && back.from, agent.agent.id);
    visitor.client.sendRaw({ type: 'call.connection', sessionID: id, callId: call.callId, peerId: agent.agent.id, state: 'connected' });
    await agent.client.waitFor((f) => f.type === 'call.updated' && f.call.state === 'active');
    const ended = await agent.client.request('call.hangup', { sessionID: id, callId: call.callId });
    assert.equal(ended.call.state, 'ended');
    await visitor.client.waitFor((f) => f.type === 'call.updated' && f.call.state === 'ended');
    const endedFrames = (c: typeof visitor.client) =>
      c.frames.filter((f) => f.type === 'call.updated' && f.call.callId === call.callId && f.call.state === 'ended').length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(endedFrames(visitor.client), 1, 'the visitor hears the end once');
    const events = (await visitor.client.request('conversation.sync', { sessionID: id, afterSeq: 0 })).messages.map((m) => m.text);
    assert.equal(events.filter((t) => /call started/.test(t)).length, 1);
    assert.equal(events.filter((t) => /call ended/.test(t)).length, 1);
    agent.client.close();
    visitor.client.close();
  });

  it('a guest link redeemed on both nodes at once admits one guest', async () => {
    const agent = await newAgent(b, 'Gail');
    const visitor = await newVisitor(a, 'Gil');
    const id = (await visitor.client.request('chat.start', { text: 'guest?' })).conversation.sessionID;
    await agent.client.waitFor(isAssigned(id));
    const { call } = await visitor.client.request('call.request', { sessionID: id, useAudio: true, useVideo: true });
    await agent.client.request('call.answer', { sessionID: id, callId: call.callId, accept: true });
    const invite = await agent.client.request('guest.invite', { sessionID: id });
    const redeem = (server: TestServer, name: string) => postJson<{ code?: string }>(`${server.url}/api/guests`, { token: invite.token, name });
    const answers = await Promise.all([redeem(a, 'Ann'), redeem(b, 'Ben')]);
    assert.equal(answers.filter((r) => r.status < 300).length, 1, `one admitted: ${JSON.stringify(answers.map((r) => r.status))}`);
    assert.deepEqual(answers.filter((r) => r.status >= 300).map((r) => r.body.code), ['invite_used']);
    const stored = await a.store.getCall(call.callId);
    const participants = (stored?.data as { participants: Array<{ role: string }> }).participants;
    assert.equal(participants.filter((p) => p.role === 'guest').length, 1, 'one guest in the stored call');
    agent.client.close();
    visitor.client.close();
  });

  it('a ring set on a node that is gone still expires: the other node sweeps it', async () => {
    const db2 = await createTestDatabase('sweep');
    const env = { DATABASE_URL: db2.url, REDIS_URL, NODE_HEARTBEAT_MS: '300', NODE_DEAD_MS: '1200', CALL_RING_SECONDS: '2' };
    const first = await startTestServer({ ...env, NODE_ID: 'sweep-a' });
    const second = await startTestServer({ ...env, NODE_ID: 'sweep-b' });
    try {
      const agent = await newAgent(second, 'Sam');
      const visitor = await newVisitor(first, 'Sia');
      const id = (await visitor.client.request('chat.start', { text: 'ring' })).conversation.sessionID;
      await agent.client.waitFor(isAssigned(id));
      const { call } = await visitor.client.request('call.request', { sessionID: id, useAudio: true, useVideo: false });
      visitor.client.close();
      await first.close(); // its ring timer goes with it
      const expired = await agent.client.waitFor((f) => f.type === 'call.updated' && f.call.callId === call.callId && f.call.state === 'ended', 15_000);
      assert.equal(expired.type === 'call.updated' && expired.call.endReason, 'timeout');
      agent.client.close();
    } finally {
      await first.stop().catch(() => undefined);
      await second.stop();
      await db2.drop();
    }
  });

  it('100 chats started at once on two nodes, four agents on either: each assigned once, loads within one', async () => {
    const db3 = await createTestDatabase('routing');
    const env = { DATABASE_URL: db3.url, REDIS_URL, NODE_HEARTBEAT_MS: '300', NODE_DEAD_MS: '1200', AGENT_MAX_CHATS: '50', MAX_QUEUED_PER_IP: '1000', VISITORS_PER_IP_PER_MINUTE: '1000', RATE_LIMIT_RPS: '1000', RATE_LIMIT_BURST: '1000' };
    const n1 = await startTestServer({ ...env, NODE_ID: 'route-a' });
    const n2 = await startTestServer({ ...env, NODE_ID: 'route-b' });
    const clients: Array<{ close(): void }> = [];
    try {
      const agents = [await newAgent(n1, 'R1'), await newAgent(n2, 'R2'), await newAgent(n1, 'R3'), await newAgent(n2, 'R4')];
      clients.push(...agents.map((x) => x.client));
      const visitors = await Promise.all(Array.from({ length: 100 }, (_, i) => newVisitor(i % 2 === 0 ? n1 : n2, `V${i}`)));
      clients.push(...visitors.map((x) => x.client));
      const ids = (await Promise.all(visitors.map((v) => v.client.request('chat.start', { text: 'hi' })))).map((r) => r.conversation.sessionID);
      const deadline = Date.now() + 30_000;
      const assignedTo = () => {
        const seen = new Map<string, string[]>();
        for (const agent of agents) {
          for (const f of agent.client.frames) {
            if (f.type === 'conversation.assigned' && ids.includes(f.conversation.sessionID)) {
              seen.set(f.conversation.sessionID, [...(seen.get(f.conversation.sessionID) ?? []), agent.agent.id]);
            }
          }
        }
        return seen;
      };
      while (assignedTo().size < ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const seen = assignedTo();
      assert.equal(seen.size, 100, 'every chat was assigned');
      const twice = [...seen.values()].filter((to) => to.length !== 1).length;
      assert.equal(twice, 0, 'no chat assigned twice');
      const loads = agents.map((agent) => [...seen.values()].filter((to) => to[0] === agent.agent.id).length);
      assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, `loads differ by at most one: ${loads.join(', ')}`);
      const stored = await n1.store.countActiveByAgent();
      assert.deepEqual(agents.map((agent) => stored.get(agent.agent.id) ?? 0), loads, 'the store agrees');
    } finally {
      for (const c of clients) c.close();
      await n1.stop();
      await n2.stop();
      await db3.drop();
    }
  });
});
