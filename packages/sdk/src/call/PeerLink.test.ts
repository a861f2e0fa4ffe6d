import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '../testing/helpers.ts';
import { FakeNetwork, FakePeerConnection, FakeStream, FakeTrack } from '../testing/FakeMedia.ts';
import type { RtpSenderLike } from './MediaHandler.ts';
import type { VideoConnectionState } from './events.ts';
import { PeerLink, fingerprintOf, type LinkSignal } from './PeerLink.ts';

interface Side {
  link: PeerLink;
  pc: FakePeerConnection;
  states: VideoConnectionState[];
  errors: unknown[];
  local: FakeStream;
}

/** Two links wired to each other in-process, as the server would relay their signals. */
function pair(
  network = new FakeNetwork(),
  kinds: Array<'audio' | 'video'> = ['audio', 'video'],
  timing: { iceRestartDelayMs: number; failAfterMs: number; lostAfterMs: number } = { iceRestartDelayMs: 5, failAfterMs: 2_000, lostAfterMs: 2_000 },
  politeAwaitsOfferMs: number | null = null,
) {
  const sides: Record<'a' | 'b', Side> = {} as never;
  /** Signals a side sends while its entry is true are lost (its signaling connection is dead). */
  const lost = { a: false, b: false };
  const make = (other: 'a' | 'b', polite: boolean): Side => {
    const pc = new FakePeerConnection(network, { iceServers: [] });
    const local = new FakeStream(kinds.map((k) => new FakeTrack(k)));
    const side: Side = { pc, local, states: [], errors: [], link: null as never };
    side.link = new PeerLink(
      {
        remoteId: other,
        polite,
        pc,
        localStream: local,
        screenStream: new FakeStream(),
        remoteStream: new FakeStream(),
        remoteScreen: new FakeStream(),
        remoteScreenStreamId: () => null,
        awaitOfferMs: polite ? politeAwaitsOfferMs : null,
        ...timing,
      },
      {
        onSignal: (signal: LinkSignal) => {
          if (!lost[other === 'a' ? 'b' : 'a']) setTimeout(() => sides[other].link.receive(signal), 0);
        },
        onStateChanged: (state) => side.states.push(state),
        onRemoteStream: () => {},
        onError: (err) => side.errors.push(err),
      },
    );
    return side;
  };
  sides.a = make('b', false);
  sides.b = make('a', true);
  return { ...sides, network, lost };
}

test('both sides negotiate at once (glare): the polite side rolls back, both connect, no errors', async () => {
  const { a, b } = pair();
  await until(() => a.link.state === 'connected' && b.link.state === 'connected', 'both connected');
  assert.deepEqual(a.errors, []);
  assert.deepEqual(b.errors, []);
  assert.ok(b.pc.rollbacks >= 1, 'the polite side yielded');
  assert.equal(a.pc.rollbacks, 0, 'the impolite side never rolls back');
  assert.equal(a.link.remoteStream.getTracks().length, 2, 'audio and video arrive at a');
  assert.equal(b.link.remoteStream.getTracks().length, 2, 'audio and video arrive at b');
  assert.equal(a.pc.signalingState, 'stable');
  assert.equal(b.pc.signalingState, 'stable');
});

test('when the polite side waits for the first offer, a call starts with one offer and no rollback', async () => {
  const { a, b } = pair(new FakeNetwork(), ['audio', 'video'], { iceRestartDelayMs: 5, failAfterMs: 2_000, lostAfterMs: 2_000 }, 1_000);
  await until(() => a.link.state === 'connected' && b.link.state === 'connected', 'both connected');
  assert.equal(b.pc.rollbacks, 0, 'no collision to yield in');
  assert.equal(a.pc.rollbacks, 0);
  assert.equal(a.link.remoteStream.getTracks().length, 2, 'the answer carries the polite side\'s audio and video');
  assert.equal(b.link.remoteStream.getTracks().length, 2);
  assert.deepEqual([a.errors, b.errors], [[], []]);
});

test('renegotiation from both sides at the same moment converges (adding video to an audio call)', async () => {
  const { a, b } = pair(new FakeNetwork(), ['audio']);
  await until(() => a.link.state === 'connected' && b.link.state === 'connected', 'audio call connected');
  const before = { a: a.pc.log.length, b: b.pc.log.length };
  await Promise.all([a.link.setTrack('video', new FakeTrack('video')), b.link.setTrack('video', new FakeTrack('video'))]);
  await until(
    () => a.link.remoteStream.getVideoTracks().length === 1 && b.link.remoteStream.getVideoTracks().length === 1,
    'video both ways',
  );
  await until(() => a.pc.signalingState === 'stable' && b.pc.signalingState === 'stable', 'stable');
  assert.ok(a.pc.log.length > before.a && b.pc.log.length > before.b, 'a renegotiation happened');
  assert.deepEqual([...a.errors, ...b.errors], []);
  assert.equal(a.link.state, 'connected');
});

test('replacing a track to null does not renegotiate; audio stays', async () => {
  const { a, b } = pair();
  await until(() => a.link.state === 'connected' && b.link.state === 'connected', 'connected');
  await until(() => a.pc.signalingState === 'stable' && b.pc.signalingState === 'stable', 'stable');
  const logged = a.pc.log.length + b.pc.log.length;
  await a.link.setTrack('video', null);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(a.pc.log.length + b.pc.log.length, logged, 'no offer/answer for a replaceTrack');
  assert.equal(a.pc.sending('video'), false);
  assert.equal(a.pc.sending('audio'), true);
});

test('a dropped network: reconnecting, ICE restart, connected again', async () => {
  const { a, b, network } = pair();
  await until(() => a.link.state === 'connected' && b.link.state === 'connected', 'connected');
  network.drop();
  await until(() => a.states.includes('reconnecting') && b.states.includes('reconnecting'), 'reconnecting');
  network.restore();
  await until(() => a.link.state === 'connected' && b.link.state === 'connected', 'connected again');
  assert.ok(a.pc.restarts >= 1, 'the impolite side restarted ICE');
  assert.deepEqual(a.states, ['connected', 'reconnecting', 'connected']);
});

test('a dropped link that cannot reconnect within its own bound is failed (final)', async () => {
  // A first connection keeps its own (long) bound: a loaded machine needs time to connect at all.
  const { a, network } = pair(new FakeNetwork(), ['audio', 'video'], { iceRestartDelayMs: 5, failAfterMs: 60_000, lostAfterMs: 1_000 });
  await until(() => a.link.state === 'connected', 'connected');
  network.drop();
  await until(() => a.link.state === 'failed', 'failed', 5_000, () => a.states);
  network.restore();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(a.link.state, 'failed', 'failed is final');
});

test('an offer from a new peer connection (the remote reloaded) is recognised by its fingerprint', async () => {
  const { a, b } = pair();
  await until(() => a.link.state === 'connected', 'connected');
  const other = new FakePeerConnection(new FakeNetwork(), { iceServers: [] });
  other.addTrack(new FakeTrack('audio'));
  await other.setLocalDescription();
  const offer = { type: 'offer' as const, sdp: other.localDescription!.sdp };
  assert.equal(a.link.isFromNewPeer(offer), true);
  assert.equal(a.link.isFromNewPeer({ type: 'offer', sdp: b.pc.localDescription!.sdp }), false);
  assert.equal(fingerprintOf('v=0\na=fingerprint:sha-256 AB:CD\n'), 'sha-256 AB:CD');
});

test('a dropped link outlasts the first-connection bound and comes back when the network does', async () => {
  const { a, b, network } = pair(new FakeNetwork(), ['audio', 'video'], { iceRestartDelayMs: 5, failAfterMs: 200, lostAfterMs: 10_000 });
  await until(() => a.link.state === 'connected' && b.link.state === 'connected', 'connected');
  network.drop();
  await until(() => a.link.state === 'reconnecting' && b.link.state === 'reconnecting', 'reconnecting');
  await new Promise((r) => setTimeout(r, 400)); // twice the first-connection bound
  assert.deepEqual([a.link.state, b.link.state], ['reconnecting', 'reconnecting'], 'not failed: the network may come back');
  network.restore();
  await until(() => a.link.state === 'connected' && b.link.state === 'connected', 'connected again', 5_000, () => [a.states, b.states]);
});

test('an ICE restart offer lost with the signaling does not block the restart once the signaling is back', async () => {
  const { a, b, network, lost } = pair(new FakeNetwork(), ['audio', 'video'], { iceRestartDelayMs: 5, failAfterMs: 60_000, lostAfterMs: 60_000 });
  await until(() => a.link.state === 'connected' && b.link.state === 'connected', 'connected');
  // b's network goes away with its signaling: what either side sends now never arrives.
  lost.a = lost.b = true;
  network.drop();
  await until(() => a.pc.restarts >= 1 && a.pc.signalingState === 'have-local-offer', "the impolite side's restart offer, lost");
  await new Promise((r) => setTimeout(r, 3_100)); // its answer is overdue: the offer is taken as lost
  network.restore();
  lost.a = lost.b = false;
  b.link.restart(); // b's signaling reconnected: it restarts ICE, and its offer collides with a's lost one
  await until(() => a.link.state === 'connected' && b.link.state === 'connected', 'connected again', 5_000, () => [a.states, b.states, a.pc.signalingState, b.pc.signalingState]);
  await until(() => a.pc.signalingState === 'stable' && b.pc.signalingState === 'stable', 'both stable', 5_000, () => [a.pc.log, b.pc.log]);
  assert.deepEqual([...a.errors, ...b.errors], []);
});

/** What `setParameters` was given on the sender of `kind`, in order (the fake logs each call). */
const parameterLog = (side: Side, kind: 'audio' | 'video'): boolean[][] =>
  (side.pc.getTransceivers().find((t) => t.sender.track?.kind === kind)?.sender as RtpSenderLike & { parameterLog: boolean[][] }).parameterLog;

test('reconnected after a drop, a link restarts its video with a key frame (encodings off, then on); audio is left alone', async () => {
  const { a, b, network } = pair();
  await until(() => a.link.state === 'connected' && b.link.state === 'connected', 'connected');
  assert.deepEqual(parameterLog(a, 'video'), []);
  network.drop();
  await until(() => a.link.state === 'reconnecting', 'reconnecting');
  network.restore();
  await until(() => parameterLog(a, 'video').length === 2 && parameterLog(b, 'video').length === 2, 'both videos restarted', 5_000, () => [a.states, b.states]);
  assert.deepEqual(parameterLog(a, 'video'), [[false], [true]]);
  assert.deepEqual(parameterLog(a, 'audio'), []);
  await a.link.refreshVideo();
  assert.deepEqual(parameterLog(a, 'video').at(-1), [true]);
  assert.deepEqual([...a.errors, ...b.errors], []);
});

test('restart(true) restarts ICE on a link that still looks connected (media stopped on it); restart() leaves it', async () => {
  const { a, b } = pair();
  await until(() => a.link.state === 'connected' && b.link.state === 'connected' && b.pc.signalingState === 'stable', 'connected');
  const before = b.pc.restarts;
  b.link.restart();
  assert.equal(b.pc.restarts, before);
  b.link.restart(true);
  assert.equal(b.pc.restarts, before + 1);
  await until(() => a.pc.signalingState === 'stable' && b.pc.signalingState === 'stable' && a.link.state === 'connected', 'renegotiated', 5_000, () => [a.pc.log, b.pc.log]);
  assert.deepEqual([...a.errors, ...b.errors], []);
});

test('a new link asked to restart while its first offer is out leaves that offer alone: no rollback, and it connects', async () => {
  const { a, b } = pair();
  await until(() => a.pc.signalingState === 'have-local-offer', "a's first offer out");
  a.link.restart(); // the signaling came back just after this link was made (the media moved, say)
  await until(() => a.states.includes('connected') && b.states.includes('connected'), 'both connected');
  assert.equal(a.pc.rollbacks, 0, 'the first offer was not rolled back');
  assert.equal(a.pc.restarts, 0, 'nothing to restart on a link that never connected');
  assert.deepEqual([...a.errors, ...b.errors], []);
});

test('refreshVideo never leaves the video off: a refused "on" (parameters read before a renegotiation) is read again and set again; overlapping calls run once', async () => {
  const { a, b } = pair();
  await until(() => a.link.state === 'connected' && b.link.state === 'connected', 'connected');
  const sender = a.pc.getTransceivers().find((t) => t.sender.track?.kind === 'video')!.sender as RtpSenderLike & { parameterLog: boolean[][] };
  const set = sender.setParameters!.bind(sender);
  let refusals = 1;
  sender.setParameters = (parameters) => {
    if (parameters.encodings.every((e) => e.active !== false) && refusals-- > 0) return Promise.reject(new Error('InvalidModificationError: stale parameters'));
    return set(parameters);
  };
  await Promise.all([a.link.refreshVideo(), a.link.refreshVideo()]);
  assert.deepEqual(sender.parameterLog, [[false], [true]], 'off once, then on again after the refusal');
  assert.deepEqual(sender.getParameters!().encodings.map((e) => e.active !== false), [true]);
});
