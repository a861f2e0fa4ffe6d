import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LinkInterval } from './linkQuality.ts';
import { FALLBACK, VideoFallback, type FallbackAction } from './VideoFallback.ts';

const open: LinkInterval = { lossPct: 0, receiving: true, sendLossPct: 0, roundTripTimeMs: 5, availableOutgoingBitrateKbps: 2500 };
const capped: LinkInterval = { lossPct: 12, receiving: true, sendLossPct: 15, roundTripTimeMs: 800, availableOutgoingBitrateKbps: 84 };
const calmAudio: LinkInterval = { lossPct: 0, receiving: true, sendLossPct: 0, roundTripTimeMs: 3, availableOutgoingBitrateKbps: 90 };

function feed(fallback: VideoFallback, intervals: LinkInterval[]): Array<FallbackAction | null> {
  return intervals.map((i) => fallback.update(i));
}
const times = (n: number, i: LinkInterval) => Array.from({ length: n }, () => i);

describe('VideoFallback', () => {
  it('pauses after two weak seconds in a row, not after one', () => {
    const f = new VideoFallback();
    assert.deepEqual(feed(f, [capped, open, capped]), [null, null, null]);
    assert.deepEqual(feed(f, [capped]), ['pause']);
    assert.equal(f.paused, true);
  });

  it('a low estimate alone pauses it, and so does loss alone', () => {
    const low = new VideoFallback();
    assert.deepEqual(feed(low, times(2, { ...open, availableOutgoingBitrateKbps: 100 })), [null, 'pause']);
    const lossy = new VideoFallback();
    assert.deepEqual(feed(lossy, times(2, { ...open, sendLossPct: 12 })), [null, 'pause']);
    const unknown = new VideoFallback();
    const { availableOutgoingBitrateKbps: _, ...noEstimate } = open;
    assert.deepEqual(feed(unknown, times(3, noEstimate)), [null, null, null], 'no estimate is not a weak one');
  });

  it('while paused, tries again after calm seconds, and resumes once the try holds', () => {
    const f = new VideoFallback();
    feed(f, times(2, capped));
    const calm = feed(f, times(FALLBACK.firstWait, calmAudio));
    assert.deepEqual(calm.slice(0, -1), times(FALLBACK.firstWait - 1, null as never));
    assert.equal(calm.at(-1), 'try');
    assert.equal(f.paused, true, 'receivers still hear "paused" during the try');
    const held = feed(f, times(FALLBACK.tryHolds, open));
    assert.equal(held.at(-1), 'resume');
    assert.equal(f.state, 'sending');
  });

  it('a failed try pauses again and waits twice as long, up to the longest wait; a resume resets it', () => {
    const f = new VideoFallback();
    feed(f, times(2, capped));
    let wait: number = FALLBACK.firstWait;
    for (let attempt = 0; attempt < 6; attempt++) {
      const calm = feed(f, times(wait, calmAudio));
      assert.equal(calm.at(-1), 'try', `try ${attempt} after ${wait} calm seconds`);
      assert.ok(calm.slice(0, -1).every((a) => a === null));
      assert.deepEqual(feed(f, [capped]), ['pause']);
      wait = Math.min(wait * 2, FALLBACK.longestWait);
    }
    assert.equal(wait, FALLBACK.longestWait);
    feed(f, times(wait, calmAudio));
    feed(f, times(FALLBACK.tryHolds, open));
    assert.equal(f.state, 'sending');
    feed(f, times(2, capped));
    assert.equal(feed(f, times(FALLBACK.firstWait, calmAudio)).at(-1), 'try', 'after a resume the first wait is short again');
  });

  it('a noisy paused link restarts the calm count', () => {
    const f = new VideoFallback();
    feed(f, times(2, capped));
    const actions = feed(f, [...times(FALLBACK.firstWait - 1, calmAudio), { ...calmAudio, roundTripTimeMs: 450 }, ...times(FALLBACK.firstWait - 1, calmAudio)]);
    assert.ok(actions.every((a) => a === null), JSON.stringify(actions));
    assert.deepEqual(feed(f, [calmAudio]), ['try']);
  });

  it('an outage is not a weak link: nothing counts while the far end is unheard, nor while the link settles after it', () => {
    const f = new VideoFallback();
    const away: LinkInterval = { ...open, receiving: false, heard: false, availableOutgoingBitrateKbps: 60 };
    // Back: the far end reports everything sent into the outage as lost, the estimate collapses on it.
    const aftermath: LinkInterval = { ...open, heard: true, sendLossPct: 400, availableOutgoingBitrateKbps: 40 };
    const actions = feed(f, [...times(20, away), ...times(FALLBACK.settleAfterOutage, aftermath)]);
    assert.ok(actions.every((a) => a === null), JSON.stringify(actions));
    assert.equal(f.state, 'sending');
    assert.deepEqual(feed(f, times(2, capped)), [null, 'pause'], 'a link still weak once settled pauses as ever');
  });

  it('a pause in place stays through an outage, and the way back starts once the link settled', () => {
    const f = new VideoFallback();
    feed(f, times(2, capped));
    feed(f, [...times(3, calmAudio), { ...calmAudio, heard: false }]);
    assert.equal(f.state, 'paused');
    const back = feed(f, times(FALLBACK.settleAfterOutage + FALLBACK.firstWait, calmAudio));
    assert.deepEqual(back.slice(0, -1), times(back.length - 1, null as never));
    assert.equal(back.at(-1), 'try');
  });
});
