import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeDocument } from '../testing/FakeDom.ts';
import { FakeStream, FakeTrack } from '../testing/FakeMedia.ts';
import { DomCallView } from './DomCallView.ts';

test('remote video, named tile for a participant without video, mirrored muted preview; clear removes all', () => {
  const doc = new FakeDocument();
  const div = doc.addDiv('panel');
  const view = new DomCallView(doc, 'panel');
  view.showLocal(new FakeStream([new FakeTrack('audio'), new FakeTrack('video')]), 'Ana', true);
  view.showRemote('v1', 'Vera', null, true);
  const video = div.query('video', { 'data-participant-id': 'v1' })[0]!;
  const tile = div.query('div', { 'data-participant-id': 'v1', 'data-tile': undefined })[0]!;
  assert.equal(video.visible, false, 'no stream yet: no blank frame');
  assert.equal(tile.visible, true);
  assert.equal(tile.textContent, 'Vera');

  const stream = new FakeStream([new FakeTrack('audio'), new FakeTrack('video')]);
  view.showRemote('v1', 'Vera', stream, true);
  assert.equal(video.srcObject, stream);
  assert.equal(video.visible, true);
  assert.equal(tile.visible, false);
  assert.ok(video.plays > 0);
  view.showRemote('v1', 'Vera', stream, false);
  assert.equal(video.visible, false, 'camera off: the tile instead, the element still plays the sound');
  assert.equal(video.srcObject, stream);

  const local = div.query('video', { 'data-local': undefined })[0]!;
  assert.equal(local.muted, true);
  assert.equal(local.styleOf('transform'), 'scaleX(-1)');
  view.removeRemote('v1');
  assert.equal(div.query('*', { 'data-participant-id': 'v1' }).length, 0);
  view.clear();
  assert.equal(div.children.length, 0);
  assert.equal(doc.body.children.length, 1, "the integrator's div stays");
});

test('without the div, a hidden container plays the sound and is removed at the end', () => {
  const doc = new FakeDocument();
  const view = new DomCallView(doc, 'missing');
  const original = console.warn;
  console.warn = () => {};
  try {
    view.showRemote('a1', 'Ana', new FakeStream([new FakeTrack('audio')]), false);
  } finally {
    console.warn = original;
  }
  const container = doc.body.children[0]!;
  assert.equal(container.visible, false);
  assert.equal(container.query('video', { 'data-participant-id': 'a1' }).length, 1);
  view.clear();
  assert.equal(doc.body.children.length, 0);
});

test('three or more people: a grid of named cells that adapts to the count; the active speaker is marked', () => {
  const doc = new FakeDocument();
  const div = doc.addDiv('panel');
  const view = new DomCallView(doc, 'panel');
  const stream = () => new FakeStream([new FakeTrack('audio'), new FakeTrack('video')]);
  view.showLocal(stream(), 'Ana', true);
  view.showRemote('v1', 'Vera', stream(), true);
  assert.equal(div.getAttribute('data-parley-layout'), null, 'two people: the page lays them out');
  assert.equal(div.query('div', { 'data-cell': 'v1' })[0]!.styleOf('display'), 'contents');

  view.showRemote('g1', 'Gus', stream(), true);
  assert.equal(div.getAttribute('data-parley-layout'), 'grid');
  assert.equal(div.getAttribute('data-parley-count'), '3');
  assert.equal(div.styleOf('display'), 'grid');
  assert.equal(div.styleOf('grid-template-columns'), 'repeat(2, minmax(0, 1fr))');
  const names = div.query('div', { class: 'parley-name' });
  assert.deepEqual(names.map((n) => [n.textContent, n.visible]), [['Ana', true], ['Vera', true], ['Gus', true]]);

  view.showRemote('a2', 'Bo', stream(), true);
  view.showRemote('a3', 'Cy', stream(), true);
  assert.equal(div.styleOf('grid-template-columns'), 'repeat(3, minmax(0, 1fr))', 'five people: three columns');

  view.setActiveSpeaker('g1');
  assert.ok(div.query('div', { 'data-cell': 'g1' })[0]!.hasAttribute('data-speaking'));
  view.setActiveSpeaker('v1');
  assert.equal(div.query('div', { 'data-speaking': undefined }).length, 1, 'one speaker at a time');
  assert.ok(div.query('div', { 'data-cell': 'v1' })[0]!.hasAttribute('data-speaking'));

  view.removeRemote('g1');
  view.removeRemote('a2');
  view.removeRemote('a3');
  assert.equal(div.getAttribute('data-parley-layout'), null, 'back to two: the grid is gone');
  assert.equal(div.styleOf('display'), undefined);
  view.clear();
  assert.equal(div.children.length, 0);
  assert.equal(div.getAttribute('data-parley-count'), null);
});

test('a shared screen: one more large cell for the sharer, the camera cells stay; the sharer sees a labelled preview', () => {
  const doc = new FakeDocument();
  const div = doc.addDiv('panel');
  const view = new DomCallView(doc, 'panel');
  view.showLocal(new FakeStream([new FakeTrack('audio')]), 'Ana', false);
  view.showRemote('v1', 'Vera', new FakeStream([new FakeTrack('audio'), new FakeTrack('video')]), true);
  const screen = new FakeStream([new FakeTrack('video')]);
  view.showScreen('v1', 'Vera', screen);
  const [camera, shown] = div.query('video', { 'data-participant-id': 'v1' });
  assert.ok(camera && !camera.hasAttribute('data-screen'), 'the camera element stays');
  assert.equal(shown?.hasAttribute('data-screen'), true);
  assert.equal(shown?.srcObject, screen);
  assert.equal(shown?.muted, true, 'the camera element plays the sound, not the screen');
  assert.equal(shown?.getAttribute('aria-label'), "Vera's screen");
  assert.equal(div.getAttribute('data-parley-screen'), 'v1');
  view.showScreen('v1', 'Vera', new FakeStream()); // no picture: nothing to draw
  assert.equal(div.query('video', { 'data-screen': undefined }).length, 0);
  assert.equal(div.getAttribute('data-parley-screen'), null);

  view.showLocalScreen(screen);
  const preview = div.query('video', { 'data-screen-preview': undefined })[0]!;
  assert.equal(preview.muted, true);
  assert.equal(div.query('div', { role: 'status' })[0]?.textContent, 'You are sharing your screen');
  assert.equal(div.hasAttribute('data-parley-sharing'), true);

  // In a grid the screen spans the first row.
  view.showRemote('g1', 'Gil', null, false);
  view.showScreen('g1', 'Gil', screen);
  const cell = div.query('div', { 'data-cell': 'screen:g1' })[0]!;
  assert.equal(cell.styleOf('grid-column'), '1 / -1');
  assert.equal(cell.styleOf('order'), '-1');
  view.removeRemote('g1');
  assert.equal(div.query('*', { 'data-cell': 'screen:g1' }).length, 0, 'a participant leaving takes its screen along');
  view.clear();
  assert.equal(div.children.length, 0);
  assert.equal(div.hasAttribute('data-parley-sharing'), false);
});

test('a participant whose link is being restored is marked "Reconnecting…" on its cell, in words, until it is back', () => {
  const doc = new FakeDocument();
  const div = doc.addDiv('panel');
  const view = new DomCallView(doc, 'panel');
  view.showRemote('v1', 'Vera', new FakeStream([new FakeTrack('audio'), new FakeTrack('video')]), true);
  const cell = () => div.query('div', { 'data-cell': 'v1' })[0]!;
  view.setReconnecting('v1', true);
  view.setReconnecting('v1', true);
  assert.equal(cell().getAttribute('data-reconnecting'), '');
  const lines = div.query('div', { class: 'parley-reconnecting' });
  assert.equal(lines.length, 1, 'one line, however often it is said');
  assert.equal(lines[0]!.textContent, 'Reconnecting…');
  assert.equal(lines[0]!.getAttribute('role'), 'status', 'announced to screen readers');
  view.setReconnecting('v1', false);
  assert.equal(cell().getAttribute('data-reconnecting'), null);
  assert.equal(div.query('div', { class: 'parley-reconnecting' }).length, 0);
  view.setReconnecting('nobody', true); // no cell: nothing to mark
});
