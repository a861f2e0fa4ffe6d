import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RETRY_POLICY, nextRetryDelayMs } from './retryPolicy.ts';

test('the ceiling doubles per attempt from the base and is capped', () => {
  const top = () => 0.999999;
  assert.equal(nextRetryDelayMs(0, { random: top }), 499);
  assert.equal(nextRetryDelayMs(1, { random: top }), 999);
  assert.equal(nextRetryDelayMs(3, { random: top }), 3999);
  assert.equal(nextRetryDelayMs(20, { random: top }), DEFAULT_RETRY_POLICY.maxDelayMs - 1);
  assert.equal(nextRetryDelayMs(2, { random: top, baseDelayMs: 100, maxDelayMs: 250 }), 249);
});

test('full jitter: the delay is uniform between 0 and the ceiling', () => {
  assert.equal(nextRetryDelayMs(4, { random: () => 0 }), 0);
  assert.equal(nextRetryDelayMs(4, { random: () => 0.5 }), 4000);
  for (let i = 0; i < 200; i++) {
    const delay = nextRetryDelayMs(5)!;
    assert.ok(delay >= 0 && delay < 16_000, `delay ${delay} out of range`);
  }
});

test('gives up with null after maxAttempts, and for nonsense attempts', () => {
  assert.equal(nextRetryDelayMs(DEFAULT_RETRY_POLICY.maxAttempts), null);
  assert.notEqual(nextRetryDelayMs(DEFAULT_RETRY_POLICY.maxAttempts - 1), null);
  assert.equal(nextRetryDelayMs(3, { maxAttempts: 3 }), null);
  assert.equal(nextRetryDelayMs(-1), null);
  assert.equal(nextRetryDelayMs(Number.NaN), null);
  assert.notEqual(nextRetryDelayMs(1e9, { maxAttempts: Infinity }), null);
});
