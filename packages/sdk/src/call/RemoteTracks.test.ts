import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeStream, FakeTrack } from '../testing/FakeMedia.ts';
import { RemoteTracks } from './RemoteTracks.ts';

const ids = (stream: FakeStream) => stream.getTracks().map((t) => t.id);

test('a screen track that arrives before its stream id is known moves to the screen stream once it is, and the camera comes back', () => {
  const tracks = new RemoteTracks(new FakeStream(), new FakeStream());
  const [audio, camera, screen] = [new FakeTrack('audio'), new FakeTrack('video'), new FakeTrack('video')];
  tracks.add(audio, 'cam');
  tracks.add(camera, 'cam');
  tracks.sort();
  tracks.add(screen, 'scr');
  assert.equal(tracks.sort(), true);
  assert.deepEqual(ids(tracks.camera as FakeStream), [audio.id, screen.id], 'not known yet: the newest video is taken for the camera');
  tracks.markScreen('scr');
  assert.equal(tracks.sort(), true);
  assert.deepEqual(ids(tracks.camera as FakeStream), [audio.id, camera.id]);
  assert.deepEqual(ids(tracks.screen as FakeStream), [screen.id]);
  assert.equal(tracks.sort(), false, 'sorting again changes nothing');
});

test('a key once known as the screen stays so: its idle track never takes the camera place', () => {
  const tracks = new RemoteTracks(new FakeStream(), new FakeStream());
  const [camera, screen] = [new FakeTrack('video'), new FakeTrack('video')];
  tracks.markScreen('scr');
  tracks.add(camera, 'cam');
  tracks.add(screen, 'scr');
  tracks.markScreen(null); // the share stopped: nothing announced now
  tracks.sort();
  assert.deepEqual(ids(tracks.camera as FakeStream), [camera.id]);
  assert.deepEqual(ids(tracks.screen as FakeStream), [screen.id]);
  screen.stop();
  tracks.sort();
  assert.deepEqual(ids(tracks.screen as FakeStream), [], 'an ended track goes');
});
