import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import type { Contact } from '../conversation/Contact.ts';
import type { ParleyError } from '../errors.ts';
import { Parley } from '../Parley.ts';
import { MemoryStorage } from '../storage.ts';
import { FakeParleyServer } from '../testing/FakeParleyServer.ts';
import { immediateRetry, until, waitFor } from '../testing/helpers.ts';

let server: FakeParleyServer;
before(async () => {
  server = await new FakeParleyServer().start();
});
after(() => server.stop());

const common = () => ({ WebSocket, storage: new MemoryStorage(), heartbeatIntervalMs: 0, retryPolicy: immediateRetry });

test('an agent signs in, accepts from the queue, and gets one Contact per conversation', async () => {
  server.addAgent('Ana', 'ana@example.com', 'secret');
  await assert.rejects(
    Parley.connectAgent({ server: server.url, email: 'ana@example.com', password: 'wrong', ...common() }),
    (err: ParleyError) => err.code === 'unauthorized',
  );
  const agent = await Parley.connectAgent({ server: server.url, email: 'ana@example.com', password: 'secret', ...common() });
  assert.equal(agent.name, 'Ana');
  assert.deepEqual(agent.contacts, []);
  assert.deepEqual((await agent.agents()).map((a) => a.name).includes('Ana'), true);

  const visitor = await Parley.connectVisitor({ server: server.url, name: 'Vic', ...common() });
  const visitorContact = await visitor.startChat({ text: 'help please' });
  assert.equal(visitorContact.agentId, null);
  const queue = await agent.queue();
  const waiting = queue.find((q) => q.sessionID === visitorContact.sessionID);
  assert.equal(waiting?.firstMessage, 'help please');

  const events: Contact[] = [];
  agent.on('contact', (c) => events.push(c));
  const updated = waitFor(visitorContact, 'updated', (s) => s.agent !== null);
  const contact = await agent.accept(visitorContact.sessionID);
  await until(() => events.length > 0, 'the contact event');
  assert.equal(events.length, 1);
  assert.equal(events[0], contact, 'accept and the event give the same object');
  assert.deepEqual(agent.contacts, [contact]);
  assert.equal(contact.rtSessionID, visitorContact.sessionID);
  assert.equal(contact.visitorId, visitor.id);
  assert.equal(contact.agentId, agent.id);
  assert.deepEqual(contact.messages.map((m) => m.text), ['help please', 'Ana joined the conversation']);
  await updated;
  assert.equal(visitorContact.agentId, agent.id);
  assert.equal(visitorContact.agent?.name, 'Ana');

  const heard = waitFor(visitorContact, 'message', (m) => m.text === 'Hi Vic');
  const sent = await contact.sendMessage('Hi Vic');
  assert.equal(sent.from.id, agent.id);
  await heard;

  const closed = waitFor(contact, 'closed');
  await visitorContact.close();
  const [event] = await closed;
  assert.equal(event.by.id, visitor.id);
  assert.deepEqual(agent.contacts, [], 'a closed contact leaves agent.contacts');
  await assert.rejects(agent.accept(visitorContact.sessionID), (err: ParleyError) => err.code === 'conflict');

  await agent.setPresence('away');
  assert.equal(agent.presence, 'away');
  agent.disconnect();
  visitor.disconnect();
});

test('an agent reconnecting with a token resumes its assigned conversations', async () => {
  const { party, token } = server.addAgent('Ben', 'ben@example.com', 'pw');
  const visitor = server.addVisitor('Val').party;
  const { snapshot } = server.openConversation(visitor, party);
  server.append(snapshot.sessionID, visitor, 'still there?', { broadcast: false });
  const agent = await Parley.connectAgent({ server: server.url, token, ...common() });
  assert.equal(agent.id, party.id);
  assert.equal(agent.contacts.length, 1);
  assert.deepEqual(agent.contacts[0]!.messages.map((m) => m.text), ['still there?']);
  agent.disconnect();
});

test('an agent keeps a bounded queue view from one page and the news: the first 50, and how many more', async () => {
  const { token } = server.addAgent('Quinn', 'quinn@example.com', 'pw');
  const waitingBefore = [...server.conversations.values()].filter((c) => c.snapshot.status === 'queued').length;
  for (let i = 0; i < 60; i++) server.openConversation(server.addVisitor(`Waiting ${i}`).party);
  const agent = await Parley.connectAgent({ server: server.url, token, ...common() });
  const first = await agent.queue();
  assert.equal(first.length, 50, 'the first page, not the whole queue');
  assert.equal(agent.queueLimit, 50);
  assert.equal(agent.queueSize, waitingBefore + 60);
  const second = await agent.queue({ limit: 20, after: first.at(-1)!.sessionID });
  assert.equal(second.length, Math.min(20, waitingBefore + 10));
  assert.ok(!second.some((q) => first.some((f) => f.sessionID === q.sessionID)), 'the next page follows the first');

  const views: Array<{ ids: string[]; size: number }> = [];
  agent.on('queue', (queue, { size }) => views.push({ ids: queue.map((q) => q.sessionID), size }));
  // A new chat far back in the queue: counted, not shown.
  const visitor = await Parley.connectVisitor({ server: server.url, name: 'Newcomer', ...common() });
  const newcomer = await visitor.startChat({ text: 'hello' });
  await until(() => views.length > 0, 'the queue event for the newcomer');
  assert.equal(views.at(-1)!.size, waitingBefore + 61);
  assert.deepEqual(views.at(-1)!.ids, first.map((q) => q.sessionID));
  assert.ok(!views.at(-1)!.ids.includes(newcomer.sessionID));

  // The oldest is taken: the view drops it and fills its place from behind.
  const taken = first[0]!.sessionID;
  views.length = 0;
  await agent.accept(taken);
  await until(() => views.some((v) => v.ids.length === 50 && !v.ids.includes(taken)), 'the refilled view');
  const view = views.at(-1)!;
  assert.equal(view.size, waitingBefore + 60);
  assert.deepEqual(view.ids.slice(0, 49), first.slice(1).map((q) => q.sessionID));
  assert.equal(view.ids[49], second[0]!.sessionID, 'the next waiting conversation moved into the view');
  agent.disconnect();
  visitor.disconnect();
});
