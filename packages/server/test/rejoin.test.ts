import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CallSnapshot, GuestJoinResponse } from '@parley/protocol';
import { newAgent, newVisitor, startTestServer } from './support/server.ts';
import { postJson } from './support/http.ts';
import { ProtocolClient, callUpdate, refusalCode } from './support/ProtocolClient.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const has = (call: CallSnapshot, id: string) => call.participants.some((p) => p.id === id);

describe('rejoining a call after the grace period, over real sockets', () => {
  let server: Server;
  let ann: Awaited<ReturnType<typeof newAgent>>;
  let bob: Awaited<ReturnType<typeof newAgent>>;
  let cy: Awaited<ReturnType<typeof newAgent>>;
  before(async () => {
    server = await startTestServer({ CALL_GRACE_SECONDS: '1', AGENT_MAX_CHATS: '100' });
    bob = await newAgent(server, 'Bob');
    cy = await newAgent(server, 'Cy');
    for (const a of [bob, cy]) await a.client.request('presence.set', { presence: 'away' });
    ann = await newAgent(server, 'Ann Agent');
  });
  after(async () => {
    await server.stop();
  });

  /** A visitor and Ann in a call, with Bob added and joined: three people. */
  async function callOfThree() {
    const v = await newVisitor(server, 'Vera');
    const sessionID = (await v.client.request('chat.start', { text: 'hello' })).conversation.sessionID;
    await ann.client.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID);
    const { call } = await ann.client.request('call.invite', { sessionID, useAudio: true, useVideo: true });
    const callId = call.callId;
    await v.client.request('call.answer', { sessionID, callId, accept: true });
    await v.client.request('call.join', { sessionID, callId });
    await ann.client.request('call.join', { sessionID, callId });
    await ann.client.request('conversation.addParticipant', { sessionID, agentId: bob.agent.id });
    await bob.client.request('call.join', { sessionID, callId });
    return { v, sessionID, callId };
  }

  /** Bob's connection goes, and stays away past the grace period; he is connected again afterwards. */
  async function dropBob(v: ProtocolClient, callId: string): Promise<CallSnapshot> {
    bob.client.close();
    const out = await v.waitFor(callUpdate((c) => c.callId === callId && !has(c, bob.agent.id)), 5000, { fromNow: true });
    bob.client = await ProtocolClient.connect(server.url, bob.token);
    assert.ok(out.type === 'call.updated');
    return out.call;
  }

  it('a party dropped past its grace period rejoins while the call lasts; an outsider is refused', async () => {
    const { v, sessionID, callId } = await callOfThree();
    const out = await dropBob(v.client, callId);
    assert.equal(out.state, 'connecting', 'the call goes on for the other two');
    assert.deepEqual(out.dropped, [bob.agent.id]);

    assert.equal(await refusalCode(cy.client.request('call.join', { sessionID, callId })), 'forbidden', 'never in this call');
    const { call } = await bob.client.request('call.join', { sessionID, callId });
    assert.equal(call.participants.find((p) => p.id === bob.agent.id)?.joined, true);
    assert.equal(call.dropped, undefined);
    assert.equal(call.participants.find((p) => p.id === bob.agent.id)?.invitedBy?.id, ann.agent.id, 'still the added colleague');

    const sync = await v.client.request('conversation.sync', { sessionID, afterSeq: 0 });
    const story = sync.messages.map((m) => m.text);
    for (const line of ['Bob lost the connection and left the call', 'Bob rejoined the call']) assert.ok(story.includes(line), `"${line}" in ${JSON.stringify(story)}`);
    v.client.close();
  });

  it('refused once the call is over', async () => {
    const { v, sessionID, callId } = await callOfThree();
    await dropBob(v.client, callId);
    await v.client.request('call.hangup', { sessionID, callId });
    assert.equal(await refusalCode(bob.client.request('call.join', { sessionID, callId })), 'conflict');
    v.client.close();
  });

  it('a guest dropped past its grace period rejoins with the same admission', async () => {
    const { v, sessionID, callId } = await callOfThree();
    const invite = await v.client.request('guest.invite', { sessionID });
    const redeemed = await postJson<GuestJoinResponse>(`${server.url}/api/guests`, { token: invite.token, name: 'Gus' });
    assert.equal(redeemed.status, 201, JSON.stringify(redeemed.body));
    let g = await ProtocolClient.connect(server.url, redeemed.body.token);
    await ann.client.request('call.remove', { sessionID, callId, participantId: bob.agent.id }); // room for the guest
    await g.request('call.join', { sessionID, callId });
    g.close();
    const out = await v.client.waitFor(callUpdate((c) => c.callId === callId && (c.dropped ?? []).length === 1), 5000, { fromNow: true });
    assert.ok(out.type === 'call.updated');
    g = await ProtocolClient.connect(server.url, redeemed.body.token);
    const { call } = await g.request('call.join', { sessionID, callId });
    assert.equal(call.participants.filter((p) => p.role === 'guest' && p.joined).length, 1);
    g.close();
    v.client.close();
  });
});
