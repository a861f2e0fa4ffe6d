import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StatsReportLike } from '../MediaHandler.ts';
import { intervalOf, QualityMeter, rateInterval, readLink, type ConnectionQuality, type LinkInterval } from './linkQuality.ts';

const report = (stats: Array<Record<string, unknown>>): StatsReportLike => ({ forEach: (cb) => stats.forEach(cb) });

const interval = (over: Partial<LinkInterval> = {}): LinkInterval => ({ lossPct: 0, receiving: true, sendLossPct: 0, ...over });

describe('link quality', () => {
  it('reads inbound and outbound counters, audio jitter and the selected pair', () => {
    const reading = readLink(
      report([
        { type: 'inbound-rtp', kind: 'audio', packetsReceived: 100, packetsLost: 2, jitter: 0.012 },
        { type: 'inbound-rtp', kind: 'video', packetsReceived: 400, packetsLost: 8, jitter: 0.09 },
        { type: 'outbound-rtp', kind: 'audio', packetsSent: 120 },
        { type: 'remote-inbound-rtp', kind: 'audio', packetsLost: 3 },
        { type: 'candidate-pair', state: 'succeeded', nominated: true, currentRoundTripTime: 0.05, availableOutgoingBitrate: 1_500_000 },
        { type: 'candidate-pair', state: 'failed', currentRoundTripTime: 9 },
      ]),
    );
    assert.deepEqual(reading, {
      packetsReceived: 500,
      packetsLost: 10,
      packetsSent: 120,
      remotePacketsLost: 3,
      jitterMs: 12,
      roundTripTimeMs: 50,
      availableOutgoingBitrateKbps: 1500,
    });
  });

  it('takes loss over the interval, not since the call began', () => {
    const before = readLink(report([{ type: 'inbound-rtp', kind: 'audio', packetsReceived: 10_000, packetsLost: 2_000 }]));
    const after = readLink(report([{ type: 'inbound-rtp', kind: 'audio', packetsReceived: 10_099, packetsLost: 2_001 }]));
    const i = intervalOf(before, after);
    assert.equal(i.lossPct, 1);
    assert.equal(i.receiving, true);
    assert.equal(rateInterval(i), 'good');
    assert.equal(i.heard, undefined, 'without transport stats nothing is said of hearing');
  });

  it('an interval with no byte from the far end on the transport is not heard', () => {
    const at = (bytesReceived: number) => readLink(report([{ type: 'transport', bytesReceived }, { type: 'inbound-rtp', kind: 'audio', packetsReceived: 50 }]));
    assert.equal(intervalOf(at(1_000), at(1_000)).heard, false);
    assert.equal(intervalOf(at(1_000), at(1_090)).heard, true, 'a receiver report alone is the far end heard');
  });

  it('rates each interval by its worst measure', () => {
    assert.equal(rateInterval(interval()), 'good');
    assert.equal(rateInterval(interval({ lossPct: 2 })), 'fair');
    assert.equal(rateInterval(interval({ roundTripTimeMs: 350 })), 'fair');
    assert.equal(rateInterval(interval({ jitterMs: 45 })), 'fair');
    assert.equal(rateInterval(interval({ lossPct: 9 })), 'poor');
    assert.equal(rateInterval(interval({ roundTripTimeMs: 700, lossPct: 0.5 })), 'poor');
    assert.equal(rateInterval(interval({ receiving: false })), 'lost');
    assert.equal(rateInterval(interval(), false), 'lost', 'a disconnected link is lost whatever its last numbers');
  });

  it('gets worse after two intervals in a row and better after three', () => {
    const meter = new QualityMeter();
    const feed = (levels: ConnectionQuality[]) => levels.map((l) => meter.update(l));
    assert.deepEqual(feed(['poor']), [null], 'one bad second shows nothing');
    assert.deepEqual(feed(['good', 'poor', 'poor']), [null, null, 'poor']);
    assert.deepEqual(feed(['good', 'good']), [null, null], 'two good seconds are not yet a recovery');
    assert.deepEqual(feed(['good']), ['good']);
    assert.deepEqual(feed(['fair', 'lost']), [null, 'lost'], 'two worse seconds in a row move it, to the latest');
    assert.deepEqual(feed(['good', 'fair', 'good']), [null, null, 'good'], 'better in any measure counts towards better');
    assert.equal(meter.level, 'good');
  });
});
