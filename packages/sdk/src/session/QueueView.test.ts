import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QueuedConversation } from '../wire.ts';
import { QueueView } from './QueueView.ts';

const q = (id: string): QueuedConversation => ({
  sessionID: id,
  visitor: { id: `v-${id}`, role: 'visitor', name: id },
  waitingSince: '2024-01-01T00:00:00.000Z',
  firstMessage: null,
  visitorInfo: {},
});
const ids = (view: QueueView) => view.entries.map((e) => e.sessionID);

test('a queue view follows arrivals and departures and stays within its limit', () => {
  const view = new QueueView(3);
  view.reset([q('a'), q('b')], 2);
  view.apply({ type: 'queue.updated', size: 3, added: q('c'), position: 2 });
  assert.deepEqual(ids(view), ['a', 'b', 'c']);
  view.apply({ type: 'queue.updated', size: 4, added: q('d'), position: 3 }); // past the view: counted only
  assert.deepEqual(ids(view), ['a', 'b', 'c']);
  assert.equal(view.size, 4);
  assert.equal(view.missing, 0);
  view.apply({ type: 'queue.updated', size: 5 }); // a size-only frame (a flood far back)
  assert.equal(view.size, 5);

  view.apply({ type: 'queue.updated', size: 4, removed: ['a'] });
  assert.deepEqual(ids(view), ['b', 'c']);
  assert.equal(view.missing, 1, 'one entry behind the view now falls inside it');
  assert.equal(view.last, 'c');
  view.append([q('c'), q('d')], 4); // overlap with what is held is skipped
  assert.deepEqual(ids(view), ['b', 'c', 'd']);
});

test('a repeated or early arrival does not duplicate or misplace entries', () => {
  const view = new QueueView(5);
  view.reset([q('a')], 1);
  view.apply({ type: 'queue.updated', size: 2, added: q('b'), position: 1 });
  view.apply({ type: 'queue.updated', size: 2, added: q('b'), position: 1 });
  assert.deepEqual(ids(view), ['a', 'b']);
  view.apply({ type: 'queue.updated', size: 4, added: q('z'), position: 3 }); // a gap before it: not guessed
  assert.deepEqual(ids(view), ['a', 'b']);
  assert.equal(view.missing, 2);
  view.apply({ type: 'queue.updated', size: 5, added: q('early'), position: 0 }); // an older one (clock skew)
  assert.deepEqual(ids(view), ['early', 'a', 'b']);
});
