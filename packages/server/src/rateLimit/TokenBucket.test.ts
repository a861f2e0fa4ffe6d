import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket } from './TokenBucket.ts';

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate', () => {
    let t = 0;
    const bucket = new TokenBucket(10, 5, () => t);
    for (let i = 0; i < 5; i++) assert.equal(bucket.take(), true, `burst ${i}`);
    assert.equal(bucket.take(), false, 'empty after the burst');
    t += 100; // 0.1 s at 10/s = 1 token
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
    t += 10_000; // long idle refills only up to the burst
    let n = 0;
    while (bucket.take()) n++;
    assert.equal(n, 5);
  });
});
