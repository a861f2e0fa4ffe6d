/*
 * Caps, text and call rules against abuse (docs/security.md, "Caps, text and call rules"), over real sockets.
 * Each cap is lowered through its environment variable; other client addresses are other loopback
 * addresses (127.0.0.x), which Linux routes to the server on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GuestJoinResponse } from '@parley/protocol';
import { createVisitor, postJson, postJsonFrom } from '../support/http.ts';
import { ProtocolClient, callUpdate, refusal, type ConnectedClient } from '../support/ProtocolClient.ts';
import { newAgent, newVisitor, startTestServer } from '../support/server.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;


/** POST /api/visitors from a given local address. */
const createVisitorFrom = (baseUrl: string, localAddress: string) => postJsonFrom<{ code?: string; message?: string }>(`${baseUrl}/api/visitors`, {}, localAddress);

/** A visitor whose socket comes from `localAddress`. */
async function visitorFrom(server: Server, localAddress: string, name = 'Vera'): Promise<ConnectedClient> {
  const { token } = await createVisitor(server.url, name);
  return ProtocolClient.connect(server.url, token, { localAddress });
}

describe('caps: visitors per address, queued conversations per address and in all, one open conversation', () => {
  let server: Server;
  before(async () => {
    server = await startTestServer({ VISITORS_PER_IP_PER_MINUTE: '12', MAX_QUEUED_PER_IP: '3', MAX_QUEUED_TOTAL: '5' });
  });
  after(async () => {
    await server.stop();
  });

  it('one address gets its share of the queue, then rate_limited; other addresses still queue; a full queue is capacity', async () => {
    const flood = await Promise.all([1, 2, 3, 4].map(() => visitorFrom(server, '127.0.0.1')));
    for (const c of flood.slice(0, 3)) assert.equal((await refusal(c.request('chat.start', { text: 'hi' }))).code, 'ok');
    const fourth = await refusal(flood[3]!.request('chat.start', { text: 'hi' }));
    assert.equal(fourth.code, 'rate_limited');
    assert.match(fourth.message, /MAX_QUEUED_PER_IP allows \(3\)/);
    // Another address is not degraded by that flood.
    const other = await visitorFrom(server, '127.0.0.2');
    assert.equal((await refusal(other.request('chat.start', { text: 'I am honest' }))).code, 'ok');
    const third = await visitorFrom(server, '127.0.0.3');
    assert.equal((await refusal(third.request('chat.start', {}))).code, 'ok');
    const late = await visitorFrom(server, '127.0.0.4');
    const full = await refusal(late.request('chat.start', {}));
    assert.equal(full.code, 'capacity');
    assert.match(full.message, /MAX_QUEUED_TOTAL allows \(5\)/);
    // Taken conversations leave the queue: there is room again, for that address too.
    const agent = await newAgent(server, 'Queue Agent');
    await agent.client.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.visitor.id === other.ready.identity.id);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await refusal(flood[3]!.request('chat.start', { text: 'now?' }))).code, 'ok');
    for (const c of [...flood, other, third, late, agent.client]) await c.close();
  });

  it('one visitor starting chats from many sockets at once gets one open conversation', async () => {
    const { token } = await createVisitor(server.url, 'Rush');
    const sockets = await Promise.all(Array.from({ length: 8 }, () => ProtocolClient.connect(server.url, token, { localAddress: '127.0.0.9' })));
    const started = await Promise.all(sockets.map((s) => s.request('chat.start', {})));
    assert.equal(new Set(started.map((r) => r.conversation.sessionID)).size, 1);
    for (const s of sockets) await s.close();
  });

  it('visitors created per address per minute are capped (VISITORS_PER_IP_PER_MINUTE), per address', async () => {
    const answers = [];
    for (let i = 0; i < 14; i++) answers.push(await createVisitorFrom(server.url, '127.0.0.20'));
    const refused = answers.filter((a) => a.status === 429);
    assert.ok(refused.length >= 2, `some refused: ${answers.map((a) => a.status).join(',')}`);
    assert.equal(refused[0]?.body.code, 'rate_limited');
    assert.match(refused[0]?.body.message ?? '', /VISITORS_PER_IP_PER_MINUTE is 12/);
    assert.equal((await createVisitorFrom(server.url, '127.0.0.21')).status, 201, 'another address is not limited');
  });
});

describe('caps on calls, text rules, the removed guest, who may remove and close, names', () => {
  let server: Server;
  let ann: Awaited<ReturnType<typeof newAgent>>;
  let bob: Awaited<ReturnType<typeof newAgent>>;
  before(async () => {
    server = await startTestServer({ CALL_REQUESTS_PER_MINUTE: '3', GUEST_LINKS_PER_CALL: '2', AGENT_MAX_CHATS: '100', CALL_RING_SECONDS: '5' });
    bob = await newAgent(server, 'Bob Colleague');
    await bob.client.request('presence.set', { presence: 'away' });
    ann = await newAgent(server, 'Ann Agent');
  });
  after(async () => {
    await server.stop();
  });

  async function chat(name = 'Vera') {
    const v = await newVisitor(server, name);
    const sessionID = (await v.client.request('chat.start', { text: 'hello' })).conversation.sessionID;
    await ann.client.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID);
    return { v, sessionID };
  }

  async function callInProgress() {
    const { v, sessionID } = await chat();
    const { call } = await ann.client.request('call.invite', { sessionID, useAudio: true, useVideo: false });
    const callId = call.callId;
    await v.client.request('call.answer', { sessionID, callId, accept: true });
    await v.client.request('call.join', { sessionID, callId });
    await ann.client.request('call.join', { sessionID, callId });
    return { v, sessionID, callId };
  }

  async function transcript(client: ProtocolClient, sessionID: string) {
    return (await client.request('conversation.sync', { sessionID, afterSeq: 0 })).messages;
  }

  it('call requests per conversation per minute are capped: a request/cancel loop rings the agent 3 times, not 266', async () => {
    const { v, sessionID } = await chat();
    const ringsBefore = ann.client.frames.filter(callUpdate((c) => c.sessionID === sessionID && c.state === 'requested')).length;
    let refused: { code: string; message: string } | null = null;
    for (let i = 0; i < 10 && refused === null; i++) {
      const r = await refusal(
        v.client.request('call.request', { sessionID, useAudio: true, useVideo: false }).then(({ call }) => v.client.request('call.cancel', { sessionID, callId: call.callId })),
      );
      if (r.code !== 'ok') refused = r;
    }
    assert.equal(refused?.code, 'rate_limited');
    assert.match(refused?.message ?? '', /CALL_REQUESTS_PER_MINUTE allows \(3\)/);
    await ann.client.request('ping', {});
    const rings = ann.client.frames.filter(callUpdate((c) => c.sessionID === sessionID && c.state === 'requested')).length - ringsBefore;
    assert.equal(rings, 3);
    const events = (await transcript(v.client, sessionID)).filter((m) => m.kind !== 'text');
    assert.ok(events.length <= 2 + 3 * 2, `transcript events bounded: ${events.length}`);
    // Another conversation calls freely.
    const other = await chat('Olga');
    assert.equal((await refusal(other.v.client.request('call.request', { sessionID: other.sessionID, useAudio: true, useVideo: false }))).code, 'ok');
  });

  it('guest links per call are capped (GUEST_LINKS_PER_CALL)', async () => {
    const { v, sessionID } = await callInProgress();
    assert.equal((await refusal(v.client.request('guest.invite', { sessionID }))).code, 'ok');
    assert.equal((await refusal(ann.client.request('guest.invite', { sessionID }))).code, 'ok');
    const third = await refusal(v.client.request('guest.invite', { sessionID }));
    assert.equal(third.code, 'capacity');
    assert.match(third.message, /GUEST_LINKS_PER_CALL allows \(2\)/);
  });

  it('lone surrogates are refused with their code, so what is acknowledged is what replays; emoji round-trip', async () => {
    const { v, sessionID } = await chat();
    const lone = await refusal(v.client.request('message.send', { sessionID, clientId: 'lone', text: '\ud800'.repeat(4000) }));
    assert.equal(lone.code, 'invalid_frame');
    assert.match(lone.message, /lone surrogate/);
    const text = `ok 😀 ${'é'.repeat(10)}`;
    const acked = await v.client.request('message.send', { sessionID, clientId: 'emoji', text });
    const replayed = (await transcript(v.client, sessionID)).find((m) => m.clientId === 'emoji');
    assert.equal(acked.message.text, text);
    assert.equal(replayed?.text, acked.message.text);
    assert.equal((await transcript(v.client, sessionID)).some((m) => m.clientId === 'lone'), false);
    const name = await postJson<{ code: string }>(`${server.url}/api/visitors`, { name: 'Eve\ud800' });
    assert.deepEqual([name.status, name.body.code], [400, 'invalid_frame']);
  });

  it('text of only invisible characters is refused like empty text', async () => {
    const { v, sessionID } = await chat();
    for (const text of ['\u200b\u200b', '\u200d\ufeff\u2060', ' \u200c ']) {
      assert.equal((await refusal(v.client.request('message.send', { sessionID, clientId: `z${text.length}`, text }))).code, 'invalid_frame', JSON.stringify(text));
    }
    const start = await newVisitor(server, 'Zed');
    assert.equal((await refusal(start.client.request('chat.start', { text: '\u200b' }))).code, 'invalid_frame');
  });

  it('a removed guest hears nothing more of its call, not even on a new socket', async () => {
    const { v, sessionID, callId } = await callInProgress();
    const invite = await v.client.request('guest.invite', { sessionID });
    const admission = await postJson<GuestJoinResponse>(`${server.url}/api/guests`, { token: invite.token, name: 'Gus' });
    const g = await ProtocolClient.connect(server.url, admission.body.token);
    await g.request('call.join', { sessionID, callId });
    await ann.client.request('call.remove', { sessionID, callId, participantId: admission.body.guest.id });
    await g.waitFor(callUpdate((c) => c.callId === callId && !c.participants.some((p) => p.id === admission.body.guest.id)));
    const again = await ProtocolClient.connect(server.url, admission.body.token);
    assert.equal(again.ready.guest?.call, null);
    const heard = [g.frames.length, again.frames.length];
    v.client.sendRaw({ type: 'call.media', sessionID, callId, audio: false, video: false });
    await ann.client.waitFor(callUpdate((c) => c.callId === callId && c.participants.some((p) => p.id === v.client.ready.identity.id && !p.audio)));
    await ann.client.request('call.hangup', { sessionID, callId });
    await v.client.waitFor(callUpdate((c) => c.callId === callId && c.state === 'ended'));
    await g.request('ping', {});
    await again.request('ping', {});
    const calls = (c: ProtocolClient, from: number) => c.frames.slice(from).filter((f) => f.type === 'call.updated').length;
    assert.deepEqual([calls(g, heard[0]!), calls(again, heard[1]!)], [0, 0], 'no call.updated after removal: not the mute, not the end');
    await g.close();
    await again.close();
  });

  it('who may remove whom, and who may close: the table over real sockets', async () => {
    const { v, sessionID, callId } = await callInProgress();
    await ann.client.request('conversation.addParticipant', { sessionID, agentId: bob.agent.id });
    const invite = await v.client.request('guest.invite', { sessionID });
    const admission = await postJson<GuestJoinResponse>(`${server.url}/api/guests`, { token: invite.token, name: 'Gus' });
    const g = await ProtocolClient.connect(server.url, admission.body.token);
    await g.request('call.join', { sessionID, callId });
    const ids = { visitor: v.client.ready.identity.id, owner: ann.agent.id, colleague: bob.agent.id, guest: admission.body.guest.id };
    const remove = (c: ProtocolClient, id: string) => refusal(c.request('call.remove', { sessionID, callId, participantId: id }));
    // Bob is invited but has not joined: he removes nobody, the owner least of all.
    assert.equal((await remove(bob.client, ids.owner)).code, 'forbidden');
    assert.equal((await remove(bob.client, ids.visitor)).code, 'forbidden');
    assert.equal((await remove(bob.client, ids.guest)).code, 'forbidden');
    await bob.client.request('call.join', { sessionID, callId });
    // Joined, a colleague still never removes the owner or the visitor.
    assert.equal((await remove(bob.client, ids.owner)).code, 'forbidden');
    assert.equal((await remove(bob.client, ids.visitor)).code, 'forbidden');
    // Visitors and guests remove nobody.
    for (const id of [ids.owner, ids.colleague, ids.guest]) assert.equal((await remove(v.client, id)).code, 'forbidden');
    for (const id of [ids.owner, ids.colleague, ids.visitor]) assert.equal((await remove(g, id)).code, 'forbidden');
    // A colleague removes a guest; the owner removes a colleague.
    assert.equal((await remove(bob.client, ids.guest)).code, 'ok');
    assert.equal((await remove(ann.client, ids.colleague)).code, 'ok');
    // Closing: an added colleague may not; the conversation's agent may.
    assert.equal((await refusal(bob.client.request('conversation.close', { sessionID }))).code, 'forbidden');
    assert.equal((await refusal(ann.client.request('conversation.close', { sessionID }))).code, 'ok');
    const { v: v2, sessionID: s2 } = await chat();
    assert.equal((await refusal(v2.client.request('conversation.close', { sessionID: s2 }))).code, 'ok', 'the visitor closes its own');
  });

  it("visitors and guests may not take an agent's name (NFKC, case and white space ignored)", async () => {
    for (const name of ['Ann Agent', 'ann  agent', 'ＡＮＮ ＡＧＥＮＴ', 'Ann\u200bAgent']) {
      const r = await postJson<{ code: string; message: string }>(`${server.url}/api/visitors`, { name });
      assert.deepEqual([r.status, r.body.code], [409, 'conflict'], name);
    }
    assert.equal((await postJson(`${server.url}/api/visitors`, { name: 'Ann Visitor' })).status, 201);
    const { v, sessionID } = await callInProgress();
    const invite = await v.client.request('guest.invite', { sessionID });
    const r = await postJson<{ code: string }>(`${server.url}/api/guests`, { token: invite.token, name: 'bob colleague' });
    assert.deepEqual([r.status, r.body.code], [409, 'conflict']);
    const ok = await postJson<GuestJoinResponse>(`${server.url}/api/guests`, { token: invite.token, name: 'Gus' });
    assert.equal(ok.status, 201, 'a refused name does not use up the link');
  });
});
