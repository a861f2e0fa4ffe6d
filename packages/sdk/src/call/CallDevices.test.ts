import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParleyError } from '../errors.ts';
import { FakeDocument } from '../testing/FakeDom.ts';
import { FakeMediaHandler, FakeNetwork, FakeStream, FakeTrack } from '../testing/FakeMedia.ts';
import { CallDevices } from './CallDevices.ts';
import { DeviceSelection, listDevices } from './devices.ts';
import { DomCallView } from './DomCallView.ts';
import type { DeviceChangedEvent, DeviceListChangedEvent } from './events.ts';
import { LocalMedia, type MediaFailure } from './LocalMedia.ts';
import type { MediaTrackLike } from './MediaHandler.ts';
import type { MediaTransport } from './MediaTransport.ts';

/*
 * Device choice in a call, against FakeMedia: the devices of a FakeMediaHandler can be plugged and unplugged,
 * a transport stand-in records what the links were told to send (the real links switch with replaceTrack,
 * see PeerLink.test.ts and JanusTransport.test.ts), and a DomCallView on a FakeDocument plays the sound.
 */

const headsetMic = { kind: 'audioinput', deviceId: 'headset-mic', label: 'Headset microphone' } as const;
const usbCamera = { kind: 'videoinput', deviceId: 'usb-cam', label: 'USB camera' } as const;
const headphones = { kind: 'audiooutput', deviceId: 'headphones', label: 'Headphones' } as const;

/** What the links were asked to send, with whether the track in use was still live at that moment. */
interface Sent {
  kind: 'audio' | 'video';
  track: MediaTrackLike | null;
  previousLive: boolean;
}

async function inCall(opts: { selection?: DeviceSelection; extra?: Array<typeof headsetMic | typeof usbCamera | typeof headphones> } = {}) {
  const media = new FakeMediaHandler(new FakeNetwork(), new FakeDocument());
  for (const device of opts.extra ?? []) media.devices.push(device);
  const selection = opts.selection ?? new DeviceSelection();
  const changed: Array<Omit<DeviceChangedEvent, 'sessionID'>> = [];
  const lists: Array<Omit<DeviceListChangedEvent, 'sessionID'>> = [];
  const lost: MediaFailure[] = [];
  const sent: Sent[] = [];
  let devices: CallDevices | null = null;
  const local = new LocalMedia(media, selection, (kind, track) => devices!.trackEnded(kind, track));
  const transport = {
    setTrack: (kind: 'audio' | 'video', track: MediaTrackLike | null) => {
      sent.push({ kind, track, previousLive: local.track(kind)?.readyState === 'live' });
      return Promise.resolve();
    },
  } as unknown as MediaTransport;
  media.document.addDiv('video');
  const view = new DomCallView(media.document, 'video');
  view.showRemote('agent', 'Ana', new FakeStream([new FakeTrack('audio')]), false);
  devices = new CallDevices({
    media,
    selection,
    localMedia: local,
    transport: () => transport,
    view: () => view,
    onChanged: (event) => changed.push(event),
    onListChanged: (event) => lists.push(event),
    onLost: (_kind, failure) => lost.push(failure),
  });
  await local.acquire({ audio: true, video: true });
  return { media, selection, local, devices, view, changed, lists, lost, sent };
}

const settled = () => new Promise((r) => setTimeout(r, 5));

test('listDevices sorts the browser devices by kind, with ids and labels', async () => {
  const media = new FakeMediaHandler(new FakeNetwork());
  media.devices.push(headsetMic, headphones);
  assert.deepEqual(await listDevices(media), {
    cameras: [{ id: 'default-video', label: 'Fake camera' }],
    microphones: [
      { id: 'default-audio', label: 'Fake microphone' },
      { id: 'headset-mic', label: 'Headset microphone' },
    ],
    speakers: [
      { id: 'default-speaker', label: 'Fake speaker' },
      { id: 'headphones', label: 'Headphones' },
    ],
  });
});

test('devices chosen before the call are the ones the call opens', async () => {
  const media = new FakeMediaHandler(new FakeNetwork());
  media.devices.push(headsetMic, usbCamera);
  const local = new LocalMedia(media, new DeviceSelection({ microphone: 'headset-mic', camera: 'usb-cam' }));
  const outcome = await local.acquire({ audio: true, video: true });
  assert.deepEqual(outcome, { audio: true, video: true, failures: [] });
  assert.deepEqual(media.requests, [{ audio: true, video: true, audioDeviceId: 'headset-mic', videoDeviceId: 'usb-cam' }]);
  assert.equal(local.track('audio')?.getSettings().deviceId, 'headset-mic');
  assert.equal(local.track('video')?.getSettings().deviceId, 'usb-cam');
});

test('switching the microphone: the new one opens, the links switch while the old is still live, then the old stops; mute carries over', async () => {
  const { devices, local, sent, changed, selection } = await inCall({ extra: [headsetMic] });
  const old = local.track('audio')!;
  old.enabled = false; // muted
  await devices.set({ microphone: 'headset-mic' });
  const now = local.track('audio')!;
  assert.notEqual(now, old);
  assert.equal(now.getSettings().deviceId, 'headset-mic');
  assert.equal(now.enabled, false, 'still muted');
  assert.deepEqual(sent, [{ kind: 'audio', track: now, previousLive: true }], 'one switch, made while the old microphone still sent');
  assert.equal(old.readyState, 'ended', 'the old microphone is released');
  assert.deepEqual(changed, [{ kind: 'microphone', deviceId: 'headset-mic', previousId: 'default-audio', reason: 'selected' }]);
  assert.equal(selection.microphone, 'headset-mic');
  assert.deepEqual(devices.inUse, { camera: 'default-video', microphone: 'headset-mic', speaker: null });
});

test('a bad id is refused with a code and nothing changes', async () => {
  const { devices, local, sent, changed, media } = await inCall({ extra: [usbCamera] });
  const before = { audio: local.track('audio'), video: local.track('video'), requests: media.requests.length };
  await assert.rejects(devices.set({ camera: 'usb-cam', microphone: 'no-such-mic' }), (err: ParleyError) => err.code === 'device_not_found');
  await assert.rejects(devices.set({ camera: '' }), (err: ParleyError) => err.code === 'invalid_frame');
  await assert.rejects(devices.set({ screen: 'x' } as never), (err: ParleyError) => err.code === 'invalid_frame');
  await assert.rejects(devices.set({ microphone: 'usb-cam' }), (err: ParleyError) => err.code === 'device_not_found', 'a camera is no microphone');
  assert.equal(local.track('audio'), before.audio);
  assert.equal(local.track('video'), before.video);
  assert.equal(media.requests.length, before.requests, 'no device opened');
  assert.deepEqual([sent, changed], [[], []]);
});

test('the camera chosen while it is off is used when it opens', async () => {
  const { devices, local, sent, changed, media } = await inCall({ extra: [usbCamera] });
  local.stopTrack('video');
  await devices.set({ camera: 'usb-cam' });
  assert.deepEqual(sent, [], 'nothing to switch');
  assert.deepEqual(changed, [{ kind: 'camera', deviceId: 'usb-cam', previousId: null, reason: 'selected' }]);
  const track = await local.openTrack('video');
  assert.equal(track.getSettings().deviceId, 'usb-cam');
  assert.equal(media.requests.at(-1)?.videoDeviceId, 'usb-cam');
});

test('the speaker: every remote element plays on it, later ones too; where outputs cannot be chosen, not_supported', async () => {
  const { devices, view, media, changed } = await inCall({ extra: [headphones] });
  await devices.set({ speaker: 'headphones' });
  view.showRemote('guest', 'Sam', new FakeStream([new FakeTrack('audio')]), false);
  const sinks = media.document.body.query('video', { 'data-participant-id': undefined }).map((v) => v.sinkId);
  assert.deepEqual(sinks, ['headphones', 'headphones']);
  assert.deepEqual(changed, [{ kind: 'speaker', deviceId: 'headphones', previousId: null, reason: 'selected' }]);

  const old = await inCall({ extra: [headphones] });
  const createElement = old.media.document.createElement.bind(old.media.document);
  old.media.document.createElement = ((tag: 'video') => Object.assign(createElement(tag), { setSinkId: undefined })) as never;
  await assert.rejects(old.devices.set({ speaker: 'headphones' }), (err: ParleyError) => err.code === 'not_supported');
  assert.equal(old.devices.inUse.speaker, null, 'nothing changed');
});

test('an unplugged microphone falls back to the default one, and the user is told', async () => {
  const { devices, local, sent, changed, media, selection } = await inCall({ extra: [headsetMic] });
  await devices.set({ microphone: 'headset-mic' });
  sent.length = 0;
  changed.length = 0;
  const headset = local.track('audio')!;
  media.unplug('headset-mic');
  await devices.set({}); // queued after the fallback
  const now = local.track('audio')!;
  assert.equal(headset.readyState, 'ended');
  assert.equal(now.getSettings().deviceId, 'default-audio');
  assert.equal(media.requests.at(-1)?.audioDeviceId, undefined, 'the default device, not the one that went');
  assert.deepEqual(sent, [{ kind: 'audio', track: now, previousLive: false }]);
  assert.deepEqual(changed, [{ kind: 'microphone', deviceId: 'default-audio', previousId: 'headset-mic', reason: 'unplugged' }]);
  assert.equal(selection.microphone, null, 'the choice went with the device');
});

test('an unplugged camera with no other camera: video stops being sent, the loss is reported', async () => {
  const { local, sent, changed, lost, media } = await inCall();
  media.unplug('default-video');
  await settled();
  assert.equal(local.track('video'), null);
  assert.deepEqual(sent, [{ kind: 'video', track: null, previousLive: false }]);
  assert.equal(lost.length, 1);
  assert.equal(lost[0]!.code, 'media-missing');
  assert.deepEqual(changed, [{ kind: 'camera', deviceId: null, previousId: 'default-video', reason: 'unplugged' }]);
  assert.ok(local.track('audio'), 'the microphone goes on');
});

test('a device stopped by the page itself (camera off) is no unplug; a plugged-in headset is offered with the new list', async () => {
  const { local, changed, lists, media, devices } = await inCall();
  const camera = local.track('video') as FakeTrack;
  local.stopTrack('video');
  camera.unplug(); // even if the browser said `ended` afterwards
  await settled();
  assert.deepEqual(changed, []);

  await settled(); // the first list is known
  media.plug(headsetMic);
  await settled();
  assert.equal(lists.length, 1);
  assert.deepEqual(lists[0]!.added, [{ id: 'headset-mic', label: 'Headset microphone', kind: 'microphone' }]);
  assert.deepEqual(lists[0]!.devices.microphones.map((d) => d.id), ['default-audio', 'headset-mic']);
  devices.close();
  media.plug(headphones);
  await settled();
  assert.equal(lists.length, 1, 'not after close');
});
