/*
 * Limits shared by server and SDK, and the chat-text rule built on them. No zod: the browser SDK imports
 * this file as `@parley/protocol/limits`.
 */
import type { ErrorCode } from './errors.ts';

/** Version of the wire protocol. Sent by the client in `auth` and echoed by the server in `ready`. */
export const PROTOCOL_VERSION = 2;

/** Hard limits shared by server and SDK. */
export const LIMITS = {
  /** Largest frame the server reads; larger ones are answered with `too_large`. */
  maxFrameBytes: 64 * 1024,
  /**
   * Longest chat message, in UTF-16 code units (`String#length`): the unit every limit of text here is counted
   * in. An emoji outside the BMP counts 2. Text must be well-formed UTF-16 (no lone surrogate), so what is
   * acknowledged is exactly what the store keeps and replays.
   */
  maxMessageChars: 4000,
  /** Longest display name, in UTF-16 code units, after trimming. */
  maxNameChars: 80,
  /** Longest client-made id (message `clientId`, request `id`). */
  maxIdChars: 64,
  /** Most messages returned by one sync or history page. */
  maxPageSize: 500,
  /** Most queue entries one `queue.list` page returns (and the default page is 50). */
  maxQueuePage: 100,
  /** Queue entries cut their fields to these lengths (UTF-16 code units, `…` included): first message, page URL, user agent. */
  queueFirstMessageChars: 120,
  queuePageChars: 200,
  queueUserAgentChars: 120,
  /** Most removed sessionIDs one `queue.updated` frame carries. */
  maxQueueRemovedPerFrame: 50,
  /** Most participants of a peer-to-peer (mesh) call: each page sends its media to every other one. */
  maxMeshParticipants: 4,
} as const;

/** A text refused by one of the rules below: its code, and a message naming the rule. */
export interface TextProblem {
  ok: false;
  code: ErrorCode;
  message: string;
}

/**
 * The index of the first lone surrogate of `text` (a high surrogate not followed by a low one, or a low one
 * not preceded by a high one), or -1 when the text is well-formed UTF-16. Such text cannot be stored as UTF-8:
 * it would come back as U+FFFD, longer and different from what was acknowledged.
 */
export function loneSurrogateAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return i;
    } else if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

/** White space, control characters and default-ignorable code points (ZWSP, ZWJ/ZWNJ, BOM, word joiner, …). */
const INVISIBLE = /[\p{White_Space}\p{Cc}\p{Default_Ignorable_Code_Point}]/gu;

/** True when `text` shows nothing: it is empty or made only of white space and invisible characters. */
export function isBlank(text: string): boolean {
  // Most texts show a printable ASCII character early on (none of them is white space or invisible).
  for (let i = 0; i < text.length && i < 64; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x20 && c < 0x7f) return false;
  }
  return text.replace(INVISIBLE, '').length === 0;
}

/**
 * Why a string holding U+0000 (NUL) is refused: PostgreSQL's text cannot store it, so it would be acknowledged on
 * SQLite and fail on PostgreSQL; refused everywhere, both stores take the same strings.
 */
export function nulProblem(what: string, text: string): TextProblem | null {
  const at = text.indexOf('\u0000');
  return at === -1 ? null : { ok: false, code: 'invalid_frame', message: `${what} holds U+0000 (NUL) at index ${at}, which cannot be stored` };
}

function textProblem(what: string, text: string, max: number): TextProblem | null {
  const lone = loneSurrogateAt(text);
  if (lone !== -1) return { ok: false, code: 'invalid_frame', message: `${what} is not well-formed UTF-16: a lone surrogate at index ${lone}` };
  const nul = nulProblem(what, text);
  if (nul) return nul;
  if (text.length > max) {
    return { ok: false, code: 'too_large', message: `${what} is ${text.length} UTF-16 code units; the limit is ${max}` };
  }
  if (isBlank(text)) return { ok: false, code: 'invalid_frame', message: `${what} is empty (only white space or invisible characters)` };
  return null;
}

/**
 * Checks a chat text: well-formed UTF-16, at most {@link LIMITS.maxMessageChars} code units, and something
 * visible in it. Returns the failure, or null when it is fine.
 */
export function checkMessageText(text: string): TextProblem | null {
  return textProblem('message', text, LIMITS.maxMessageChars);
}

/** Checks a display name (already trimmed) like a message, against {@link LIMITS.maxNameChars}. */
export function checkName(name: string): TextProblem | null {
  return textProblem('name', name, LIMITS.maxNameChars);
}

/**
 * The form of a name two names are compared in: NFKC, case-folded, without white space or invisible
 * characters. "Ann Agent", "ann  agent", "Ａｎｎ Ａｇｅｎｔ" and "Ann\u200bAgent" are one name.
 */
export function nameKey(name: string): string {
  return name.normalize('NFKC').toLowerCase().replace(INVISIBLE, '');
}
