import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QueuedConversation } from '@parley/protocol';
import { LIMITS } from '@parley/protocol';
import { cutText, queueUpdates } from './queueUpdates.ts';

const entry = (n: number): QueuedConversation => ({
  sessionID: `s${n}`,
  visitor: { id: `v${n}`, role: 'visitor', name: `Visitor ${n}` },
  waitingSince: new Date(Date.UTC(2024, 0, 1, 0, 0, n)).toISOString(),
  firstMessage: 'hello',
  visitorInfo: {},
});
const queueOf = (count: number) => Array.from({ length: count }, (_, i) => entry(i));

describe('queueUpdates', () => {
  it('announces one arrival with its position and the size', () => {
    const frames = queueUpdates(queueOf(3), new Set(['s2']), new Set());
    assert.deepEqual(frames, [{ type: 'queue.updated', size: 3, added: entry(2), position: 2 }]);
  });

  it('puts the removals first and the first arrival on the same frame', () => {
    const frames = queueUpdates(queueOf(2), new Set(['s1']), new Set(['gone']));
    assert.deepEqual(frames, [{ type: 'queue.updated', size: 2, removed: ['gone'], added: entry(1), position: 1 }]);
  });

  it('a burst beyond a page costs one size-only frame, whatever the queue length', () => {
    const queue = queueOf(1500);
    const burst = new Set(queue.slice(200).map((q) => q.sessionID));
    assert.deepEqual(queueUpdates(queue, burst, new Set()), [{ type: 'queue.updated', size: 1500 }]);
  });

  it('arrivals within a page come one a frame, in order; none past the page', () => {
    const queue = queueOf(LIMITS.maxQueuePage + 20);
    const frames = queueUpdates(queue, new Set(queue.map((q) => q.sessionID)), new Set());
    assert.equal(frames.length, LIMITS.maxQueuePage);
    assert.deepEqual(frames.map((f) => f.position), [...Array(LIMITS.maxQueuePage).keys()]);
    assert.ok(frames.every((f) => f.size === queue.length));
  });

  it('splits many removals into bounded frames and skips ids still waiting', () => {
    const removed = new Set(Array.from({ length: 120 }, (_, i) => `r${i}`));
    removed.add('s0'); // still waiting (a stale notice): not announced as gone
    const frames = queueUpdates(queueOf(1), new Set(), removed);
    assert.deepEqual(frames.map((f) => f.removed?.length), [50, 50, 20]);
    assert.ok(frames.every((f) => !f.removed?.includes('s0')));
  });

  it('says nothing when nothing changed', () => {
    assert.deepEqual(queueUpdates(queueOf(4), new Set(), new Set()), []);
  });

  it('keeps every frame small at full field sizes, even for a 1,500-long queue', () => {
    const big = (n: number): QueuedConversation => ({
      ...entry(n),
      visitor: { id: `v${n}`, role: 'visitor', name: '\ud800'.repeat(LIMITS.maxNameChars) },
      firstMessage: cutText('\ud800'.repeat(200), LIMITS.queueFirstMessageChars),
      visitorInfo: { page: cutText('\ud800'.repeat(2048), LIMITS.queuePageChars), userAgent: cutText('\ud800'.repeat(512), LIMITS.queueUserAgentChars) },
    });
    const queue = Array.from({ length: 1500 }, (_, i) => big(i));
    const frames = queueUpdates(queue, new Set(queue.map((q) => q.sessionID)), new Set(['x']));
    const largest = Math.max(...frames.map((f) => Buffer.byteLength(JSON.stringify(f))));
    assert.ok(largest < 4096, `largest frame ${largest} B`);
  });
});

describe('cutText', () => {
  it('leaves short text alone and cuts long text to the limit, ending in …', () => {
    assert.equal(cutText('short', 10), 'short');
    const cut = cutText('x'.repeat(300), 120);
    assert.equal(cut.length, 120);
    assert.ok(cut.endsWith('…'));
  });

  it('never splits a surrogate pair', () => {
    const cut = cutText('a' + '😀'.repeat(100), 10);
    assert.ok(cut.length <= 10);
    assert.ok(!/[\ud800-\udbff]…$/.test(cut), 'no lone high surrogate before the ellipsis');
  });
});
