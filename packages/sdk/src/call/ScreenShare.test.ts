import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParleyError } from '../errors.ts';
import { conversation, named, remoteVideo, startCall, type Side } from '../testing/callStage.ts';
import type { FakeElement } from '../testing/FakeDom.ts';
import type { FakePeerConnection, FakeTrack } from '../testing/FakeMedia.ts';
import { until } from '../testing/helpers.ts';

/*
 * Screen sharing through the SDK against the real server in process (its one-sharer rule, its call state and
 * transcript), with FakeMedia for WebRTC: the screen is one more video in a stream of its own, told from the
 * camera by that stream's id, which the call state announces.
 */

const screenVideo = (side: Side, id: string): FakeElement | undefined => side.doc.body.query('video', { 'data-participant-id': id, 'data-screen': undefined })[0];
const preview = (side: Side): FakeElement | undefined => side.doc.body.query('video', { 'data-screen-preview': undefined })[0];
const eventNames = (side: Side, id: string) =>
  named(side, 'videoParticipant')
    .map((e) => e as { eventName: string; id: string })
    .filter((e) => e.id === id && e.eventName.startsWith('screenShare'))
    .map((e) => e.eventName);
const transcript = (side: Side) => side.contact.messages.filter((m) => m.kind === 'event').map((m) => m.text);
const tracksOf = (element: FakeElement | undefined) => (element?.srcObject as { getTracks(): FakeTrack[] } | null)?.getTracks() ?? [];
const pcOf = (side: Side): FakePeerConnection => side.media.lastPeerConnection!;

/** What the receiver draws for the sharer: the screen large, and the camera cell as it was. */
async function screenShown(receiver: Side, sharer: Side, screen: FakeTrack): Promise<void> {
  await until(() => tracksOf(screenVideo(receiver, sharer.party.id)).length === 1, 'the screen drawn at the receiver');
  const [received] = tracksOf(screenVideo(receiver, sharer.party.id));
  const camera = tracksOf(remoteVideo(receiver, sharer.party.id));
  assert.equal(received!.kind, 'video');
  assert.ok(!camera.includes(received!), 'the screen is not in the camera stream');
  assert.equal(receiver.doc.getElementById('video')!.getAttribute('data-parley-screen'), sharer.party.id, 'the div says whose screen is large');
  assert.equal(pcOf(sharer).sendingFromStream(screenStreamOf(sharer))?.id, screen.id, 'the sharer sends this screen');
}

const screenStreamOf = (side: Side): string => {
  const srcObject = preview(side)?.srcObject as { id: string } | undefined;
  assert.ok(srcObject, 'the sharer has its preview');
  return srcObject.id;
};

test('a visitor shares with the camera on: the agent draws it large beside the camera, both hear of it, the transcript says so; stop undoes it all', async (t) => {
  const { visitor, agent } = await conversation(t);
  await startCall(visitor, agent);
  await until(() => tracksOf(remoteVideo(agent, visitor.party.id)).length === 2, 'the camera and microphone at the agent');
  const cameraBefore = tracksOf(remoteVideo(agent, visitor.party.id));

  await visitor.contact.startScreenShare();
  const screen = visitor.media.screens[0]!;
  assert.equal(preview(visitor)?.muted, true, 'the sharer sees a muted preview');
  assert.equal(visitor.doc.body.query('div', { role: 'status' })[0]?.textContent, 'You are sharing your screen');
  await screenShown(agent, visitor, screen);
  assert.deepEqual(tracksOf(remoteVideo(agent, visitor.party.id)), cameraBefore, 'the camera and microphone stay as they were');
  assert.ok(pcOf(visitor).sending('audio'), 'audio goes on');
  await until(() => eventNames(agent, visitor.party.id).length === 1 && eventNames(visitor, visitor.party.id).length === 1, 'both told');
  assert.deepEqual(eventNames(agent, visitor.party.id), ['screenShareStarted']);
  assert.equal(agent.contact.video.participants.find((p) => p.id === visitor.party.id)?.screen, true);
  await until(() => transcript(agent).includes(`${visitor.party.name} shared their screen`), 'the transcript line');
  await visitor.contact.startScreenShare(); // sharing again: nothing happens
  assert.equal(visitor.media.screens.length, 1);

  await visitor.contact.stopScreenShare();
  assert.equal(screen.readyState, 'ended', 'the capture is released');
  assert.equal(preview(visitor), undefined);
  await until(() => screenVideo(agent, visitor.party.id) === undefined, 'the screen gone at the agent');
  assert.deepEqual(tracksOf(remoteVideo(agent, visitor.party.id)), cameraBefore, 'the camera is drawn as before');
  assert.equal(agent.doc.getElementById('video')!.getAttribute('data-parley-screen'), null);
  await until(() => eventNames(agent, visitor.party.id).length === 2, 'told of the stop');
  assert.deepEqual(eventNames(agent, visitor.party.id), ['screenShareStarted', 'screenShareStopped']);
  await until(() => transcript(visitor).includes(`${visitor.party.name} stopped sharing`), 'the stop in the transcript');

  // A second share goes on the same link, the same stream: the receiver tells it from the camera again.
  await visitor.contact.startScreenShare();
  await screenShown(agent, visitor, visitor.media.screens[1]!);
});

test('one sharer at a time: a second one gets screen_share_busy and its capture is released; it may share once the first stopped', async (t) => {
  const { visitor, agent } = await conversation(t);
  await startCall(visitor, agent);
  await visitor.contact.startScreenShare();
  await assert.rejects(agent.contact.startScreenShare(), (err: unknown) => err instanceof ParleyError && err.code === 'screen_share_busy');
  assert.equal(agent.media.screens[0]!.readyState, 'ended', 'the refused capture is stopped');
  assert.equal(preview(agent), undefined);
  await visitor.contact.stopScreenShare();
  await agent.contact.startScreenShare();
  await screenShown(visitor, agent, agent.media.screens[1]!);
});

test("the browser's own \"Stop sharing\" (the track ends) stops it like stopScreenShare", async (t) => {
  const { visitor, agent } = await conversation(t);
  await startCall(visitor, agent);
  await agent.contact.startScreenShare();
  const screen = agent.media.screens[0]!;
  await screenShown(visitor, agent, screen);
  screen.endByBrowser();
  await until(() => screenVideo(visitor, agent.party.id) === undefined && preview(agent) === undefined, 'gone on both sides');
  await until(() => transcript(visitor).includes(`${agent.party.name} stopped sharing`), 'the stop in the transcript');
  assert.equal(visitor.contact.video.participants.find((p) => p.id === agent.party.id)?.screen, false);
  assert.deepEqual(eventNames(visitor, agent.party.id), ['screenShareStarted', 'screenShareStopped']);
});

test('a voice call gains a screen and nothing else changes; with the camera off the same', async (t) => {
  const { visitor, agent } = await conversation(t);
  await startCall(visitor, agent, true, false);
  await visitor.contact.startScreenShare();
  await screenShown(agent, visitor, visitor.media.screens[0]!);
  assert.equal(agent.contact.video.useVideo, false, 'still a voice call');
  const sharer = agent.contact.video.participants.find((p) => p.id === visitor.party.id)!;
  assert.deepEqual([sharer.audio, sharer.video, sharer.screen], [true, false, true]);
  assert.equal(remoteVideo(agent, visitor.party.id)?.visible, false, 'the camera cell stays a named tile');
  assert.deepEqual(
    tracksOf(remoteVideo(agent, visitor.party.id)).map((track) => track.kind),
    ['audio'],
    'the screen never lands in the camera stream',
  );
  await visitor.contact.stopScreenShare();

  // The agent turns its camera off and shares.
  await agent.contact.enableVideo();
  await agent.contact.disableVideo();
  await agent.contact.startScreenShare();
  await screenShown(visitor, agent, agent.media.screens[0]!);
  assert.equal(remoteVideo(visitor, agent.party.id)?.visible, false, 'the camera off stays off');
});

test('a cancelled picker is a forbidden error and announces nothing', async (t) => {
  const { visitor, agent } = await conversation(t);
  await startCall(visitor, agent);
  visitor.media.deny.screen = 'NotAllowedError';
  await assert.rejects(visitor.contact.startScreenShare(), (err: unknown) => err instanceof ParleyError && err.code === 'forbidden');
  assert.equal(visitor.contact.video.participants.find((p) => p.id === visitor.party.id)?.screen, false);
  assert.deepEqual(eventNames(agent, visitor.party.id), []);
});
