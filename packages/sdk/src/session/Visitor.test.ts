import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import type { ParleyError } from '../errors.ts';
import { Parley } from '../Parley.ts';
import { MemoryStorage, storageKeys } from '../storage.ts';
import { FakeParleyServer } from '../testing/FakeParleyServer.ts';
import { immediateRetry, until, waitFor } from '../testing/helpers.ts';
import type { Message } from '../wire.ts';

let server: FakeParleyServer;
before(async () => {
  server = await new FakeParleyServer().start();
});
after(() => server.stop());

function connect(storage: MemoryStorage, name?: string) {
  return Parley.connectVisitor({
    server: server.url,
    name,
    WebSocket,
    storage,
    heartbeatIntervalMs: 0,
    retryPolicy: immediateRetry,
  });
}

const texts = (list: Array<{ text: string }>) => list.map((m) => m.text);

test('the identity is kept in storage per server and reused; a refused one is replaced', async () => {
  const storage = new MemoryStorage();
  const posts = () => server.httpRequests.filter((r) => r === 'POST /api/visitors').length;
  const before = posts();
  const first = await connect(storage, 'Ada');
  first.disconnect();
  const second = await connect(storage, 'Ada');
  second.disconnect();
  assert.equal(posts() - before, 1, 'one identity created');
  assert.equal(second.id, first.id);
  const stored = JSON.parse(storage.getItem(storageKeys.visitorIdentity(server.url))!);
  assert.equal(stored.visitorId, first.id);

  server.refusedTokens.add(stored.token);
  const third = await connect(storage, 'Ada');
  third.disconnect();
  assert.equal(posts() - before, 2, 'a new identity after the old one was refused');
  assert.notEqual(third.id, first.id);
  assert.equal(JSON.parse(storage.getItem(storageKeys.visitorIdentity(server.url))!).visitorId, third.id);
});

test('a page load resumes the open conversation: last history page, not emitted; then sync', async () => {
  const { party, token } = server.addVisitor('Bea');
  const agent = server.addAgent('Ana', 'ana-resume@example.com', 'pw').party;
  const storage = new MemoryStorage();
  storage.setItem(storageKeys.visitorIdentity(server.url), JSON.stringify({ visitorId: party.id, token }));
  const { snapshot } = server.openConversation(party, agent);
  for (let i = 1; i <= 130; i++) server.append(snapshot.sessionID, i % 2 ? party : agent, `m${i}`, { broadcast: false });

  const visitor = await connect(storage);
  const contact = visitor.contact!;
  assert.equal(contact.sessionID, snapshot.sessionID);
  assert.equal(contact.rtSessionID, contact.sessionID);
  assert.equal(contact.agentId, agent.id);
  assert.equal(contact.status, 'active');
  assert.deepEqual(contact.messages.map((m) => m.seq), Array.from({ length: 100 }, (_, i) => i + 31));
  assert.ok(server.syncs.some((s) => s.sessionID === snapshot.sessionID && s.afterSeq === 130));

  const emitted: Message[] = [];
  contact.on('message', (m) => emitted.push(m));
  server.append(snapshot.sessionID, agent, 'new one');
  await until(() => emitted.length === 1, 'the new message');
  assert.deepEqual(texts(emitted), ['new one']);

  assert.equal(contact.hasOlder, true);
  const older = await contact.loadOlder();
  assert.deepEqual(older.map((m) => m.seq), Array.from({ length: 30 }, (_, i) => i + 1));
  assert.equal(contact.messages.length, 131);
  assert.equal(contact.hasOlder, false);
  assert.deepEqual(await contact.loadOlder(), []);
  assert.equal(emitted.length, 1, 'older history is not emitted');
  visitor.disconnect();
});

test('exactly once, in seq order, despite duplicates, gaps, reordering and a throwing listener', async (t) => {
  const errors: unknown[] = [];
  t.mock.method(console, 'error', (...args: unknown[]) => errors.push(args));
  const visitor = await connect(new MemoryStorage(), 'Cleo');
  const contact = await visitor.startChat({ text: 'hello' });
  assert.deepEqual(texts(contact.messages), ['hello']);
  const agent = server.addAgent('Abe', 'abe-order@example.com', 'pw').party;

  contact.on('message', () => {
    throw new Error('a broken widget');
  });
  const emitted: Message[] = [];
  contact.on('message', (m) => emitted.push(m));

  const stored = [2, 3, 4, 5, 6, 7].map((i) => server.append(contact.sessionID, agent, `a${i}`, { broadcast: false }));
  const bySeq = (seq: number) => stored.find((m) => m.seq === seq)!;
  for (const seq of [2, 2, 4, 3, 3, 7, 5, 6, 6, 2]) {
    server.pushToMembers(contact.sessionID, { type: 'message', message: bySeq(seq) });
  }
  await until(() => emitted.length >= 6, 'six messages');
  await contact.resync(); // let any sync in flight finish: nothing more may arrive
  assert.deepEqual(emitted.map((m) => m.seq), [2, 3, 4, 5, 6, 7]);
  assert.deepEqual(contact.messages.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(errors.length, 6, 'the throwing listener was reported for each message');

  // A gap that only a sync can fill: seq 8 is never pushed.
  server.append(contact.sessionID, agent, 'a8', { broadcast: false });
  server.append(contact.sessionID, agent, 'a9');
  await until(() => emitted.length === 8, 'the gap filled by sync');
  assert.deepEqual(texts(emitted.slice(6)), ['a8', 'a9']);
  visitor.disconnect();
});

test('after a drop: resume from the last seq, re-send the outbox with the same clientId', async () => {
  const visitor = await connect(new MemoryStorage(), 'Dee');
  const contact = await visitor.startChat({ text: 'hello' });
  const agent = server.addAgent('Al', 'al-drop@example.com', 'pw').party;
  const emitted: Message[] = [];
  contact.on('message', (m) => emitted.push(m));

  // The server stores "lost" but the socket dies before the result (and the broadcast) leave.
  let dropOnce = true;
  server.requestHook = (frame) => {
    if (frame.type === 'message.send' && frame.text === 'lost' && dropOnce) {
      dropOnce = false;
      return 'drop-connection-after';
    }
  };
  let offline: Promise<Message> | null = null;
  visitor.once('connectionStateChanged', (state) => {
    assert.equal(state, 'reconnecting');
    server.append(contact.sessionID, agent, 'missed', { broadcast: false });
    offline = contact.sendMessage('offline');
    assert.deepEqual(texts(contact.pendingMessages), ['lost', 'offline']);
  });
  const lost = await contact.sendMessage('lost');
  server.requestHook = null;
  await until(() => offline !== null, 'the offline send');
  const sent = await offline!;

  await until(() => emitted.length === 3, 'three messages');
  assert.deepEqual(texts(emitted), ['lost', 'missed', 'offline']);
  assert.deepEqual(emitted.map((m) => m.seq), [2, 3, 4]);
  assert.equal(lost.seq, 2);
  assert.equal(sent.seq, 4);
  assert.equal(server.sendsByClientId.get(lost.clientId!), 2, 'lost was re-sent once, with the same clientId');
  assert.equal(server.sendsByClientId.get(sent.clientId!), 1, 'nothing is sent while disconnected');
  const conversation = server.conversations.get(contact.sessionID)!;
  assert.deepEqual(texts(conversation.messages), ['hello', 'lost', 'missed', 'offline']);
  const second = server.authenticated.filter((c) => c.identity?.id === visitor.id)[1];
  const resumed = server.syncs.filter((s) => s.sessionID === contact.sessionID && s.connection === second);
  assert.equal(resumed[0]?.afterSeq, 1, 'the new connection synced from the last seq seen before the drop');
  assert.deepEqual(contact.pendingMessages, []);
  visitor.disconnect();
});

test('after a drop with nothing else happening, the messages missed meanwhile are synced', async () => {
  const visitor = await connect(new MemoryStorage(), 'Dot');
  const contact = await visitor.startChat({ text: 'hello' });
  const agent = server.addAgent('Alf', 'alf-missed@example.com', 'pw').party;
  const emitted: Message[] = [];
  contact.on('message', (m) => emitted.push(m));
  visitor.once('connectionStateChanged', () => {
    server.append(contact.sessionID, agent, 'missed 1', { broadcast: false });
    server.append(contact.sessionID, agent, 'missed 2', { broadcast: false });
  });
  server.dropConnections();
  await waitFor(visitor, 'connectionStateChanged', (state) => state === 'connected');
  await until(() => emitted.length === 2, 'the missed messages');
  assert.deepEqual(texts(emitted), ['missed 1', 'missed 2']);
  visitor.disconnect();
});

test('the outbox survives a page reload and is re-sent with the same clientId', async () => {
  const storage = new MemoryStorage();
  const first = await connect(storage, 'Eve');
  const contact = await first.startChat({ text: 'hello' });
  server.requestHook = (frame) => (frame.type === 'message.send' ? 'ignore' : undefined);
  const unsent = contact.sendMessage('are you there?');
  const [entry] = contact.pendingMessages;
  await until(() => server.sendsByClientId.get(entry!.clientId) === 1, 'the first send');
  first.disconnect();
  await assert.rejects(unsent, (err: ParleyError) => err.code === 'unavailable');
  server.requestHook = null;

  const second = await connect(storage);
  const resumed = second.contact!;
  assert.equal(resumed.sessionID, contact.sessionID);
  await until(() => resumed.messages.some((m) => m.text === 'are you there?'), 'the re-sent message');
  assert.equal(server.sendsByClientId.get(entry!.clientId), 2);
  assert.equal(resumed.messages.find((m) => m.text === 'are you there?')!.clientId, entry!.clientId);
  assert.deepEqual(resumed.pendingMessages, []);
  second.disconnect();
});

test('final errors reject with their code; closing empties visitor.contact', async () => {
  const visitor = await connect(new MemoryStorage(), 'Fay');
  const contact = await visitor.startChat();
  assert.equal(await visitor.startChat({ text: 'again' }), contact, 'the open conversation is returned');
  await assert.rejects(contact.sendMessage('x'.repeat(4001)), (err: ParleyError) => err.code === 'too_large');
  await assert.rejects(contact.sendMessage('   '), (err: ParleyError) => err.code === 'invalid_frame');
  const closed = waitFor(contact, 'closed');
  await contact.close();
  const [event] = await closed;
  assert.equal(event.by.id, visitor.id);
  assert.equal(contact.status, 'closed');
  assert.equal(visitor.contact, null);
  await assert.rejects(contact.sendMessage('late'), (err: ParleyError) => err.code === 'conflict');
  visitor.disconnect();
});
