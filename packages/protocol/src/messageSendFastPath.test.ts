import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientFrameSchema, parseClientFrame } from './frames.ts';
import { LIMITS, checkMessageText, nulProblem } from './limits.ts';

/** What the general path (the schema, then the text rule) says of a frame: ok with the frame, or the refusal's code. */
function bySchema(raw: string): { ok: true; frame: unknown } | { ok: false; code: string } {
  const json: unknown = JSON.parse(raw);
  const strings: string[] = [];
  JSON.parse(raw, (_key, value: unknown) => (typeof value === 'string' && strings.push(value), value));
  if (strings.some((s) => nulProblem('', s) !== null)) return { ok: false, code: 'invalid_frame' };
  const parsed = ClientFrameSchema.safeParse(json);
  if (!parsed.success) return { ok: false, code: 'invalid_frame' };
  if (parsed.data.type === 'message.send') {
    const problem = checkMessageText(parsed.data.text);
    if (problem) return { ok: false, code: problem.code };
  }
  return { ok: true, frame: parsed.data };
}

const good = { type: 'message.send', id: 'r1', sessionID: 's1', clientId: 'c1', text: 'Hello there' };

describe('parseClientFrame: the message.send fast path', () => {
  it('agrees with the schema on well-formed and faulty message.send frames', () => {
    const long = 'x'.repeat(LIMITS.maxIdChars + 1);
    const raws = [
      JSON.stringify(good),
      '{"text":"Hello","clientId":"c1","sessionID":"s1","id":"r1","type":"message.send"}',
      JSON.stringify({ ...good, extra: 1 }),
      JSON.stringify({ ...good, id: 7 }),
      JSON.stringify({ ...good, id: '' }),
      JSON.stringify({ ...good, clientId: long }),
      JSON.stringify({ ...good, sessionID: 's'.repeat(65) }),
      JSON.stringify({ ...good, sessionID: 's'.repeat(64) }),
      JSON.stringify({ ...good, text: 5 }),
      JSON.stringify({ ...good, text: '   ' }),
      JSON.stringify({ ...good, text: '\u200b\u00a0' }),
      JSON.stringify({ ...good, text: 'a\u0000b' }),
      JSON.stringify({ ...good, clientId: 'c\u0000' }),
      JSON.stringify({ ...good, text: 'lone \ud800 surrogate' }),
      JSON.stringify({ ...good, text: 'a'.repeat(LIMITS.maxMessageChars + 1) }),
      JSON.stringify({ ...good, text: '   ok after spaces' }),
      '{"type":"message.send","id":"r1","sessionID":"s1","clientId":"c1","text":"hi","__proto__":{"x":1}}',
      JSON.stringify({ type: 'message.send', id: 'r1', sessionID: 's1', text: 'missing clientId' }),
      '["message.send"]',
    ];
    for (const raw of raws) {
      const fast = parseClientFrame(raw, Buffer.byteLength(raw));
      const expected = bySchema(raw);
      assert.equal(fast.ok, expected.ok, raw.slice(0, 120));
      if (fast.ok && expected.ok) assert.deepEqual(fast.frame, expected.frame, raw.slice(0, 120));
      if (!fast.ok && !expected.ok) assert.equal(fast.code, expected.code, raw.slice(0, 120));
    }
  });

  it('keeps the request id on a refused text, and returns exactly the five fields', () => {
    const blank = parseClientFrame(JSON.stringify({ ...good, text: ' ' }), 80);
    assert.deepEqual(blank.ok ? null : [blank.code, blank.id], ['invalid_frame', 'r1']);
    const ok = parseClientFrame(JSON.stringify(good), 80);
    assert.deepEqual(ok.ok ? ok.frame : null, good);
  });
});

describe('parseClientFrame: frames nested too deeply', () => {
  it('refuses them as invalid_frame instead of throwing', () => {
    const raw = `{"type":"ping","id":"1","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const result = parseClientFrame(raw, Buffer.byteLength(raw));
    assert.equal(result.ok ? 'ok' : result.code, 'invalid_frame');
  });
});
