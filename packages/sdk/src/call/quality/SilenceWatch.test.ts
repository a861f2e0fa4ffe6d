import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerConnectionLike } from '../MediaHandler.ts';
import { SILENT_AFTER_MS, SilenceWatch } from './SilenceWatch.ts';

/** A peer connection whose one receiver reports a source played out at `played` (null: no source heard yet). */
function link(receivesFrom: string | null) {
  const state = { played: null as number | null, connectionState: 'connected' as PeerConnectionLike['connectionState'] };
  const receiver = { track: {} as never, getSynchronizationSources: () => (state.played === null ? [] : [{ timestamp: state.played }]) };
  const pc = { get connectionState() { return state.connectionState; }, getTransceivers: () => [{ mid: '0', sender: {} as never, receiver }] } as unknown as PeerConnectionLike;
  return { state, quality: { receivesFrom, sends: true, peerConnection: pc } };
}

describe('SilenceWatch', () => {
  it('reports a link silent once nothing new is played out for a while, and heard when it is again', () => {
    const a = link('ana');
    let now = 0;
    const said: string[] = [];
    const watch = new SilenceWatch({ links: () => [a.quality], onSilent: (id) => said.push(`silent ${id}`), onHeard: (id) => said.push(`heard ${id}`), now: () => now });
    for (; now < 3 * SILENT_AFTER_MS; now += 100) {
      a.state.played = 1_000 + now;
      watch.check();
    }
    assert.deepEqual(said, [], 'flowing media is not silence');
    const stoppedAt = now;
    for (; now < stoppedAt + 3 * SILENT_AFTER_MS; now += 100) watch.check();
    assert.deepEqual(said, ['silent ana'], 'said once per silence');
    a.state.played = 99_999;
    watch.check();
    assert.deepEqual(said, ['silent ana', 'heard ana']);
  });

  it('leaves alone links that never delivered anything, send-only ones and closed ones', () => {
    const quiet = link('bo');
    const sendOnly = link(null);
    sendOnly.state.played = 5;
    const closed = link('cy');
    closed.state.played = 5;
    let now = 0;
    const said: string[] = [];
    const watch = new SilenceWatch({ links: () => [quiet.quality, sendOnly.quality, closed.quality], onSilent: (id) => said.push(id), now: () => now });
    watch.check();
    closed.state.connectionState = 'closed';
    for (; now < 5 * SILENT_AFTER_MS; now += 100) watch.check();
    assert.deepEqual(said, []);
  });
});
