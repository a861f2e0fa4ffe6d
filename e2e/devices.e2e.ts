/*
 * Switching devices mid-call, in mesh and through Janus: the visitor moves to another microphone and another
 * camera with `contact.setDevices()` while the agent's page samples its inbound audio every 20 ms and keeps the
 * longest stretch without a new packet; then the visitor's microphone and camera are "unplugged" and the call
 * falls back to the default devices, and says so (`'deviceChanged'`, reason `unplugged`).
 *
 * The devices, honestly: Chromium's fake capture (--use-fake-device-for-media-stream) lists three microphones
 * ("Fake Default Audio Input", "Fake Audio Input 1", "Fake Audio Input 2": each a real capture track with its
 * own beep) but one camera. The second camera is made in the visitor's page by an init script: it adds one
 * `videoinput` to `enumerateDevices()` and answers `getUserMedia` for exactly that id with the track of an
 * animated 400×400 canvas (`canvas.captureStream`); every other request goes to the browser. The canvas is
 * square and the fake camera is not, so the agent's decoded video turning square proves the switch reached it.
 * An unplug is what the browser does when a device goes: the track stops and fires `ended` (`track.stop()`
 * alone fires nothing, so the test dispatches the event after stopping it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { escalate, openCallDesk, type CallDesk } from './support/callParties.ts';
import { browserAndJanus } from './support/fixture.ts';
import { waitFor } from './support/harness.ts';
import { pageScript, renderedCall, sampleInbound, waitForMediaFlowing, type AudioWatch } from './support/media.ts';
import { CANVAS_CAMERA } from './support/page/canvasCamera.ts';

const spec = browserAndJanus();

/*
 * The longest stretch without a new audio packet at the receiver is measured and reported (the target is under
 * 200 ms), not asserted: on this shared machine the sampler itself is late by as much. What is asserted is what
 * makes a gap-free switch: the same senders keep sending (replaceTrack, no new transceiver, no renegotiation) and
 * audio packets go on rising across it.
 */
/** How often the receiver samples its inbound audio. */
const SAMPLE_EVERY_MS = 20;

/** The visitor's page gets the canvas camera; it is loaded again and back in the conversation. */
async function withCanvasCamera(desk: CallDesk): Promise<void> {
  await desk.visitor.page.addInitScript({ content: await pageScript('e2e/support/page/canvasCamera.ts') });
  await desk.visitor.load();
  await desk.visitor.connectVisitor();
  await waitFor(async () => (await desk.visitor.sessionID()) === desk.sessionID, { what: 'the visitor back in its conversation' });
}

type Devices = { cameras: Array<{ id: string; label: string }>; microphones: Array<{ id: string; label: string }> };
const listDevices = (page: Page) => page.evaluate(() => (window.Parley as unknown as { listDevices(): Promise<Devices> }).listDevices());
const devicesInUse = async (desk: CallDesk) => ((await desk.visitor.page.evaluate(() => window.parleyE2E.video())) as { devices: Record<string, string | null> }).devices;

/** Runs `act` while the agent's page watches its inbound audio; returns once `packetsAfter` more packets arrived after it. */
async function watchAudio(agent: Page, act: () => Promise<void>, packetsAfter = 25): Promise<AudioWatch> {
  await agent.evaluate((every) => window.parleyProbe.startAudioWatch(every), SAMPLE_EVERY_MS);
  await act();
  const at = (await sampleInbound(agent)).audioPacketsReceived;
  await waitFor(async () => (await sampleInbound(agent)).audioPacketsReceived >= at + packetsAfter, { what: 'audio packets to go on rising after the change' });
  return agent.evaluate(() => window.parleyProbe.stopAudioWatch());
}

/** The visitor's SDK-held local track of `kind` stops and says `ended`, as when its device is unplugged. */
function unplug(visitor: Page, kind: 'audio' | 'video'): Promise<void> {
  return visitor.evaluate((k) => {
    const preview = document.querySelector<HTMLVideoElement>('#video video[data-local]');
    const track = (preview?.srcObject as MediaStream | null)?.getTracks().find((t) => t.kind === k);
    if (!track) throw new Error(`no local ${k} track in the preview`);
    track.stop();
    track.dispatchEvent(new Event('ended'));
  }, kind);
}

/** How many transceivers the visitor's live peer connections hold (a renegotiated switch would add some). */
const transceivers = (page: Page) => page.evaluate(() => window.parleyProbe.peerConnections().reduce((n, pc) => n + pc.getTransceivers().length, 0));

const remoteShape = async (page: Page, id: string) => (await renderedCall(page)).remoteVideos.find((v) => v.participantId === id);

async function switchAndUnplug(desk: CallDesk, label: string): Promise<Record<string, number>> {
  const { visitor, agent } = desk;
  await withCanvasCamera(desk);
  await escalate(desk);
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: `${label}: visitor → agent before the switch` });
  const listed = await listDevices(visitor.page);
  const mic = listed.microphones.find((m) => m.label === 'Fake Audio Input 1');
  assert.ok(mic, `a second fake microphone: ${JSON.stringify(listed)}`);
  assert.ok(listed.cameras.some((c) => c.id === CANVAS_CAMERA), 'the canvas camera is listed');
  const before = await devicesInUse(desk);
  assert.notEqual(before.microphone, mic.id);
  assert.ok(before.camera && before.camera !== CANVAS_CAMERA, `the fake camera in use first: ${JSON.stringify(before)}`);

  // Microphone, then camera, mid-call (first the same stretch with no change, for comparison).
  const baseline = await watchAudio(agent.page, async () => {});
  const since = await visitor.eventCount();
  const transceiversBefore = await transceivers(visitor.page);
  const switched = await watchAudio(agent.page, async () => {
    await visitor.actOk('setDevices', [{ microphone: mic.id }]);
    await visitor.actOk('setDevices', [{ camera: CANVAS_CAMERA }]);
  });
  assert.ok(switched.packets > 0, `${label}: audio packets rose across the switch (${JSON.stringify(switched)})`);
  assert.equal(await transceivers(visitor.page), transceiversBefore, `${label}: the switch replaced tracks on the same senders`);
  assert.deepEqual(await devicesInUse(desk), { camera: CANVAS_CAMERA, microphone: mic.id, speaker: null });
  for (const kind of ['microphone', 'camera']) {
    await visitor.waitForEvent('deviceChanged', { since, match: (e) => e.kind === kind && e.reason === 'selected' });
  }
  await waitFor(async () => {
    const shape = await remoteShape(agent.page, visitor.id);
    return shape !== undefined && shape.videoWidth > 0 && shape.videoWidth === shape.videoHeight;
  }, { what: `${label}: the agent to decode the square canvas camera` });
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: `${label}: frames decoding after the camera switch` });
  const bad = await visitor.act('setDevices', [{ microphone: 'no-such-microphone' }]);
  assert.deepEqual(bad.ok ? bad : { ok: bad.ok, code: bad.code }, { ok: false, code: 'device_not_found' });
  assert.deepEqual(await devicesInUse(desk), { camera: CANVAS_CAMERA, microphone: mic.id, speaker: null }, 'a bad id changed nothing');

  // Unplug the microphone, then the camera: the defaults take over and the page is told.
  const beforeUnplug = await visitor.eventCount();
  const afterMicUnplug = await watchAudio(agent.page, async () => {
    await unplug(visitor.page, 'audio');
    await visitor.waitForEvent('deviceChanged', { since: beforeUnplug, match: (e) => e.kind === 'microphone' && e.reason === 'unplugged' && e.previousId === mic.id });
  });
  assert.ok(afterMicUnplug.packets > 0, 'audio goes on after the microphone went');
  await unplug(visitor.page, 'video');
  const fellBack = await visitor.waitForEvent('deviceChanged', { since: beforeUnplug, match: (e) => e.kind === 'camera' && e.reason === 'unplugged' });
  assert.equal((fellBack.data as { previousId: string }).previousId, CANVAS_CAMERA);
  const now = await devicesInUse(desk);
  assert.ok(now.microphone !== mic.id && now.camera !== CANVAS_CAMERA && now.camera, `back on the defaults: ${JSON.stringify(now)}`);
  await waitFor(async () => {
    const shape = await remoteShape(agent.page, visitor.id);
    return shape !== undefined && shape.videoWidth > 0 && shape.videoWidth !== shape.videoHeight;
  }, { what: `${label}: the agent to decode the fake camera again` });
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: `${label}: media after the unplugs` });
  assert.deepEqual(visitor.errors, [], 'no page errors');
  return { baselineGapMs: Math.round(baseline.longestGapMs), switchGapMs: Math.round(switched.longestGapMs), unplugGapMs: Math.round(afterMicUnplug.longestGapMs), switchSamples: switched.samples, switchPackets: switched.packets };
}

test('mesh: microphone and camera switched mid-call without an audio gap; unplugged ones fall back to the defaults', async () => {
  const desk = await openCallDesk(spec.browser, spec.cleanup);
  const figures = await switchAndUnplug(desk, 'mesh');
  console.log(`mesh device switch: ${JSON.stringify(figures)}`);
});

test('Janus: microphone and camera switched mid-call without an audio gap; unplugged ones fall back to the defaults', async () => {
  const desk = await openCallDesk(spec.browser, spec.cleanup, { JANUS_URL: spec.janus.url });
  const figures = await switchAndUnplug(desk, 'janus');
  console.log(`janus device switch: ${JSON.stringify(figures)}`);
});
