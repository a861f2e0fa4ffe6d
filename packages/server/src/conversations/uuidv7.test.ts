import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uuidv7 } from './uuidv7.ts';

describe('uuidv7', () => {
  it('is a version 7 RFC 9562 UUID carrying the time', () => {
    const id = uuidv7(0x0123456789ab);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(id.replace(/-/g, '').slice(0, 12), '0123456789ab');
  });

  it('sorts by time and does not repeat', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => uuidv7(1_700_000_000_000 + i));
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(Array.from({ length: 10_000 }, () => uuidv7())).size, 10_000);
  });
});
