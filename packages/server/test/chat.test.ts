import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HistoryResponse, Message, ServerFrame } from '@parley/protocol';
import { newAgent, newVisitor, startTestServer } from './support/server.ts';
import { ProtocolClient } from './support/ProtocolClient.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const isAssigned = (sessionID: string) => (f: ServerFrame) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID;

describe('chat between visitors and agents over real sockets', () => {
  let server: Server;
  before(async () => {
    server = await startTestServer({ AGENT_MAX_CHATS: '2' });
  });
  after(async () => {
    await server.stop();
  });

  it('routes to the least busy online agent, and messages flow both ways in order', async () => {
    const a1 = await newAgent(server, 'Ada');
    const a2 = await newAgent(server, 'Bob');
    const v1 = await newVisitor(server, 'First');
    const start1 = await v1.client.request('chat.start', { text: 'Hello, I need help', clientId: 'open-1' });
    const id1 = start1.conversation.sessionID;
    assert.equal(start1.message?.seq, 1);
    assert.equal(start1.message?.text, 'Hello, I need help');

    const assigned = await Promise.race([a1.client.waitFor(isAssigned(id1)), a2.client.waitFor(isAssigned(id1))]);
    const first = assigned.type === 'conversation.assigned' ? assigned.conversation.agent! : null;
    assert.ok(first);
    const [busy, free] = first.id === a1.agent.id ? [a1, a2] : [a2, a1];

    // The second visitor goes to the other agent: least busy wins.
    const v2 = await newVisitor(server, 'Second');
    const id2 = (await v2.client.request('chat.start', {})).conversation.sessionID;
    await free.client.waitFor(isAssigned(id2));

    // Visitor learns who joined, as an update and as an event message in the transcript.
    const updated = await v1.client.waitFor((f) => f.type === 'conversation.updated' && f.conversation.agent !== null);
    assert.equal(updated.type === 'conversation.updated' && updated.conversation.status, 'active');
    const joined = await v1.client.waitFor((f) => f.type === 'message' && f.message.kind === 'event');
    assert.match(joined.type === 'message' ? joined.message.text : '', /joined the conversation/);

    await busy.client.request('message.send', { sessionID: id1, clientId: 'a-1', text: 'Hi! How can I help?' });
    for (let i = 0; i < 20; i++) {
      await v1.client.request('message.send', { sessionID: id1, clientId: `v-${i}`, text: `message ${i}` });
    }
    await busy.client.waitFor((f) => f.type === 'message' && f.message.text === 'message 19');
    const seen = busy.client.messages(id1).map((m) => m.seq);
    assert.deepEqual(seen, [...seen].sort((x, y) => x - y), 'agent sees seq order');
    assert.equal(new Set(seen).size, seen.length, 'no duplicates');
    const visitorSaw = await v1.client.waitFor((f) => f.type === 'message' && f.message.text === 'Hi! How can I help?');
    assert.equal(visitorSaw.type === 'message' && visitorSaw.message.from.role, 'agent');

    // Conversations do not leak: the other agent and visitor saw none of it.
    assert.equal(free.client.messages(id1).length, 0);
    assert.equal(v2.client.messages(id1).length, 0);
    for (const c of [a1, a2, v1, v2]) c.client.close();
  });

  it('a retried send is acknowledged again and stored once', async () => {
    const agent = await newAgent(server);
    const v = await newVisitor(server);
    const id = (await v.client.request('chat.start', {})).conversation.sessionID;
    await agent.client.waitFor(isAssigned(id));
    const first = await v.client.request('message.send', { sessionID: id, clientId: 'same', text: 'once' });
    const retry = await v.client.request('message.send', { sessionID: id, clientId: 'same', text: 'once' });
    assert.equal(first.duplicate, false);
    assert.equal(retry.duplicate, true);
    assert.equal(retry.message.id, first.message.id);
    assert.equal(retry.message.seq, first.message.seq);
    const sync = await v.client.request('conversation.sync', { sessionID: id, afterSeq: 0 });
    assert.equal(sync.messages.filter((m) => m.text === 'once').length, 1);
    agent.client.close();
    v.client.close();
  });

  it('the sending connection has its message in the result only; its other connection and the agent get it as a frame', async () => {
    const agent = await newAgent(server);
    const v = await newVisitor(server);
    const id = (await v.client.request('chat.start', {})).conversation.sessionID;
    await agent.client.waitFor(isAssigned(id));
    const tab = await ProtocolClient.connect(server.url, v.token);
    await tab.request('conversation.sync', { sessionID: id, afterSeq: 0 });
    const sent = await v.client.request('message.send', { sessionID: id, clientId: 'tab-1', text: 'from the first tab' });
    const isSent = (f: ServerFrame) => f.type === 'message' && f.message.id === sent.message.id;
    const [toTab, toAgent] = await Promise.all([tab.waitFor(isSent), agent.client.waitFor(isSent)]);
    assert.deepEqual(toTab.type === 'message' && toTab.message, sent.message);
    assert.deepEqual(toAgent.type === 'message' && toAgent.message, sent.message);
    // A later message, published after the first, reaching the sender shows the first was not echoed to it.
    await agent.client.request('message.send', { sessionID: id, clientId: 'reply-1', text: 'a reply' });
    await v.client.waitFor((f) => f.type === 'message' && f.message.text === 'a reply');
    assert.equal(v.client.frames.filter(isSent).length, 0, 'no echo to the sending connection');
    for (const c of [agent.client, v.client, tab]) c.close();
  });

  it('a reconnecting client resumes from its last seq and gets the rest in order, once', async () => {
    const agent = await newAgent(server);
    const v = await newVisitor(server);
    const id = (await v.client.request('chat.start', {})).conversation.sessionID;
    await agent.client.waitFor(isAssigned(id));
    const m1 = await v.client.request('message.send', { sessionID: id, clientId: 'r1', text: 'before drop' });
    v.client.close();
    for (let i = 0; i < 5; i++) await agent.client.request('message.send', { sessionID: id, clientId: `x${i}`, text: `while away ${i}` });

    const again = await ProtocolClient.connect(server.url, v.token);
    assert.deepEqual(again.ready.conversations.map((c) => c.sessionID), [id], 'ready lists the open conversation');
    const sync = await again.request('conversation.sync', { sessionID: id, afterSeq: m1.message.seq });
    assert.deepEqual(sync.messages.map((m) => m.text), [0, 1, 2, 3, 4].map((i) => `while away ${i}`));
    assert.deepEqual(sync.messages.map((m) => m.seq), [1, 2, 3, 4, 5].map((d) => m1.message.seq + d));
    assert.equal(sync.more, false);
    // And it is live again.
    await agent.client.request('message.send', { sessionID: id, clientId: 'live', text: 'welcome back' });
    await again.waitFor((f) => f.type === 'message' && f.message.text === 'welcome back');
    agent.client.close();
    again.close();
  });

  it('history pages over HTTP, newest page first, each page oldest-first', async () => {
    const agent = await newAgent(server);
    const v = await newVisitor(server);
    const id = (await v.client.request('chat.start', {})).conversation.sessionID;
    await agent.client.waitFor(isAssigned(id));
    for (let i = 0; i < 30; i++) await v.client.request('message.send', { sessionID: id, clientId: `h${i}`, text: `h${i}` });
    const get = async (q: string) => {
      const res = await fetch(`${server.url}/api/conversations/${id}/messages?${q}`, { headers: { authorization: `Bearer ${v.token}` } });
      return (await res.json()) as HistoryResponse;
    };
    const last = await get('limit=10');
    assert.deepEqual(last.messages.map((m) => m.text), Array.from({ length: 10 }, (_, i) => `h${20 + i}`));
    assert.equal(last.more, true);
    const older = await get(`limit=10&before=${last.messages[0]!.seq}`);
    assert.deepEqual(older.messages.map((m) => m.text), Array.from({ length: 10 }, (_, i) => `h${10 + i}`));
    const all: Message[] = [];
    let page = await get('limit=7&after=0');
    all.push(...page.messages);
    while (page.more) {
      page = await get(`limit=7&after=${all.at(-1)!.seq}`);
      all.push(...page.messages);
    }
    assert.deepEqual(all.map((m) => m.seq), Array.from({ length: all.length }, (_, i) => i + 1));
    agent.client.close();
    v.client.close();
  });

  it('typing reaches the other side only; closing ends the conversation for both', async () => {
    const agent = await newAgent(server);
    const v = await newVisitor(server, 'Tina');
    const id = (await v.client.request('chat.start', {})).conversation.sessionID;
    await agent.client.waitFor(isAssigned(id));
    v.client.sendRaw({ type: 'typing', sessionID: id, typing: true });
    const typing = await agent.client.waitFor((f) => f.type === 'typing');
    assert.equal(typing.type === 'typing' && typing.from.name, 'Tina');
    assert.equal(v.client.frames.some((f) => f.type === 'typing'), false, 'no echo to the typist');

    const closed = await agent.client.request('conversation.close', { sessionID: id });
    assert.equal(closed.conversation.status, 'closed');
    const seen = await v.client.waitFor((f) => f.type === 'conversation.closed');
    assert.equal(seen.type === 'conversation.closed' && seen.by.id, agent.agent.id);
    const event = await v.client.waitFor((f) => f.type === 'message' && /closed the conversation/.test(f.message.text));
    assert.equal(event.type === 'message' && event.message.kind, 'event');
    const late = await v.client.requestRaw('message.send', { sessionID: id, clientId: 'late', text: 'anyone?' });
    assert.equal(late.type === 'error' && late.code, 'conflict');
    const again = await agent.client.requestRaw('conversation.close', { sessionID: id });
    assert.equal(again.type === 'error' && again.code, 'conflict');
    agent.client.close();
    v.client.close();
  });
});

describe('the queue, accepting, and presence', () => {
  let server: Server;
  before(async () => {
    server = await startTestServer({ AGENT_MAX_CHATS: '1' });
  });
  after(async () => {
    await server.stop();
  });

  it('waits in the queue while nobody is available; an agent accepts; a second accept conflicts', async () => {
    const a1 = await newAgent(server, 'Away Agent');
    const a2 = await newAgent(server, 'Other Agent');
    await a1.client.request('presence.set', { presence: 'away' });
    await a2.client.request('presence.set', { presence: 'away' });
    const v = await newVisitor(server);
    const id = (await v.client.request('chat.start', { text: 'anyone there?' })).conversation.sessionID;
    const changed = await a1.client.waitFor((f) => f.type === 'queue.updated' && f.added?.sessionID === id);
    assert.equal(changed.type === 'queue.updated' && changed.added?.firstMessage, 'anyone there?');
    const queue = await a2.client.request('queue.list', {});
    assert.ok(queue.queue.some((q) => q.sessionID === id));
    assert.equal(queue.size, queue.queue.length);
    assert.equal(queue.next, null);

    const taken = a2.client.waitFor((f) => f.type === 'queue.updated' && (f.removed ?? []).includes(id));
    const accepted = await a1.client.request('conversation.accept', { sessionID: id });
    assert.equal(accepted.conversation.agent?.id, a1.agent.id);
    await taken;
    const lost = await a2.client.requestRaw('conversation.accept', { sessionID: id });
    assert.equal(lost.type === 'error' && lost.code, 'conflict');
    await a1.client.waitFor(isAssigned(id));
    const history = await a1.client.request('conversation.sync', { sessionID: id, afterSeq: 0 });
    assert.equal(history.messages[0]?.text, 'anyone there?');
    for (const c of [a1, a2, v]) c.client.close();
  });

  it('an agent coming online drains the queue; presence goes offline with the last connection', async () => {
    const watcher = await newAgent(server, 'Watcher');
    await watcher.client.request('presence.set', { presence: 'away' });
    const v = await newVisitor(server);
    const id = (await v.client.request('chat.start', {})).conversation.sessionID;
    await watcher.client.waitFor((f) => f.type === 'queue.updated' && f.added?.sessionID === id);
    const late = await newAgent(server, 'Late Agent');
    await late.client.waitFor(isAssigned(id));
    const agents = await watcher.client.request('agents.list', {});
    assert.equal(agents.agents.find((a) => a.id === late.agent.id)?.presence, 'online');
    late.client.close();
    const offline = await watcher.client.waitFor(
      (f) => f.type === 'presence.changed' && f.agent.id === late.agent.id && f.agent.presence === 'offline',
    );
    assert.ok(offline);
    watcher.client.close();
    v.client.close();
  });

  it('visitors may not use agent requests', async () => {
    const v = await newVisitor(server);
    for (const [type, body] of [
      ['queue.list', {}],
      ['agents.list', {}],
      ['presence.set', { presence: 'online' }],
      ['conversation.accept', { sessionID: 'x' }],
    ] as const) {
      const answer = await v.client.requestRaw(type, body as never);
      assert.equal(answer.type === 'error' && answer.code, 'forbidden', type);
    }
    v.client.close();
  });
});

describe('routing under a burst', () => {
  let server: Server;
  before(async () => {
    server = await startTestServer({ AGENT_MAX_CHATS: '200', RATE_LIMIT_RPS: '1000', RATE_LIMIT_BURST: '1000', VISITORS_PER_IP_PER_MINUTE: '100000', MAX_QUEUED_PER_IP: '1000', MAX_CONNECTIONS_PER_IP: '1000' });
  });
  after(async () => {
    await server.stop();
  });

  it('a burst of 200 chats started at once is routed completely, each conversation to one agent', async () => {
    const agents = await Promise.all([newAgent(server, 'Burst A'), newAgent(server, 'Burst B')]);
    const visitors = await Promise.all(Array.from({ length: 200 }, (_, i) => newVisitor(server, `Burst ${i}`)));
    const ids = await Promise.all(visitors.map(async (v) => (await v.client.request('chat.start', {})).conversation.sessionID));
    const owner = new Map<string, string>();
    await Promise.all(
      ids.map(async (id) => {
        const frame = await Promise.race(agents.map((a) => a.client.waitFor(isAssigned(id), 30_000)));
        if (frame.type === 'conversation.assigned') owner.set(id, frame.conversation.agent!.id);
      }),
    );
    assert.equal(owner.size, 200);
    const assignedTwice = ids.filter((id) => agents.every((a) => a.client.frames.some(isAssigned(id))));
    assert.deepEqual(assignedTwice, []);
    for (const c of [...agents, ...visitors]) c.client.close();
  });
});
