import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CallSnapshot, GuestJoinResponse } from '@parley/protocol';
import { PROTOCOL_VERSION } from '@parley/protocol';
import { InviteTokens } from '../src/auth/tokens.ts';
import { TEST_SECRET, newAgent, newVisitor, startTestServer } from './support/server.ts';
import { postJson } from './support/http.ts';
import { ProtocolClient, callUpdate, refusalCode } from './support/ProtocolClient.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const ids = (call: CallSnapshot) => call.participants.map((p) => p.id).sort();

describe('group calls over real sockets: colleagues, guests, leaving, removing, capacity', () => {
  let server: Server;
  // Agents are made once (sign-ins are rate-limited per address); colleagues stay `away` so routing gives
  // every new chat to Ann, while they can still be added.
  let ann: Awaited<ReturnType<typeof newAgent>>;
  const colleagues = new Map<string, Awaited<ReturnType<typeof newAgent>>>();
  before(async () => {
    server = await startTestServer({ CALL_RING_SECONDS: '2', CALL_GRACE_SECONDS: '1', AGENT_MAX_CHATS: '100' });
    for (const name of ['Bob', 'Cy']) {
      const a = await newAgent(server, name);
      await a.client.request('presence.set', { presence: 'away' });
      colleagues.set(name, a);
    }
    ann = await newAgent(server, 'Ann Agent');
  });
  after(async () => {
    await server.stop();
  });

  const open: ProtocolClient[] = [];
  /** A visitor and Ann in a call whose media connected. */
  async function callInProgress() {
    for (const c of open.splice(0)) c.close();
    const agent = ann;
    const v = await newVisitor(server, 'Vera');
    const sessionID = (await v.client.request('chat.start', { text: 'hello' })).conversation.sessionID;
    await agent.client.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID);
    const { call } = await agent.client.request('call.invite', { sessionID, useAudio: true, useVideo: true });
    const callId = call.callId;
    await v.client.request('call.answer', { sessionID, callId, accept: true });
    await v.client.request('call.join', { sessionID, callId });
    await agent.client.request('call.join', { sessionID, callId });
    v.client.sendRaw({ type: 'call.connection', sessionID, callId, peerId: agent.agent.id, state: 'connected' });
    await v.client.waitFor(callUpdate((c) => c.callId === callId && c.state === 'active'));
    open.push(v.client);
    return { agent, v, sessionID, callId };
  }

  /** A colleague, connected (again, if an earlier test closed it) and away. */
  async function colleague(name: string) {
    const a = colleagues.get(name)!;
    if (a.client.closeCode !== null) {
      a.client = await ProtocolClient.connect(server.url, a.token);
      await a.client.request('presence.set', { presence: 'away' });
    }
    return a;
  }

  async function guest(client: ProtocolClient, sessionID: string, name: string) {
    const invite = await client.request('guest.invite', { sessionID });
    const redeemed = await postJson<GuestJoinResponse>(`${server.url}/api/guests`, { token: invite.token, name });
    assert.equal(redeemed.status, 201, JSON.stringify(redeemed.body));
    const g = await ProtocolClient.connect(server.url, redeemed.body.token);
    open.push(g);
    return { invite, admission: redeemed.body, client: g };
  }

  async function transcript(client: ProtocolClient, sessionID: string) {
    return (await client.request('conversation.sync', { sessionID, afterSeq: 0 })).messages.map((m) => m.text);
  }

  /**
   * Asserts that the call event `text` is in the conversation's stored transcript. A call event is written
   * after the request that caused it has been answered, so this waits until `client` hears it, then reads it
   * back from the store.
   */
  async function recorded(client: ProtocolClient, sessionID: string, text: string) {
    await client.waitFor((f) => f.type === 'message' && f.message.sessionID === sessionID && f.message.text === text);
    assert.ok((await transcript(client, sessionID)).includes(text), `"${text}" is in the transcript`);
  }

  it('an added colleague gets the conversation with its transcript and an invitation into the call, and joins it', async () => {
    const { agent, v, sessionID, callId } = await callInProgress();
    const bob = await colleague('Bob');
    const { conversation } = await agent.client.request('conversation.addParticipant', { sessionID, agentId: bob.agent.id });
    assert.deepEqual(conversation.participants.map((p) => p.name), ['Bob']);
    const assigned = await bob.client.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID);
    assert.ok(assigned.type === 'conversation.assigned');
    const invited = assigned.conversation.call?.participants.find((p) => p.id === bob.agent.id);
    assert.deepEqual(invited && { joined: invited.joined, by: invited.invitedBy?.id }, { joined: false, by: agent.agent.id });
    assert.ok((await transcript(bob.client, sessionID)).includes('hello'), 'the colleague sees the transcript');

    const joined = await bob.client.request('call.join', { sessionID, callId });
    assert.deepEqual(joined.media, { kind: 'mesh' });
    assert.deepEqual(ids(joined.call), [agent.agent.id, bob.agent.id, v.visitor.id].sort());
    await v.client.waitFor(callUpdate((c) => c.participants.some((p) => p.id === bob.agent.id && p.joined)));
    // Signaling now relays between all three.
    bob.client.sendRaw({ type: 'signal', sessionID, callId, to: v.visitor.id, description: { type: 'offer', sdp: 'v=0' } });
    const relayed = await v.client.waitFor((f) => f.type === 'signal' && f.from === bob.agent.id);
    assert.ok(relayed.type === 'signal' && relayed.description?.type === 'offer');
    await recorded(v.client, sessionID, 'Ann Agent added Bob to the conversation');
    await recorded(v.client, sessionID, 'Ann Agent invited Bob into the call');
    await recorded(v.client, sessionID, 'Bob joined the call');
    // After a reconnect the colleague finds the conversation among its own.
    const again = await ProtocolClient.connect(server.url, bob.token);
    open.push(again);
    assert.ok(again.ready.conversations.some((c) => c.sessionID === sessionID));
  });

  it('adding is for agents of the conversation only, and for colleagues who are online', async () => {
    const { agent, v, sessionID } = await callInProgress();
    const bob = await colleague('Bob');
    assert.equal(await refusalCode(v.client.request('conversation.addParticipant', { sessionID, agentId: bob.agent.id })), 'forbidden');
    assert.equal(await refusalCode(bob.client.request('conversation.addParticipant', { sessionID, agentId: agent.agent.id })), 'forbidden');
    assert.equal(await refusalCode(agent.client.request('conversation.addParticipant', { sessionID, agentId: 'nobody' })), 'not_found');
    assert.equal(await refusalCode(agent.client.request('conversation.addParticipant', { sessionID, agentId: agent.agent.id })), 'conflict');
    bob.client.close();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await refusalCode(agent.client.request('conversation.addParticipant', { sessionID, agentId: bob.agent.id })), 'conflict');
  });

  it('a guest link admits one person to the call; the guest hears the call and nothing of the transcript', async () => {
    const { agent, v, sessionID, callId } = await callInProgress();
    const { invite, admission, client: g } = await guest(v.client, sessionID, 'Gus Guest');
    assert.match(invite.url, new RegExp(`^${server.url}/guest#`));
    assert.ok(Date.parse(invite.expiresAt) - Date.now() > 14 * 60_000, 'valid for 15 minutes');
    assert.equal(g.ready.identity.role, 'guest');
    assert.equal(g.ready.conversations.length, 0);
    assert.equal(g.ready.guest?.sessionID, sessionID);
    assert.equal(g.ready.guest?.call?.callId, callId);
    assert.equal(admission.callId, callId);

    // Used again: refused with its own code; the call has three people.
    const reused = await postJson<{ code: string }>(`${server.url}/api/guests`, { token: invite.token, name: 'Mallory' });
    assert.deepEqual([reused.status, reused.body.code], [410, 'invite_used']);

    const joined = await g.request('call.join', { sessionID, callId });
    assert.equal(joined.call.participants.length, 3);
    await v.client.request('message.send', { sessionID, clientId: 'secret-1', text: 'my card number is private' });
    await agent.client.waitFor((f) => f.type === 'message' && f.message.text === 'my card number is private');
    await g.request('ping', {});
    assert.equal(g.frames.filter((f) => f.type === 'message' || f.type === 'typing' || f.type.startsWith('conversation.')).length, 0, 'no chat reaches a guest');
    assert.ok(g.frames.some((f) => f.type === 'call.updated'), 'the call does');
    // A guest touches nothing but its call.
    assert.equal(await refusalCode(g.request('conversation.sync', { sessionID, afterSeq: 0 })), 'forbidden');
    assert.equal(await refusalCode(g.request('message.send', { sessionID, clientId: 'g1', text: 'hi' })), 'forbidden');
    assert.equal(await refusalCode(g.request('guest.invite', { sessionID })), 'forbidden');
    assert.equal(await refusalCode(g.request('call.remove', { sessionID, callId, participantId: v.visitor.id })), 'forbidden');
    const history = await fetch(`${server.url}/api/conversations/${sessionID}/messages`, { headers: { authorization: `Bearer ${admission.token}` } });
    assert.equal(history.status, 403);
    await recorded(agent.client, sessionID, 'Gus Guest (guest of Vera) joined the call');
  });

  it('tampered, expired and foreign links are refused with coded errors; an invitation never logs in', async () => {
    const { agent, sessionID, callId } = await callInProgress();
    const invitedBy = { id: agent.agent.id, role: 'agent' as const, name: agent.agent.name };
    const { token } = await agent.client.request('guest.invite', { sessionID });
    const tampered = token.slice(0, -3) + (token.endsWith('A') ? 'BBB' : 'AAA');
    const refused = await postJson<{ code: string }>(`${server.url}/api/guests`, { token: tampered, name: 'Eve' });
    assert.deepEqual([refused.status, refused.body.code], [401, 'unauthorized']);
    const invites = new InviteTokens(TEST_SECRET);
    const expired = await invites.issue({ jti: 'x1', sessionID, callId, invitedBy, ttlSeconds: -10 });
    const late = await postJson<{ code: string }>(`${server.url}/api/guests`, { token: expired.token, name: 'Late' });
    assert.deepEqual([late.status, late.body.code], [410, 'invite_expired']);
    const forged = await new InviteTokens('another-secret-another-secret-0123456789').issue({ jti: 'x2', sessionID, callId, invitedBy, ttlSeconds: 60 });
    assert.equal((await postJson<{ code: string }>(`${server.url}/api/guests`, { token: forged.token, name: 'Eve' })).body.code, 'unauthorized');
    const otherCall = await invites.issue({ jti: 'x3', sessionID, callId: 'not-this-call', invitedBy, ttlSeconds: 60 });
    assert.equal((await postJson<{ code: string }>(`${server.url}/api/guests`, { token: otherCall.token, name: 'Eve' })).body.code, 'conflict');
    const bad = await postJson<{ code: string }>(`${server.url}/api/guests`, { token, name: '' });
    assert.equal(bad.body.code, 'invalid_frame');
    // The invitation itself is not a token to connect with.
    const socket = await ProtocolClient.open(server.url);
    socket.sendRaw({ type: 'auth', v: PROTOCOL_VERSION, token });
    assert.equal((await socket.nextError()).code, 'unauthorized');
  });

  it('leaving: a guest or a colleague leaves and the call goes on; the last agent leaving ends it for all', async () => {
    const { agent, v, sessionID, callId } = await callInProgress();
    const bob = await colleague('Bob');
    await agent.client.request('conversation.addParticipant', { sessionID, agentId: bob.agent.id });
    await bob.client.request('call.join', { sessionID, callId });
    const { client: g } = await guest(agent.client, sessionID, 'Gus');
    await g.request('call.join', { sessionID, callId });

    // A guest's hang-up is leaving.
    const afterGuest = await g.request('call.hangup', { sessionID, callId });
    assert.equal(afterGuest.call.state, 'active');
    assert.equal(afterGuest.call.participants.some((p) => p.role === 'guest'), false);
    assert.equal(await refusalCode(g.request('call.join', { sessionID, callId })), 'forbidden', 'gone means gone');
    // The conversation's agent leaves; Bob carries on with the visitor.
    const afterAnn = await agent.client.request('call.leave', { sessionID, callId });
    assert.equal(afterAnn.call.state, 'active');
    assert.deepEqual(ids(afterAnn.call), [bob.agent.id, v.visitor.id].sort());
    // Bob is the last agent: leaving ends the call for everyone.
    const ended = await bob.client.request('call.leave', { sessionID, callId });
    assert.equal(ended.call.state, 'ended');
    assert.equal(ended.call.endReason, 'hangup');
    await v.client.waitFor(callUpdate((c) => c.callId === callId && c.state === 'ended'));
    await recorded(v.client, sessionID, 'Gus left the call');
    await recorded(v.client, sessionID, 'Ann Agent left the call');
  });

  it('the visitor leaving ends the call; a colleague declining its invitation is only declined', async () => {
    const { agent, v, sessionID, callId } = await callInProgress();
    const bob = await colleague('Bob');
    await agent.client.request('conversation.addParticipant', { sessionID, agentId: bob.agent.id });
    const declined = await bob.client.request('call.leave', { sessionID, callId });
    assert.equal(declined.call.state, 'active');
    assert.equal(declined.call.participants.length, 2);
    await recorded(agent.client, sessionID, 'Bob declined to join the call');
    const ended = await v.client.request('call.leave', { sessionID, callId });
    assert.equal(ended.call.state, 'ended');
  });

  it('an agent removes a guest (its connection hears it is out); removing the visitor ends the call', async () => {
    const { agent, v, sessionID, callId } = await callInProgress();
    const { admission, client: g } = await guest(v.client, sessionID, 'Gus');
    await g.request('call.join', { sessionID, callId });
    assert.equal(await refusalCode(v.client.request('call.remove', { sessionID, callId, participantId: admission.guest.id })), 'forbidden');
    const after = await agent.client.request('call.remove', { sessionID, callId, participantId: admission.guest.id });
    assert.equal(after.call.participants.length, 2);
    await g.waitFor(callUpdate((c) => c.callId === callId && !c.participants.some((p) => p.id === admission.guest.id)));
    assert.equal(await refusalCode(g.request('call.join', { sessionID, callId })), 'forbidden');
    await recorded(agent.client, sessionID, 'Ann Agent removed Gus from the call');
    const ended = await agent.client.request('call.remove', { sessionID, callId, participantId: v.visitor.id });
    assert.equal(ended.call.state, 'ended');
  });

  it('a peer-to-peer call carries four people; the fifth is refused with capacity, naming how to carry more', async () => {
    const { agent, v, sessionID } = await callInProgress();
    const bob = await colleague('Bob');
    await agent.client.request('conversation.addParticipant', { sessionID, agentId: bob.agent.id });
    await guest(v.client, sessionID, 'Gus');
    const cy = await colleague('Cy');
    const refused = await agent.client.requestRaw('conversation.addParticipant', { sessionID, agentId: cy.agent.id });
    assert.ok(refused.type === 'error');
    assert.equal(refused.code, 'capacity');
    assert.match(refused.message, /JANUS_URL/);
    const sync = await agent.client.request('conversation.sync', { sessionID, afterSeq: 0 });
    assert.deepEqual(sync.conversation.participants.map((p) => p.name), ['Bob'], 'refused as a whole: Cy was not added');
    assert.equal(await refusalCode(v.client.request('guest.invite', { sessionID })), 'capacity');
  });

  it('an invitation not taken up lapses after the ring time; a guest that drops stays out past the grace', async () => {
    const { agent, v, sessionID, callId } = await callInProgress();
    const bob = await colleague('Bob');
    await agent.client.request('conversation.addParticipant', { sessionID, agentId: bob.agent.id });
    await v.client.waitFor(callUpdate((c) => c.participants.length === 3));
    await v.client.waitFor(callUpdate((c) => c.callId === callId && c.participants.length === 2), 5000, { fromNow: true });
    await recorded(agent.client, sessionID, 'Bob did not join the call');

    const { client: g } = await guest(v.client, sessionID, 'Gus');
    await g.request('call.join', { sessionID, callId });
    g.close();
    const out = await v.client.waitFor(callUpdate((c) => c.callId === callId && c.participants.length === 2), 5000, { fromNow: true });
    assert.ok(out.type === 'call.updated' && out.call.state === 'active', 'the call goes on without the guest');
  });
});
