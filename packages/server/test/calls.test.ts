import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CallSnapshot, ServerFrame } from '@parley/protocol';
import { newAgent, newVisitor, startTestServer } from './support/server.ts';
import type { ProtocolClient } from './support/ProtocolClient.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const callIn = (state: CallSnapshot['state'], callId?: string) => (f: ServerFrame) =>
  f.type === 'call.updated' && f.call.state === state && (callId === undefined || f.call.callId === callId);
const callOf = (f: ServerFrame): CallSnapshot => {
  if (f.type !== 'call.updated') throw new Error(`not a call update: ${f.type}`);
  return f.call;
};
const codeOf = (f: ServerFrame) => (f.type === 'error' ? f.code : `ok:${f.type}`);

describe('calls: signaling and the state machine over real sockets', () => {
  let server: Server;
  before(async () => {
    server = await startTestServer({
      CALL_RING_SECONDS: '1',
      CALL_GRACE_SECONDS: '1',
      TURN_SECRET: 'turn-secret',
      TURN_URLS: 'turn:127.0.0.1:3478',
      ICE_SERVERS: '[{"urls":"stun:127.0.0.1:3478"}]',
    });
  });
  after(async () => {
    await server.stop();
  });

  /** Connections of earlier chats: closed before the next, so routing can only pick the new agent. */
  const open: ProtocolClient[] = [];
  async function chat() {
    for (const c of open.splice(0)) c.close();
    const agent = await newAgent(server, 'Ann Agent');
    const v = await newVisitor(server, 'Vera');
    const sessionID = (await v.client.request('chat.start', {})).conversation.sessionID;
    await agent.client.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID);
    open.push(agent.client, v.client);
    return { agent, v, sessionID };
  }

  async function connectedCall() {
    const c = await chat();
    const { call } = await c.v.client.request('call.request', { sessionID: c.sessionID, useAudio: true, useVideo: true });
    await c.agent.client.request('call.answer', { sessionID: c.sessionID, callId: call.callId, accept: true });
    const vj = await c.v.client.request('call.join', { sessionID: c.sessionID, callId: call.callId });
    const aj = await c.agent.client.request('call.join', { sessionID: c.sessionID, callId: call.callId });
    return { ...c, callId: call.callId, vj, aj };
  }

  async function transcript(client: ProtocolClient, sessionID: string) {
    return (await client.request('conversation.sync', { sessionID, afterSeq: 0 })).messages.filter((m) => m.kind === 'event').map((m) => m.text);
  }

  it('visitor requests, agent accepts, both join, signals relay, media connects, the visitor hangs up', async () => {
    const { agent, v, sessionID } = await chat();
    const { call } = await v.client.request('call.request', { sessionID, useAudio: true, useVideo: true });
    assert.equal(call.state, 'requested');
    const rung = callOf(await agent.client.waitFor(callIn('requested')));
    assert.equal(rung.initiator?.id, v.visitor.id);
    assert.ok(rung.expiresAt);

    const answered = await agent.client.request('call.answer', { sessionID, callId: call.callId, accept: true });
    assert.equal(answered.call.state, 'connecting');
    await v.client.waitFor(callIn('connecting'));

    const vj = await v.client.request('call.join', { sessionID, callId: call.callId });
    const aj = await agent.client.request('call.join', { sessionID, callId: call.callId });
    assert.equal(aj.call.participants.every((p) => p.joined), true);
    // ICE servers: the configured STUN plus TURN with this participant's own time-limited credential.
    assert.equal(vj.iceServers.length, 2);
    assert.match(vj.iceServers[1]!.username!, new RegExp(`^\\d+:${v.visitor.id}$`));
    assert.notEqual(vj.iceServers[1]!.credential, aj.iceServers[1]!.credential);

    const offer = { type: 'offer' as const, sdp: 'v=0 fake offer' };
    v.client.sendRaw({ type: 'signal', sessionID, callId: call.callId, to: agent.agent.id, description: offer });
    const relayed = await agent.client.waitFor((f) => f.type === 'signal');
    assert.equal(relayed.type === 'signal' && relayed.from, v.visitor.id);
    assert.deepEqual(relayed.type === 'signal' && relayed.description, offer);
    agent.client.sendRaw({ type: 'signal', sessionID, callId: call.callId, to: v.visitor.id, candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
    const candidate = await v.client.waitFor((f) => f.type === 'signal');
    assert.equal(candidate.type === 'signal' && candidate.candidate?.sdpMid, '0');
    assert.equal(v.client.frames.filter((f) => f.type === 'signal').length, 1, 'no signal echoes to its sender');

    v.client.sendRaw({ type: 'call.connection', sessionID, callId: call.callId, peerId: agent.agent.id, state: 'connected' });
    const active = callOf(await agent.client.waitFor(callIn('active')));
    assert.ok(active.startedAt);

    v.client.sendRaw({ type: 'call.media', sessionID, callId: call.callId, audio: false, video: true });
    const muted = await agent.client.waitFor((f) => f.type === 'call.updated' && f.call.participants.some((p) => p.id === v.visitor.id && !p.audio));
    assert.ok(muted);

    const ended = await v.client.request('call.hangup', { sessionID, callId: call.callId });
    assert.equal(ended.call.endReason, 'hangup');
    const seen = callOf(await agent.client.waitFor(callIn('ended')));
    assert.equal(seen.endedBy?.id, v.visitor.id);

    await agent.client.waitFor((f) => f.type === 'message' && /ended by Vera after/.test(f.message.text));
    assert.deepEqual(await transcript(v.client, sessionID), [
      'Ann Agent joined the conversation',
      'Vera asked for a video call',
      'Ann Agent accepted the video call',
      'Video call started',
      (await transcript(v.client, sessionID)).at(-1)!,
    ]);
    assert.match((await transcript(v.client, sessionID)).at(-1)!, /^Video call ended by Vera after \d+ s$/);
    // The chat goes on after the call.
    await v.client.request('message.send', { sessionID, clientId: 'after', text: 'thanks!' });
  });

  it('agent invites; the visitor declines; a voice invitation records its kind', async () => {
    const { agent, v, sessionID } = await chat();
    const { call } = await agent.client.request('call.invite', { sessionID, useAudio: true, useVideo: false });
    const invited = callOf(await v.client.waitFor(callIn('invited')));
    assert.equal(invited.useVideo, false);
    const declined = await v.client.request('call.answer', { sessionID, callId: call.callId, accept: false });
    assert.equal(declined.call.endReason, 'declined');
    assert.equal(callOf(await agent.client.waitFor(callIn('ended'))).endReason, 'declined');
    await agent.client.waitFor((f) => f.type === 'message' && f.message.text === 'Vera declined the voice call');
    assert.ok((await transcript(v.client, sessionID)).includes('Ann Agent invited Vera to a voice call'));
  });

  it('an unanswered call expires; the initiator can cancel; a new call may follow', async () => {
    const { agent, v, sessionID } = await chat();
    const first = await v.client.request('call.request', { sessionID, useAudio: true, useVideo: true });
    const expired = callOf(await agent.client.waitFor(callIn('ended', first.call.callId)));
    assert.equal(expired.endReason, 'timeout');
    const second = await agent.client.request('call.invite', { sessionID, useAudio: true, useVideo: true });
    assert.notEqual(second.call.callId, first.call.callId);
    const cancelled = await agent.client.request('call.cancel', { sessionID, callId: second.call.callId });
    assert.equal(cancelled.call.endReason, 'cancelled');
    const late = await v.client.requestRaw('call.answer', { sessionID, callId: second.call.callId, accept: true });
    assert.equal(codeOf(late), 'conflict', 'answering a cancelled call changes nothing');
  });

  it('refuses illegal actions with coded errors and changes nothing', async () => {
    const { agent, v, sessionID } = await chat();
    const { call } = await v.client.request('call.request', { sessionID, useAudio: true, useVideo: true });
    assert.equal(codeOf(await v.client.requestRaw('call.answer', { sessionID, callId: call.callId, accept: true })), 'forbidden');
    assert.equal(codeOf(await agent.client.requestRaw('call.invite', { sessionID, useAudio: true, useVideo: true })), 'conflict');
    assert.equal(codeOf(await agent.client.requestRaw('call.answer', { sessionID, callId: 'stale', accept: true })), 'conflict');
    // A join before the answer only prepares the path: the visitor is not counted in, and reports no link.
    const early = await v.client.request('call.join', { sessionID, callId: call.callId });
    const me = early.call.participants.find((p) => p.id === v.visitor.id);
    assert.deepEqual([me?.prepared, me?.joined, early.call.state], [true, false, 'requested'], 'a join while it rings prepares');
    assert.equal(early.media.kind, 'mesh');
    v.client.sendRaw({ type: 'call.connection', sessionID, callId: call.callId, peerId: agent.agent.id, state: 'connected' });
    assert.equal((await v.client.nextError()).code, 'conflict', 'no link report before joining');

    const outsider = await newVisitor(server, 'Mallory');
    open.push(outsider.client);
    assert.equal(codeOf(await outsider.client.requestRaw('call.answer', { sessionID, callId: call.callId, accept: true })), 'forbidden');
    assert.equal(codeOf(await outsider.client.requestRaw('call.request', { sessionID, useAudio: true, useVideo: true })), 'forbidden');
    const otherAgent = await newAgent(server, 'Other');
    open.push(otherAgent.client);
    assert.equal(codeOf(await otherAgent.client.requestRaw('call.answer', { sessionID, callId: call.callId, accept: true })), 'forbidden');

    await agent.client.request('call.answer', { sessionID, callId: call.callId, accept: true });
    assert.equal(codeOf(await agent.client.requestRaw('call.answer', { sessionID, callId: call.callId, accept: true })), 'conflict', 'a repeated answer');
    await v.client.request('call.join', { sessionID, callId: call.callId });
    assert.equal(codeOf(await v.client.requestRaw('call.join', { sessionID, callId: call.callId, prepare: true })), 'conflict', 'only an invitation not taken up prepares in a running call');
    outsider.client.sendRaw({ type: 'signal', sessionID, callId: call.callId, to: v.visitor.id, description: { type: 'offer', sdp: 'evil' } });
    assert.equal((await outsider.client.nextError()).code, 'forbidden');
    assert.equal(codeOf(await outsider.client.requestRaw('call.join', { sessionID, callId: call.callId })), 'forbidden', 'no ICE servers for outsiders');
    assert.equal(v.client.frames.some((f) => f.type === 'signal'), false, 'nothing reached the visitor');
    const state = await v.client.request('conversation.sync', { sessionID, afterSeq: 0 });
    assert.equal(state.conversation.call?.state, 'connecting');
  });

  it('a participant gone past the grace period ends the call (failed); a rejoin within it keeps the call', async () => {
    const c = await connectedCall();
    c.v.client.close();
    const reconnecting = await c.agent.client.waitFor(
      (f) => f.type === 'call.updated' && f.call.participants.some((p) => p.id === c.v.visitor.id && p.connection === 'reconnecting'),
    );
    assert.ok(reconnecting);
    const { ProtocolClient } = await import('./support/ProtocolClient.ts');
    const back = await ProtocolClient.connect(server.url, c.v.token);
    assert.equal(back.ready.conversations[0]?.call?.callId, c.callId, 'a reloaded page learns of its live call');
    await back.request('call.join', { sessionID: c.sessionID, callId: c.callId });
    await new Promise((r) => setTimeout(r, 1500));
    const sync = await back.request('conversation.sync', { sessionID: c.sessionID, afterSeq: 0 });
    assert.equal(sync.conversation.call?.state, 'connecting', 'still live after the grace period');

    back.close();
    const ended = callOf(await c.agent.client.waitFor(callIn('ended', c.callId)));
    assert.equal(ended.endReason, 'failed');
    assert.equal(ended.endedBy?.id, c.v.visitor.id);
  });

  it('closing the conversation ends its call; a reported failure ends it too', async () => {
    const c = await connectedCall();
    await c.agent.client.request('conversation.close', { sessionID: c.sessionID });
    assert.equal(callOf(await c.v.client.waitFor(callIn('ended', c.callId))).endReason, 'closed');

    const d = await connectedCall();
    d.agent.client.sendRaw({ type: 'call.connection', sessionID: d.sessionID, callId: d.callId, peerId: d.v.visitor.id, state: 'failed' });
    assert.equal(callOf(await d.v.client.waitFor(callIn('ended', d.callId))).endReason, 'failed');
  });

  it('media denied on one side ends with media-denied; an audio-only call upgrades to video', async () => {
    const c = await connectedCall();
    const denied = await c.v.client.request('call.hangup', { sessionID: c.sessionID, callId: c.callId, reason: 'media-denied' });
    assert.equal(denied.call.endReason, 'media-denied');

    const { agent, v, sessionID } = await chat();
    const { call } = await agent.client.request('call.invite', { sessionID, useAudio: true, useVideo: false });
    await v.client.request('call.answer', { sessionID, callId: call.callId, accept: true });
    await v.client.request('call.join', { sessionID, callId: call.callId });
    v.client.sendRaw({ type: 'call.media', sessionID, callId: call.callId, audio: true, video: true });
    const upgraded = callOf(await agent.client.waitFor((f) => f.type === 'call.updated' && f.call.useVideo));
    assert.equal(upgraded.participants.find((p) => p.id === v.visitor.id)?.video, true);
  });
});
