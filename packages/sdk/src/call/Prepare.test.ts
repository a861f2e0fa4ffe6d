import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, conversation, named, relayedKinds, remoteVideo, startCall, type Side } from '../testing/callStage.ts';
import type { FakePeerConnection } from '../testing/FakeMedia.ts';
import { until, waitFor } from '../testing/helpers.ts';
import { MemoryStorage } from '../storage.ts';

/*
 * A peer-to-peer call is prepared while it rings: both pages negotiate and connect their link with transceivers
 * for the call's audio and video but no track, the answering page with no device open; accepting puts the devices'
 * tracks on those transceivers with no new offer. Against the real server in process, FakeMedia for WebRTC.
 */

const linkOf = (side: Side) => side.media.lastPeerConnection as FakePeerConnection | undefined;
const linked = (side: Side) => linkOf(side)?.connectionState === 'connected';
const offers = (kinds: string[]) => kinds.filter((k) => k === 'offer').length;

/** The visitor asks; resolves once both prepared links connected, while the call still rings. */
async function ringPrepared(visitor: Side, agent: Side): Promise<void> {
  const asked = waitFor(agent.contact, 'requestVideoUpgrade');
  await visitor.contact.requestVideoUpgrade('video', true, true);
  await asked;
  await until(() => linked(visitor) && linked(agent), 'both prepared links connected while it rings');
  assert.equal(visitor.contact.video.state, 'requested');
}

test('while it rings both links connect; the answering side opens nothing, nothing is sent or drawn; accepting sends the devices with no new offer', async (t) => {
  const { visitor, agent, tap } = await conversation(t);
  await ringPrepared(visitor, agent);
  assert.equal(agent.media.requests.length, 0, 'no device opened by the answering side before Accept');
  assert.equal(visitor.media.requests.length, 1, 'the asking side opened its own when it asked');
  for (const side of [visitor, agent]) {
    assert.equal(side.media.peerConnections.length, 1);
    assert.equal(linkOf(side)!.sending('audio') || linkOf(side)!.sending('video'), false, `${side.party.role} sends nothing while it rings`);
    assert.equal(named(side, 'videoStarted').length, 0, 'no videoStarted while it rings');
    assert.equal(side.doc.getElementById('video')!.children.length, 0, 'nothing drawn while it rings');
  }
  assert.equal(tap.sentOf('call.connection').length, 0, 'no link state reported while it rings');
  const offersBefore = offers(relayedKinds(tap));
  assert.ok(offersBefore >= 1, 'the path was negotiated while it rang');

  await agent.contact.responseVideoUpgrade(true, 'video');
  await until(() => visitor.contact.video.state === 'active' && named(visitor, 'videoStarted').length === 1 && named(agent, 'videoStarted').length === 1, 'both started');
  await until(() => linkOf(visitor)!.sending('video') && linkOf(agent)!.sending('video') && linkOf(visitor)!.sending('audio') && linkOf(agent)!.sending('audio'), 'both send');
  await until(() => remoteVideo(visitor, agent.party.id)?.visible === true && remoteVideo(agent, visitor.party.id)?.visible === true, 'both drawn');
  assert.equal(offers(relayedKinds(tap)), offersBefore, 'no offer after the accept: the tracks went onto the prepared transceivers');
  for (const side of [visitor, agent]) assert.equal(side.media.peerConnections.length, 1, 'the prepared link is the call link');
  assert.equal(agent.media.requests.length, 1, 'the answering side opened its devices on Accept');
  const reports = tap.sentOf('call.connection');
  assert.ok(reports.some((f) => f.peerId === agent.party.id && f.state === 'connected'), 'the visitor reported its link once joined');
  assert.ok(reports.some((f) => f.peerId === visitor.party.id && f.state === 'connected'), 'the agent reported its link once joined');
});

test('declined, cancelled or expired while it rings: the prepared links are closed on both sides, the answering side never opened a device', async (t) => {
  const { visitor, agent } = await conversation(t, { env: { CALL_RING_SECONDS: '2' } });
  const ends = [
    { how: 'declined', act: () => agent.contact.responseVideoUpgrade(false) },
    { how: 'cancelled', act: () => visitor.contact.endVideo() },
    { how: 'timeout', act: async () => undefined },
  ];
  for (const [i, { how, act }] of ends.entries()) {
    await ringPrepared(visitor, agent);
    const pcs = [linkOf(visitor)!, linkOf(agent)!];
    await act();
    await until(() => named(visitor, 'videoEnded').length === i + 1 && named(agent, 'videoEnded').length === i + 1, `${how}: both ended`);
    assert.equal((named(visitor, 'videoEnded')[i] as { reason: string }).reason, how);
    assert.ok(pcs.every((pc) => pc.signalingState === 'closed'), `${how}: no peer connection left open`);
    assert.equal(agent.media.requests.length, 0, `${how}: the answering side never opened a device`);
    assert.ok(visitor.media.tracks.every((track) => track.readyState === 'ended'), `${how}: the asking side released its devices`);
  }
});

test('the answering page reloaded while it rings prepares again, and its accept connects on that path', async (t) => {
  const { stage, visitor, agent, tokens } = await conversation(t, { offerWaitMs: 50 });
  await ringPrepared(visitor, agent);
  const before = linkOf(agent)!;
  agent.session.disconnect();
  assert.equal(before.signalingState, 'closed', 'the old page took its link with it');
  const asked = new Promise<void>((resolve) => {
    const seen = setInterval(() => {
      if (reloaded && named(reloaded, 'requestVideoUpgrade').length > 0) resolve(clearInterval(seen));
    }, 5);
  });
  let reloaded: Side | null = null;
  reloaded = await connect(stage, agent.party, tokens.agent, agent.storage, { offerWaitMs: 50 });
  await asked;
  await until(() => linked(reloaded!) && linkOf(visitor)?.connectionState === 'connected' && visitor.media.peerConnections.length === 2, 'the visitor linked to the reloaded page');
  assert.equal(reloaded.media.requests.length, 0, 'the reloaded answering page opened nothing');
  await reloaded.contact.responseVideoUpgrade(true, 'video');
  await until(() => named(visitor, 'videoStarted').length === 1 && named(reloaded!, 'videoStarted').length === 1, 'both started');
  await until(() => remoteVideo(visitor, agent.party.id)?.visible === true && remoteVideo(reloaded!, visitor.party.id)?.visible === true, 'both drawn');
  assert.ok(linkOf(visitor)!.sending('video') && linkOf(reloaded)!.sending('video'));
});

test('the asking page reloaded while it rings remembers its call: it prepares again and draws where it asked once accepted', async (t) => {
  const { stage, visitor, agent, tokens } = await conversation(t, { offerWaitMs: 50 });
  await ringPrepared(visitor, agent);
  visitor.session.disconnect();
  const reloaded = await connect(stage, visitor.party, tokens.visitor, visitor.storage, { offerWaitMs: 50 });
  await until(() => linked(reloaded) && agent.media.peerConnections.length === 2 && linked(agent), 'the agent linked to the reloaded page');
  await agent.contact.responseVideoUpgrade(true, 'video');
  await until(() => named(reloaded, 'videoStarted').length === 1 && named(agent, 'videoStarted').length === 1, 'both started');
  await until(() => remoteVideo(reloaded, agent.party.id)?.visible === true && remoteVideo(agent, visitor.party.id)?.visible === true, 'both drawn');
});

test('ICE_TRANSPORT_POLICY=relay reaches every peer connection, the prepared ones included', async (t) => {
  const env = { ICE_TRANSPORT_POLICY: 'relay', TURN_URLS: 'turn:127.0.0.1:3478', TURN_SECRET: 'a shared secret of the turn server' };
  const { visitor, agent } = await conversation(t, { env });
  await ringPrepared(visitor, agent);
  for (const side of [visitor, agent]) {
    assert.equal(linkOf(side)!.config.iceTransportPolicy, 'relay');
    assert.ok(linkOf(side)!.config.iceServers.some((s) => [s.urls].flat().some((u) => u.startsWith('turn:'))), 'TURN handed out');
  }
});

test('the network drops while it rings: both prepare again once their sockets are back, ICE restarts, and the accept connects', async (t) => {
  const { visitor, agent, tap, network } = await conversation(t);
  await ringPrepared(visitor, agent);
  const joins = () => tap.sentOf('call.join').length;
  const before = joins();
  network.drop();
  tap.dropConnections();
  await until(() => joins() === before + 2, 'both prepared again after reconnecting');
  network.restore();
  await until(() => linked(visitor) && linked(agent), 'the prepared links connected again');
  assert.equal(agent.media.requests.length, 0, 'still nothing opened by the answering side');
  await agent.contact.responseVideoUpgrade(true, 'video');
  await until(() => named(visitor, 'videoStarted').length === 1 && named(agent, 'videoStarted').length === 1, 'both started');
  await until(() => linkOf(visitor)!.sending('video') && linkOf(agent)!.sending('video'), 'both send');
  for (const side of [visitor, agent]) assert.equal(side.media.peerConnections.length, 1, 'the prepared link carried the call');
});

test('a video sender starts at full resolution (it lowers its frame rate first), and goes back to its default two seconds later', async (t) => {
  const { visitor, agent } = await conversation(t);
  await ringPrepared(visitor, agent);
  await agent.contact.responseVideoUpgrade(true, 'video');
  await until(() => linkOf(visitor)!.sending('video') && linkOf(agent)!.sending('video'), 'both send');
  const videoSender = (side: Side) => linkOf(side)!.getTransceivers().find((tr) => tr.sender.track?.kind === 'video')!.sender as unknown as { preferenceLog: unknown[] };
  for (const side of [visitor, agent]) assert.deepEqual(videoSender(side).preferenceLog, ['maintain-resolution'], `${side.party.role}: full resolution from the first frame`);
  await until(() => videoSender(visitor).preferenceLog.length === 2 && videoSender(agent).preferenceLog.length === 2, 'back to the default', 5_000);
  for (const side of [visitor, agent]) assert.deepEqual(videoSender(side).preferenceLog, ['maintain-resolution', undefined]);
});

test('an agent on two tabs: the tab that prepared last carries the path; accepting on the other still connects, on a fresh link', async (t) => {
  const { stage, visitor, agent, tokens, tap } = await conversation(t, { offerWaitMs: 50 });
  const second = await connect(stage, agent.party, tokens.agent, new MemoryStorage(), { offerWaitMs: 50 });
  await visitor.contact.requestVideoUpgrade('video', true, true);
  await until(() => named(agent, 'requestVideoUpgrade').length === 1 && named(second, 'requestVideoUpgrade').length === 1, 'both tabs ring');
  // Both tabs prepared: the call's signals go to one of them, the other closed its path.
  const live = (tab: Side) => linkOf(tab) !== undefined && linkOf(tab)!.signalingState !== 'closed';
  await until(() => [agent, second].filter(live).length === 1 && visitor.contact.video.state === 'requested', 'one tab gave its prepared path up');
  const carrier = live(agent) ? agent : second;
  const other = carrier === agent ? second : agent;
  await until(() => linked(carrier) && linked(visitor), 'the visitor linked to the tab that prepared last');
  assert.equal(tap.sentOf('call.join').length, 3, 'one prepare from each page: the tab that gave up does not prepare again');
  assert.equal(other.media.requests.length + carrier.media.requests.length, 0, 'neither tab opened a device while it rang');

  await other.contact.responseVideoUpgrade(true, 'video'); // accepted on the tab that gave its path up
  await until(() => named(visitor, 'videoStarted').length === 1 && named(other, 'videoStarted').length === 1, 'both started');
  await until(() => remoteVideo(visitor, agent.party.id)?.visible === true && remoteVideo(other, visitor.party.id)?.visible === true, 'both drawn');
  assert.ok(linkOf(visitor)!.sending('video') && linkOf(other)!.sending('video'), 'both send on the accepting tab’s link');
  assert.equal(live(carrier), false, 'the tab that prepared last let the accepting tab have the call');
  assert.equal(named(carrier, 'videoStarted').length, 0, 'nothing started on the other tab');
});

test('a prepared link dropping while it rings makes both pages check their socket at once (a moved network leaves it dead)', async (t) => {
  const { visitor, agent, tap, network } = await conversation(t);
  await ringPrepared(visitor, agent);
  const pings = (side: Side) => tap.sent.filter((s) => s.frame.type === 'ping' && s.by === side.party.name).length;
  const before = { visitor: pings(visitor), agent: pings(agent) };
  network.drop();
  await until(() => pings(visitor) > before.visitor && pings(agent) > before.agent, 'both pages pinged the server when the link dropped');
  network.restore();
  await agent.contact.responseVideoUpgrade(true, 'video');
  await until(() => linkOf(visitor)!.sending('video') && linkOf(agent)!.sending('video'), 'both send once accepted');
});

test('a second tab of the agent opened during a call takes the call over: the first tab ends with reason elsewhere, the visitor links to the new one', async (t) => {
  const { stage, visitor, agent, tokens } = await conversation(t, { offerWaitMs: 50 });
  await startCall(visitor, agent);
  // The new tab shares the first one's storage (a browser's), where the call it may rejoin is remembered.
  const second = await connect(stage, agent.party, tokens.agent, agent.storage, { offerWaitMs: 50 });
  await until(() => named(agent, 'videoEnded').length === 1, 'the first tab heard the call went on elsewhere');
  assert.equal((named(agent, 'videoEnded')[0] as { reason: string }).reason, 'elsewhere');
  assert.equal(linkOf(agent)!.signalingState, 'closed', 'the first tab closed its link');
  await until(() => remoteVideo(visitor, agent.party.id)?.visible === true && remoteVideo(second, visitor.party.id)?.visible === true, 'the visitor and the new tab see each other');
  assert.ok(linkOf(second)!.sending('video') && linkOf(visitor)!.sending('video'), 'both send on the new link');
  assert.equal(named(visitor, 'videoEnded').length, 0, 'the call went on for the visitor');
  assert.equal(named(second, 'videoEnded').length, 0, 'and for the new tab');
});
