import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ParleyError } from '../errors.ts';
import { connect, connected, conversation, named, relayedKinds, remoteVideo, startCall, type Side } from '../testing/callStage.ts';
import { TEST_ICE_SERVERS } from '../testing/inProcessServer.ts';
import { until, waitFor } from '../testing/helpers.ts';

/*
 * Calls through the SDK against the real server, in process: its call rules decide, FakeMedia stands
 * in for the browser's WebRTC, and a FrameTap on the clients' sockets shows what they sent to the
 * server and what it relayed. Each test has its own server, stopped (with every session) whether the
 * test passed or failed.
 */

test('request → accept → both join → signals → connected: videoStarted, rendering, stats; endVideo removes it all', async (t) => {
  // The polite side (whichever id sorts higher: visitor or agent, at random) never offers by itself here, so
  // the call connects only if the other one offers as soon as both joined, whatever order the join result and
  // the other's join reach it in.
  const { visitor, agent, tap } = await conversation(t, { offerWaitMs: 60_000 });
  await startCall(visitor, agent);
  assert.deepEqual(named(visitor, 'responseVideoUpgrade'), [{ sessionID: visitor.contact.sessionID, response: true }]);
  assert.equal(named(agent, 'responseVideoUpgrade').length, 0, 'the answerer is not told its own answer');
  assert.ok(relayedKinds(tap).includes('offer') && relayedKinds(tap).includes('answer'), 'the offer and the answer relayed');
  assert.ok(relayedKinds(tap).includes('candidate'), 'candidates trickled');
  assert.equal(agent.media.lastPeerConnection!.config.iceCandidatePoolSize, 2);
  assert.deepEqual(agent.media.lastPeerConnection!.config.iceServers, TEST_ICE_SERVERS);
  const reports = tap.sentOf('call.connection').filter((f) => f.sessionID === visitor.contact.sessionID);
  assert.ok(reports.some((f) => f.peerId === agent.party.id && f.state === 'connected'));
  assert.ok(reports.some((f) => f.peerId === visitor.party.id && f.state === 'connected'));
  assert.ok(named(visitor, 'videoParticipant').some((e) => (e as { eventName: string }).eventName === 'participantJoined'));

  // Connected comes from the link; the remote track is drawn when its track event has been handled.
  await until(
    () => remoteVideo(visitor, agent.party.id)?.visible === true && remoteVideo(agent, visitor.party.id)?.visible === true,
    'the remote video shown on both sides',
  );
  for (const [me, other] of [[visitor, agent], [agent, visitor]] as const) {
    const video = remoteVideo(me, other.party.id)!;
    assert.ok(video, 'a <video> for the remote participant');
    assert.equal(video.hasAttribute('autoplay') && video.hasAttribute('playsinline'), true);
    assert.equal(video.visible, true);
    assert.ok(video.srcObject, 'the remote stream is attached');
    const local = me.doc.body.query('video', { 'data-local': undefined })[0]!;
    assert.equal(local.muted, true);
    assert.equal(local.styleOf('transform'), 'scaleX(-1)');
    const div = me.doc.getElementById('video')!;
    assert.equal(div.children.length, 2, 'a cell for the remote participant and one for the local preview');
    assert.equal(div.query('video').length + div.query('div', { 'data-tile': undefined }).length, 4, 'each cell: a video and a tile');
  }
  assert.equal(visitor.contact.video.participants.length, 2);
  const [row] = await visitor.contact.getCallStats();
  assert.equal(row!.participantId, agent.party.id);
  assert.ok(row!.audioPacketsReceived > 0 && row!.videoFramesDecoded > 0);
  assert.equal(row!.roundTripTimeMs, 12);

  const tracks = [...visitor.media.tracks, ...agent.media.tracks];
  const ended = waitFor(agent.contact, 'videoEnded');
  await visitor.contact.endVideo();
  const [event] = await ended;
  assert.deepEqual(event, { sessionID: visitor.contact.sessionID, reason: 'hangup', by: visitor.party });
  await until(() => named(visitor, 'videoEnded').length === 1, 'visitor ended');
  for (const side of [visitor, agent]) {
    assert.equal(side.doc.getElementById('video')!.children.length, 0, 'everything removed from the div');
    assert.equal(side.doc.body.children.length, 1, 'nothing else added to the page');
    assert.equal(side.contact.video.state, 'ended');
    assert.equal(side.media.lastPeerConnection!.signalingState, 'closed');
  }
  assert.ok(tracks.every((t) => t.readyState === 'ended'), 'camera and microphone released');
  visitor.session.disconnect();
  agent.session.disconnect();
});

test('decline: the visitor hears no, the call ends declined; the agent opened no device, the visitor released its own', async (t) => {
  const { visitor, agent } = await conversation(t);
  const asked = waitFor(agent.contact, 'requestVideoUpgrade');
  await visitor.contact.requestVideoUpgrade('video', true, true);
  assert.equal(visitor.contact.video.state, 'requested');
  await asked;
  await agent.contact.responseVideoUpgrade(false);
  await until(() => named(visitor, 'videoEnded').length === 1, 'ended');
  assert.deepEqual(named(visitor, 'responseVideoUpgrade'), [{ sessionID: visitor.contact.sessionID, response: false }]);
  assert.deepEqual(named(visitor, 'videoEnded'), [{ sessionID: visitor.contact.sessionID, reason: 'declined', by: agent.party }]);
  assert.equal(agent.media.requests.length, 0, 'the answering side opens nothing before it accepts');
  assert.equal(visitor.media.requests.length, 1, 'the asking side opens its devices when it asks');
  await until(() => visitor.media.tracks.every((track) => track.readyState === 'ended'), 'the visitor releases them');
  visitor.session.disconnect();
  agent.session.disconnect();
});

/** The ring time of the invite test's server: long enough to answer, short enough to wait out. */
const RING_SECONDS = 2;

test('invite → accept: inviteToVideo resolves accepted and media connects; decline and timeout resolve not accepted', async (t) => {
  const { visitor, agent } = await conversation(t, { env: { CALL_RING_SECONDS: String(RING_SECONDS) } });
  visitor.contact.on('videoInvite', (invite) => {
    assert.equal(invite.from.id, agent.party.id);
    void invite.accept('video');
  });
  const answer = await agent.contact.inviteToVideo('video', { useVideo: true });
  assert.deepEqual(answer, { accepted: true });
  assert.deepEqual(named(agent, 'responseVideoUpgrade'), [{ sessionID: agent.contact.sessionID, response: true }]);
  await until(() => connected(visitor) && connected(agent), 'connected');
  assert.ok(visitor.media.requests.length >= 1);
  await agent.contact.endVideo();
  await until(() => named(visitor, 'videoEnded').length === 1, 'ended');

  visitor.contact.removeAllListeners('videoInvite');
  visitor.contact.once('videoInvite', (invite) => void invite.decline());
  assert.deepEqual(await agent.contact.inviteToVideo('video'), { accepted: false });
  const ringing = agent.contact.inviteToVideo('video', { useVideo: false });
  await until(() => agent.contact.video.state === 'invited', 'invited');
  // The ring time (RING_SECONDS) runs out on the server.
  assert.deepEqual(await ringing, { accepted: false });
  await until(() => named(agent, 'videoEnded').some((e) => (e as { reason: string }).reason === 'timeout'), 'timeout');
  visitor.session.disconnect();
  agent.session.disconnect();
});

test('disableVideo releases the camera and sends call.media; audio continues; enableVideo brings it back', async (t) => {
  const { visitor, agent, tap } = await conversation(t);
  await startCall(visitor, agent);
  const pc = visitor.media.lastPeerConnection!;
  const offers = pc.log.length;
  const camera = visitor.media.tracks.find((t) => t.kind === 'video')!;
  await visitor.contact.disableVideo();
  assert.equal(camera.readyState, 'ended', 'the camera is released');
  assert.equal(pc.sending('video'), false);
  assert.equal(pc.sending('audio'), true);
  await until(() => tap.sentOf('call.media').at(-1)?.video === false, 'call.media received');
  assert.deepEqual(tap.sentOf('call.media').at(-1), { type: 'call.media', sessionID: visitor.contact.sessionID, callId: visitor.contact.video.callId, audio: true, video: false });
  await until(() => named(agent, 'videoParticipant').some((e) => (e as { eventName: string }).eventName === 'videoDisabled'), 'agent told');
  await until(() => remoteVideo(agent, visitor.party.id)!.visible === false, 'the agent shows a tile instead');
  const tile = agent.doc.body.query('div', { 'data-participant-id': visitor.party.id, 'data-tile': undefined })[0]!;
  assert.equal(tile.textContent, 'Vera');
  assert.equal(tile.visible, true);

  await visitor.contact.enableVideo();
  const again = visitor.media.tracks.filter((t) => t.kind === 'video').at(-1)!;
  assert.notEqual(again, camera);
  assert.equal(again.readyState, 'live');
  assert.equal(pc.sending('video'), true);
  assert.equal(pc.log.length, offers, 'no renegotiation: the sender was kept');
  await until(() => remoteVideo(agent, visitor.party.id)!.visible, 'video again');

  await visitor.contact.muteAudio();
  assert.equal(visitor.media.tracks.find((t) => t.kind === 'audio')!.enabled, false);
  await until(() => named(agent, 'videoParticipant').some((e) => (e as { eventName: string }).eventName === 'audioMuted'), 'muted');
  await visitor.contact.unmuteAudio();
  await until(() => tap.sentOf('call.media').at(-1)?.audio === true, 'unmuted');
  await visitor.contact.endVideo();
  visitor.session.disconnect();
  agent.session.disconnect();
});

test('an audio-only call is upgraded by enableVideo (renegotiated)', async (t) => {
  const { visitor, agent } = await conversation(t);
  await startCall(visitor, agent, true, false);
  assert.equal(remoteVideo(agent, visitor.party.id)!.visible, false, 'audio-only: a named tile');
  await visitor.contact.enableVideo();
  await until(() => remoteVideo(agent, visitor.party.id)!.visible, 'the agent sees video');
  await until(() => agent.contact.video.useVideo, 'the call now carries video');
  await visitor.contact.endVideo();
  visitor.session.disconnect();
  agent.session.disconnect();
});

test('camera denied: a videoError, the call goes on audio-only; nothing works: hangup media-denied', async (t) => {
  const { visitor, agent, tap } = await conversation(t);
  agent.media.deny = { video: 'NotAllowedError' };
  await startCall(visitor, agent);
  const [error] = named(agent, 'videoError') as Array<{ code: string; device: string }>;
  assert.equal(error!.code, 'media-denied');
  assert.equal(error!.device, 'video');
  assert.ok(tap.sentOf('call.media').some((f) => f.video === false && f.audio === true));
  await until(() => visitor.contact.video.participants.find((p) => p.id === agent.party.id)?.video === false, 'visitor sees audio only');
  await visitor.contact.endVideo();

  agent.media.deny = { video: 'NotFoundError', audio: 'NotAllowedError' };
  const asked = waitFor(agent.contact, 'requestVideoUpgrade');
  await visitor.contact.requestVideoUpgrade('video', true, true);
  await asked;
  await agent.contact.responseVideoUpgrade(true, 'video');
  await until(() => named(visitor, 'videoEnded').length === 2, 'ended');
  assert.deepEqual(named(visitor, 'videoEnded')[1], { sessionID: visitor.contact.sessionID, reason: 'media-denied', by: agent.party });
  assert.equal((named(agent, 'videoError')[1] as { device: string }).device, 'both');
  visitor.session.disconnect();
  agent.session.disconnect();
});

test('after a dropped signaling connection both rejoin; after a page reload the page rejoins into the same div', async (t) => {
  const { stage, visitor, agent, tokens, tap } = await conversation(t);
  await startCall(visitor, agent);
  const joins = () => tap.sentOf('call.join').filter((f) => f.sessionID === visitor.contact.sessionID).length;
  assert.equal(joins(), 4, 'each side prepared while it rang, and joined once it was accepted');
  tap.dropConnections();
  await until(() => joins() === 6, 'both joined again');
  assert.equal(visitor.contact.video.state, 'active');

  // Reload: the old page is gone (its tracks with it), a new one starts from the same storage.
  visitor.session.disconnect();
  const reloaded = await connect(stage, visitor.party, tokens.visitor, visitor.storage);
  await until(() => joins() === 7, 'the reloaded page joined');
  await until(() => named(reloaded, 'videoStarted').length === 1, 'media again');
  await until(() => agent.media.peerConnections.length === 2, 'the agent made a new link for the new page');
  assert.ok(remoteVideo(reloaded, agent.party.id), 'rendered into the remembered div');
  await until(() => remoteVideo(agent, visitor.party.id)?.srcObject !== null, 'agent renders the new stream');
  await reloaded.contact.endVideo();
  await until(() => named(agent, 'videoEnded').length === 1, 'ended');
  reloaded.session.disconnect();
  agent.session.disconnect();
});

test('a dropped network: reconnecting, ICE restart, connected again — or, past the bound, failed and ended', async (t) => {
  // The bound also covers the first connection, so it leaves a loaded machine time to connect at all.
  const { visitor, agent, network, tap } = await conversation(t, { linkFailAfterMs: 3_000, offerWaitMs: 60_000 });
  await startCall(visitor, agent);
  const states = (side: Side) =>
    named(side, 'videoParticipant')
      .map((e) => e as { eventName: string; state?: string })
      .filter((e) => e.eventName === 'connectionStateChanged')
      .map((e) => e.state);
  network.drop();
  await until(() => states(visitor).includes('reconnecting') && states(agent).includes('reconnecting'), 'reconnecting');
  network.restore();
  await until(() => states(visitor).at(-1) === 'connected' && states(agent).at(-1) === 'connected', 'connected again');
  assert.deepEqual(states(visitor), ['connected', 'reconnecting', 'connected']);
  assert.ok(tap.sentOf('call.connection').some((f) => f.sessionID === visitor.contact.sessionID && f.state === 'reconnecting'));
  assert.equal(visitor.contact.video.state, 'active');

  network.drop(); // and it stays down
  await until(() => named(visitor, 'videoEnded').length === 1 && named(agent, 'videoEnded').length === 1, 'the call ends on both sides', 5_000, () => ({
    visitor: named(visitor, 'videoEnded'),
    agent: named(agent, 'videoEnded'),
  }));
  assert.equal((named(visitor, 'videoEnded')[0] as { reason: string }).reason, 'failed');
  // Whichever side's bound runs out first reports the failure, and the server ends the call for both: the other
  // side may be torn down before its own bound runs out. Every side that reported it says so to its user.
  const failedBy = tap.sent.filter(({ frame }) => frame.type === 'call.connection' && frame.state === 'failed').map(({ by }) => by);
  assert.ok(failedBy.length > 0, 'a side reported its link failed');
  for (const side of [visitor, agent].filter((s) => failedBy.includes(s.party.name))) {
    assert.ok(named(side, 'videoError').some((e) => (e as { code: string }).code === 'connection-failed'), `${side.party.name} was told`);
  }
  assert.equal((named(agent, 'videoEnded')[0] as { reason: string } | undefined)?.reason, 'failed', 'the call ended for the agent too');
  assert.equal(visitor.doc.getElementById('video')!.children.length, 0);
  visitor.session.disconnect();
  agent.session.disconnect();
});

test('closing the conversation ends the call and removes what was drawn', async (t) => {
  const { visitor, agent } = await conversation(t);
  await startCall(visitor, agent);
  await agent.contact.close();
  await until(() => named(visitor, 'videoEnded').length === 1 && named(agent, 'videoEnded').length === 1, 'both ended');
  assert.equal((named(visitor, 'videoEnded')[0] as { reason: string }).reason, 'closed');
  for (const side of [visitor, agent]) assert.equal(side.doc.getElementById('video')!.children.length, 0);
  assert.ok(visitor.media.tracks.every((t) => t.readyState === 'ended'));
  visitor.session.disconnect();
  agent.session.disconnect();
});

test('devices: chosen before the call, opened by it, switched in it without a new offer; contact.video.devices follows', async (t) => {
  const { visitor, agent, tap } = await conversation(t);
  visitor.media.devices.push({ kind: 'audioinput', deviceId: 'headset-mic', label: 'Headset' }, { kind: 'videoinput', deviceId: 'usb-cam', label: 'USB' });
  await assert.rejects(visitor.contact.setDevices({ camera: 'gone' }), (err: ParleyError) => err.code === 'device_not_found');
  await visitor.contact.setDevices({ camera: 'usb-cam' });
  assert.deepEqual(visitor.contact.video.devices, { camera: 'usb-cam', microphone: null, speaker: null });
  await startCall(visitor, agent);
  assert.equal(visitor.media.requests[0]?.videoDeviceId, 'usb-cam', 'the call opened the chosen camera');
  assert.deepEqual(visitor.contact.video.devices, { camera: 'usb-cam', microphone: 'default-audio', speaker: null });

  const offers = relayedKinds(tap).filter((k) => k === 'offer').length;
  const changed = waitFor(visitor.contact, 'deviceChanged');
  await visitor.contact.setDevices({ microphone: 'headset-mic' });
  assert.deepEqual((await changed)[0], { sessionID: visitor.contact.sessionID, kind: 'microphone', deviceId: 'headset-mic', previousId: 'default-audio', reason: 'selected' });
  assert.deepEqual(visitor.contact.video.devices, { camera: 'usb-cam', microphone: 'headset-mic', speaker: null });
  const sender = visitor.media.lastPeerConnection!.getTransceivers().find((tr) => tr.sender.track?.kind === 'audio')!.sender;
  assert.equal(sender.track?.getSettings().deviceId, 'headset-mic', 'the link sends the new microphone');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(relayedKinds(tap).filter((k) => k === 'offer').length, offers, 'no renegotiation');

  const unplugged = waitFor(visitor.contact, 'deviceChanged', (e) => e.reason === 'unplugged');
  visitor.media.unplug('headset-mic');
  assert.deepEqual((await unplugged)[0], { sessionID: visitor.contact.sessionID, kind: 'microphone', deviceId: 'default-audio', previousId: 'headset-mic', reason: 'unplugged' });
  const after = visitor.contact.video; // a fresh read: the asserts above narrowed the old one
  assert.equal(after.devices.microphone, 'default-audio');
  visitor.session.disconnect();
  agent.session.disconnect();
});
