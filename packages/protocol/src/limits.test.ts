import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkMessageText, checkName, isBlank, LIMITS, loneSurrogateAt, nameKey } from './limits.ts';

describe('text rules', () => {
  const cases: Array<[string, string, string | null]> = [
    ['plain text', 'hello', null],
    ['a surrogate pair (emoji)', 'hi 😀', null],
    ['at the limit', 'a'.repeat(LIMITS.maxMessageChars), null],
    ['emoji counted as two code units, at the limit', '😀'.repeat(LIMITS.maxMessageChars / 2), null],
    ['one code unit over', 'a'.repeat(LIMITS.maxMessageChars + 1), 'too_large'],
    ['lone high surrogates', '\ud800'.repeat(4000), 'invalid_frame'],
    ['a lone low surrogate', 'ok \udc00', 'invalid_frame'],
    ['a reversed pair', '\ude00\ud83d', 'invalid_frame'],
    ['a high surrogate at the end', 'x\ud83d', 'invalid_frame'],
    ['empty', '', 'invalid_frame'],
    ['white space', ' \n\t ', 'invalid_frame'],
    ['zero-width spaces', '\u200b\u200b\u200b', 'invalid_frame'],
    ['joiners, word joiner, BOM', '\u200c\u200d\u2060\ufeff', 'invalid_frame'],
    ['invisible mixed with white space', ' \u200b \u00ad \u180e ', 'invalid_frame'],
    ['zero-width with one letter', '\u200ba\u200b', null],
    ['a NUL among visible text', 'a\u0000b', 'invalid_frame'],
  ];
  for (const [name, text, expected] of cases) {
    test(`message: ${name} → ${expected ?? 'ok'}`, () => assert.equal(checkMessageText(text)?.code ?? null, expected));
  }
  test('every refusal names its rule and the limit', () => {
    assert.match(checkMessageText('a'.repeat(4001))?.message ?? '', /4001 UTF-16 code units; the limit is 4000/);
    assert.match(checkMessageText('\ud800')?.message ?? '', /lone surrogate at index 0/);
  });
  test('names follow the same rules with their own limit', () => {
    assert.equal(checkName('Ann'), null);
    assert.equal(checkName('a'.repeat(LIMITS.maxNameChars + 1))?.code, 'too_large');
    assert.equal(checkName('\ud800Ann')?.code, 'invalid_frame');
    assert.equal(checkName('\u200b')?.code, 'invalid_frame');
    assert.match(checkName('Ann\u0000')?.message ?? '', /name holds U\+0000 \(NUL\) at index 3/);
  });
  test('loneSurrogateAt and isBlank', () => {
    assert.equal(loneSurrogateAt('a😀b'), -1);
    assert.equal(loneSurrogateAt('a😀\ud800'), 3);
    assert.equal(isBlank('\ufeff'), true);
    assert.equal(isBlank('·'), false);
  });
  test('nameKey: case, white space, width and invisible characters do not make another name', () => {
    const key = nameKey('Ann Agent');
    for (const lookalike of ['ann agent', ' ANN  AGENT ', 'Ａｎｎ Ａｇｅｎｔ', 'Ann\u200bAgent', 'AnnAgent', 'Ann\u00a0Agent']) {
      assert.equal(nameKey(lookalike), key, lookalike);
    }
    assert.notEqual(nameKey('Ann Agentt'), key);
  });
});
