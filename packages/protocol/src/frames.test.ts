import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIMITS, parseClientFrame } from './index.ts';

const parse = (value: unknown) => {
  const raw = typeof value === 'string' ? value : JSON.stringify(value);
  return parseClientFrame(raw, Buffer.byteLength(raw));
};

describe('parseClientFrame', () => {
  it('accepts each well-formed frame', () => {
    const good = [
      { type: 'auth', v: 1, token: 't' },
      { type: 'chat.start', id: '1' },
      { type: 'chat.start', id: '1', text: 'hi', clientId: 'c1' },
      { type: 'message.send', id: '2', sessionID: 's', clientId: 'c', text: 'hello' },
      { type: 'typing', sessionID: 's', typing: true },
      { type: 'conversation.close', id: '3', sessionID: 's' },
      { type: 'conversation.sync', id: '4', sessionID: 's', afterSeq: 0 },
      { type: 'queue.list', id: '5' },
      { type: 'conversation.accept', id: '6', sessionID: 's' },
      { type: 'presence.set', id: '7', presence: 'away' },
      { type: 'agents.list', id: '8' },
      { type: 'ping', id: '9' },
    ];
    for (const frame of good) {
      const result = parse(frame);
      assert.equal(result.ok, true, `${frame.type}: ${JSON.stringify(result)}`);
    }
  });

  it('rejects malformed JSON as invalid_frame', () => {
    const result = parse('{"type":');
    assert.deepEqual(result.ok ? null : result.code, 'invalid_frame');
  });

  it('rejects unknown types and keeps the request id for the answer', () => {
    const result = parse({ type: 'nuke', id: 'r1' });
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.code, 'invalid_frame');
      assert.equal(result.id, 'r1');
    }
  });

  it('refuses U+0000 in any string of a frame (PostgreSQL cannot store it), keeping the request id', () => {
    for (const bad of [
      { type: 'message.send', id: 'r1', sessionID: 's\u0000', clientId: 'c1', text: 'hi' },
      { type: 'message.send', id: 'r1', sessionID: 's', clientId: 'c\u0000', text: 'hi' },
      { type: 'chat.start', id: 'r1', text: 'hello \u0000 there' },
    ]) {
      const result = parse(bad);
      assert.deepEqual(result.ok ? 'ok' : [result.code, result.id, /U\+0000/.test(result.message)], ['invalid_frame', 'r1', true], JSON.stringify(bad));
    }
    const escaped = parse({ type: 'message.send', id: 'r1', sessionID: 's', clientId: 'c1', text: 'a backslash and u0000: \\u0000' });
    assert.equal(escaped.ok, true, 'the six characters \\u0000 are text, not NUL');
  });

  it('rejects unexpected fields and wrong types', () => {
    for (const bad of [
      { type: 'typing', sessionID: 's', typing: 'yes' },
      { type: 'ping', id: '1', extra: true },
      { type: 'presence.set', id: '1', presence: 'offline' },
      { type: 'conversation.sync', id: '1', sessionID: 's', afterSeq: -1 },
      [1, 2, 3],
      null,
      42,
    ]) {
      const result = parse(bad);
      assert.equal(result.ok ? 'ok' : result.code, 'invalid_frame', JSON.stringify(bad));
    }
  });

  it('refuses frames over the byte limit as too_large without parsing them', () => {
    const raw = JSON.stringify({ type: 'ping', id: '1', pad: 'x'.repeat(LIMITS.maxFrameBytes) });
    const result = parseClientFrame(raw, Buffer.byteLength(raw));
    assert.equal(result.ok ? 'ok' : result.code, 'too_large');
  });

  it('refuses chat texts over the character limit as too_large, at the limit as fine', () => {
    const at = parse({ type: 'message.send', id: '1', sessionID: 's', clientId: 'c', text: 'a'.repeat(LIMITS.maxMessageChars) });
    assert.equal(at.ok, true);
    const over = parse({ type: 'message.send', id: '1', sessionID: 's', clientId: 'c', text: 'a'.repeat(LIMITS.maxMessageChars + 1) });
    assert.equal(over.ok ? 'ok' : over.code, 'too_large');
    if (!over.ok) assert.equal(over.id, '1');
    const opening = parse({ type: 'chat.start', id: '1', text: 'a'.repeat(LIMITS.maxMessageChars + 1) });
    assert.equal(opening.ok ? 'ok' : opening.code, 'too_large');
  });

  it('refuses empty or blank texts', () => {
    const blank = parse({ type: 'message.send', id: '1', sessionID: 's', clientId: 'c', text: '   ' });
    assert.equal(blank.ok ? 'ok' : blank.code, 'invalid_frame');
  });
});
