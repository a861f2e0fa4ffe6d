import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHANNEL_TAG, frameQuery, parseCalls, parseColor, readFrameMessage, readFrameParams, readHostMessage } from './channel.ts';

test('the loader accepts only well-formed frame messages', () => {
  assert.deepEqual(readFrameMessage({ tag: CHANNEL_TAG, type: 'open', focus: true }), { tag: CHANNEL_TAG, type: 'open', focus: true });
  assert.deepEqual(readFrameMessage({ tag: CHANNEL_TAG, type: 'unread', count: 2.7 }), { tag: CHANNEL_TAG, type: 'unread', count: 2 });
  assert.equal(readFrameMessage({ tag: CHANNEL_TAG, type: 'unread', count: -1 }), null);
  assert.equal(readFrameMessage({ tag: CHANNEL_TAG, type: 'alert', title: 1, body: 'x' }), null);
  assert.equal(readFrameMessage({ tag: 'other', type: 'open' }), null);
  assert.equal(readFrameMessage({ tag: CHANNEL_TAG, type: 'eval', code: 'x' }), null);
  assert.equal(readFrameMessage('open'), null);
  assert.equal(readFrameMessage(null), null);
  const long = readFrameMessage({ tag: CHANNEL_TAG, type: 'alert', title: 'a'.repeat(999), body: 'b' });
  assert.equal(long?.type === 'alert' && long.title.length, 200);
});

test('the frame accepts only visibility messages from the loader', () => {
  assert.deepEqual(readHostMessage({ tag: CHANNEL_TAG, type: 'visibility', open: true }), { tag: CHANNEL_TAG, type: 'visibility', open: true });
  assert.deepEqual(readHostMessage({ tag: CHANNEL_TAG, type: 'visibility', open: 'yes' }), { tag: CHANNEL_TAG, type: 'visibility', open: false });
  assert.equal(readHostMessage({ tag: CHANNEL_TAG, type: 'ready' }), null);
});

test('frame parameters round-trip, and the real ancestor origin wins over a claimed host', () => {
  const query = frameQuery({ host: 'https://shop.example', page: 'https://shop.example/a?b=1', open: true, greeting: 'Hi & welcome', color: '#123456', calls: ['voice'] });
  assert.deepEqual(readFrameParams(`?${query}`, null), {
    host: 'https://shop.example',
    page: 'https://shop.example/a?b=1',
    open: true,
    greeting: 'Hi & welcome',
    color: '#123456',
    calls: ['voice'],
  });
  assert.equal(readFrameParams(`?${query}`, 'https://evil.example'), null, 'a host that is not the real embedder is refused');
  assert.equal(readFrameParams('?open=1', 'https://shop.example')?.host, 'https://shop.example');
  assert.equal(readFrameParams('?open=1', null), null);
});

test('data attributes: calls and colour', () => {
  assert.deepEqual(parseCalls(undefined), ['video', 'voice']);
  assert.deepEqual(parseCalls('voice, video,voice,fax'), ['voice', 'video']);
  assert.deepEqual(parseCalls('none'), []);
  assert.equal(parseColor('#fff'), '#fff');
  assert.equal(parseColor('red; background: url(x)'), null);
  assert.equal(parseColor(null), null);
});
