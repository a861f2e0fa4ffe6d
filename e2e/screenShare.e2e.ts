/*
 * Screen sharing in calls, in headless Chromium with the fake screen (1280×720, picked by
 * --use-fake-ui-for-media-stream): peer-to-peer and through Janus, with the camera on, with it off, and in a voice
 * call. Proven with numbers at the receiver: its `<video data-screen>` has a width, its clock advances and the
 * frames decoded on the screen's own receiver rise, while the camera goes on as it was and audio packets keep
 * rising across the start and the stop (sampled every 20 ms in the page; the longest stand-still is printed).
 * Stopping by the browser's own "Stop sharing" (the track's `ended`) does what stopScreenShare does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deskErrors, escalate, openCallDesk, type CallDesk, type CallPage } from './support/callParties.ts';
import { browserAndJanus } from './support/fixture.ts';
import { screenshot } from './support/harness.ts';
import { sampleInbound, waitForMediaFlowing } from './support/media.ts';
import { renderedScreen, startAudioWatch, stopAudioWatch, stopSharingFromBrowser, waitForScreenFlowing, waitForScreenGone } from './support/screenShare.ts';

const spec = browserAndJanus();

interface ShareCase {
  sharer: CallPage;
  receiver: CallPage;
  /** The sharer's camera is on: the receiver's camera element must keep playing. */
  camera: boolean;
  /** How the share ends. */
  stop: 'stopScreenShare' | 'browser';
  label: string;
}

/** Shares, proves the screen at the receiver and the camera and audio undisturbed, stops, proves it gone. */
async function shareAndStop(desk: CallDesk, { sharer, receiver, camera, stop, label }: ShareCase): Promise<void> {
  const receiverSince = await receiver.eventCount();
  const sharerSince = await sharer.eventCount();
  await startAudioWatch(receiver.page);
  const audioBefore = await sampleInbound(receiver.page);

  await sharer.actOk('startScreenShare');
  await receiver.waitForEvent('participant:screenShareStarted', { since: receiverSince, match: (e) => (e.participant as { id: string }).id === sharer.id });
  await sharer.waitForEvent('participant:screenShareStarted', { since: sharerSince });
  const { later } = await waitForScreenFlowing(receiver.page, sharer.id, label);
  assert.ok(later.videoHeight > 0 && later.framesDecoded > 0, `${label}: ${JSON.stringify(later)}`);
  const preview = await renderedScreen(sharer.page, true);
  assert.ok(preview && preview.videoWidth > 0, `${label}: the sharer sees its preview: ${JSON.stringify(preview)}`);
  // The camera (or, camera off, the audio alone) goes on as it was while the screen is shared.
  await waitForMediaFlowing(receiver.page, { remoteId: sharer.id, video: camera, what: `${label}: the camera and audio while sharing` });
  const participant = ((await receiver.video()).participants as Array<{ id: string; screen?: boolean }>).find((p) => p.id === sharer.id);
  assert.equal(participant?.screen, true, `${label}: the receiver's snapshot says who shares`);
  await screenshot(receiver.page, `screen-${label.replace(/\W+/g, '-')}`);

  if (stop === 'stopScreenShare') await sharer.actOk('stopScreenShare');
  else await stopSharingFromBrowser(sharer.page);
  await receiver.waitForEvent('participant:screenShareStopped', { since: receiverSince });
  await waitForScreenGone(receiver.page, `${label}: the screen gone at the receiver`);
  await waitForScreenGone(sharer.page, `${label}: the preview gone at the sharer`, true);
  await waitForMediaFlowing(receiver.page, { remoteId: sharer.id, video: camera, what: `${label}: the camera and audio after the stop` });
  const audio = await stopAudioWatch(receiver.page);
  const audioAfter = await sampleInbound(receiver.page);
  assert.ok(audioAfter.audioPacketsReceived > audioBefore.audioPacketsReceived, `${label}: audio packets rose across the share`);
  assert.ok(audio.packets > 0, `${label}: ${JSON.stringify(audio)}`);
  console.log(`${label}: audio at the receiver across start and stop: ${audio.packets} packets in ${audio.samples} samples, longest stand-still ${Math.round(audio.longestGapMs)} ms`);

  const name = sharer.label === 'visitor' ? 'Vic Visitor' : 'Ana Agent';
  for (const side of [sharer, receiver]) {
    const lines = (await side.transcript()).filter((m) => m.kind === 'event').map((m) => m.text);
    assert.ok(lines.includes(`${name} shared their screen`) && lines.includes(`${name} stopped sharing`), `${label}: ${side.label}'s transcript: ${lines.join(' | ')}; ${deskErrors(desk)}`);
  }
}

/** Closes a desk's pages once its test is done, so the next test's pages have the machine to themselves. */
async function closeDesk(desk: CallDesk): Promise<void> {
  await Promise.all([desk.agent.party.context.close(), desk.visitor.party.context.close()]);
}

test('peer-to-peer, camera on: the visitor shares and stops; the agent shares and stops with the browser bar; a second sharer is refused', async () => {
  const desk = await openCallDesk(spec.browser, spec.cleanup);
  await escalate(desk);
  await waitForMediaFlowing(desk.agent.page, { remoteId: desk.visitor.id, what: 'the call before sharing' });
  await shareAndStop(desk, { sharer: desk.visitor, receiver: desk.agent, camera: true, stop: 'stopScreenShare', label: 'mesh visitor shares' });
  await shareAndStop(desk, { sharer: desk.agent, receiver: desk.visitor, camera: true, stop: 'browser', label: 'mesh agent shares, browser bar stops' });

  await desk.visitor.actOk('startScreenShare');
  const refused = await desk.agent.act('startScreenShare');
  assert.deepEqual(refused.ok ? 'ok' : refused.code, 'screen_share_busy', JSON.stringify(refused));
  await waitForScreenFlowing(desk.agent.page, desk.visitor.id, 'the first sharer keeps the screen');
  assert.equal(await renderedScreen(desk.agent.page, true), null, 'the refused side shows no preview');
  await closeDesk(desk);
});

test('peer-to-peer, camera off: the screen comes and goes, the camera stays off', async () => {
  const desk = await openCallDesk(spec.browser, spec.cleanup);
  await escalate(desk);
  await desk.visitor.actOk('disableVideo');
  await shareAndStop(desk, { sharer: desk.visitor, receiver: desk.agent, camera: false, stop: 'stopScreenShare', label: 'mesh camera off' });
  const participant = (await desk.agent.video()).participants.find((p) => p.id === desk.visitor.id);
  assert.equal(participant?.video, false, 'the camera stayed off');
  await closeDesk(desk);
});

test('peer-to-peer voice call: the call gains a screen and stays a voice call', async () => {
  const desk = await openCallDesk(spec.browser, spec.cleanup);
  await escalate(desk, { useVideo: false });
  await shareAndStop(desk, { sharer: desk.agent, receiver: desk.visitor, camera: false, stop: 'browser', label: 'mesh voice call' });
  const video = await desk.visitor.video();
  assert.equal(video.useVideo, false, 'still a voice call');
  assert.deepEqual(
    video.participants.map((p) => p.video),
    [false, false],
    'nobody sends a camera',
  );
  await closeDesk(desk);
});

test('through Janus, camera on: the screen is one more published stream of the feed; both sides share in turn', async () => {
  const desk = await openCallDesk(spec.browser, spec.cleanup, { JANUS_URL: spec.janus.url });
  await escalate(desk);
  await waitForMediaFlowing(desk.agent.page, { remoteId: desk.visitor.id, what: 'through Janus before sharing' });
  await shareAndStop(desk, { sharer: desk.visitor, receiver: desk.agent, camera: true, stop: 'stopScreenShare', label: 'janus visitor shares' });
  await shareAndStop(desk, { sharer: desk.agent, receiver: desk.visitor, camera: true, stop: 'browser', label: 'janus agent shares, browser bar stops' });
  await closeDesk(desk);
});

test('through Janus, a voice call: the call gains a screen and stays a voice call', async () => {
  const desk = await openCallDesk(spec.browser, spec.cleanup, { JANUS_URL: spec.janus.url });
  await escalate(desk, { useVideo: false });
  await shareAndStop(desk, { sharer: desk.visitor, receiver: desk.agent, camera: false, stop: 'stopScreenShare', label: 'janus voice call' });
  assert.equal((await desk.agent.video()).useVideo, false, 'still a voice call');
});
