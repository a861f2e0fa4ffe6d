import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerConnectionLike } from '../MediaHandler.ts';
import { QualityWatch, type QualityLink } from './QualityWatch.ts';

/** A peer connection whose stats are counters the test moves on. */
class StatsPc {
  connectionState: PeerConnectionLike['connectionState'] = 'connected';
  received = 0;
  lost = 0;
  sent = 0;
  remoteLost = 0;
  rttSeconds = 0.02;
  bitrate = 1_000_000;
  async getStats() {
    const stats = [
      { type: 'inbound-rtp', kind: 'audio', packetsReceived: this.received, packetsLost: this.lost, jitter: 0.005 },
      { type: 'outbound-rtp', kind: 'audio', packetsSent: this.sent },
      { type: 'remote-inbound-rtp', kind: 'audio', packetsLost: this.remoteLost },
      { type: 'candidate-pair', state: 'succeeded', nominated: true, currentRoundTripTime: this.rttSeconds, availableOutgoingBitrate: this.bitrate },
    ];
    return { forEach: (cb: (s: Record<string, unknown>) => void) => stats.forEach(cb) };
  }
  /** One second of traffic: `n` packets each way, `lossPct` of them lost inbound and outbound. */
  second(n: number, lossPct = 0) {
    const lost = Math.round((n * lossPct) / 100);
    this.received += n - lost;
    this.lost += lost;
    this.sent += n;
    this.remoteLost += lost;
  }
}

function watch(links: () => QualityLink[]) {
  const reported: string[] = [];
  const w = new QualityWatch({ selfId: 'me', links, onQuality: (id, q) => reported.push(`${id}:${q}`) });
  return { w, reported };
}

describe('QualityWatch', () => {
  it('reports each remote participant and this page’s sending, and moves with the loss', async () => {
    const pc = new StatsPc();
    const { w, reported } = watch(() => [{ receivesFrom: 'ana', sends: true, peerConnection: pc as unknown as PeerConnectionLike }]);
    await w.sample(); // the first reading: nothing to compare yet
    assert.deepEqual(reported, []);
    pc.second(50);
    await w.sample();
    assert.deepEqual(reported, ['ana:good', 'me:good'], 'a new link shows its level at once');
    for (let i = 0; i < 2; i++) {
      pc.second(50, 20);
      await w.sample();
    }
    assert.deepEqual(reported.slice(2), ['ana:poor', 'me:poor'], 'two lossy seconds in a row');
    assert.deepEqual(w.figures('ana'), { quality: 'poor', availableOutgoingBitrateKbps: 1000 });
    pc.connectionState = 'disconnected';
    for (let i = 0; i < 2; i++) await w.sample();
    assert.deepEqual(reported.slice(4), ['ana:lost', 'me:lost']);
  });

  it('through Janus: the publisher rates this page’s sending, each subscription its participant', async () => {
    const publisher = new StatsPc();
    const fromAna = new StatsPc();
    publisher.bitrate = 300_000;
    const { w, reported } = watch(() => [
      { receivesFrom: null, sends: true, peerConnection: publisher as unknown as PeerConnectionLike },
      { receivesFrom: 'ana', sends: false, peerConnection: fromAna as unknown as PeerConnectionLike },
    ]);
    await w.sample();
    for (let i = 0; i < 3; i++) {
      publisher.second(50, 30); // only the sending side suffers
      fromAna.second(50);
      await w.sample();
    }
    assert.deepEqual(reported, ['ana:good', 'me:good', 'me:poor']);
    assert.deepEqual(w.figures('ana'), { quality: 'good', availableOutgoingBitrateKbps: 300 }, "the publisher's estimate shows on the rows");
  });

  it('forgets a participant whose link is gone', async () => {
    const pc = new StatsPc();
    let links: QualityLink[] = [{ receivesFrom: 'ana', sends: true, peerConnection: pc as unknown as PeerConnectionLike }];
    const { w } = watch(() => links);
    await w.sample();
    pc.second(50);
    await w.sample();
    assert.equal(w.figures('ana')?.quality, 'good');
    links = [];
    await w.sample();
    assert.equal(w.figures('ana'), null);
  });
});
