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
  /** Longest chat message, in characters (UTF-16 code units, as `String#length`). */
  maxMessageChars: 4000,
  /** Longest display name. */
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

/** Checks a chat text against the limits; returns the failure, or null when it is fine. */
export function checkMessageText(text: string): { ok: false; code: ErrorCode; message: string } | null {
  if (text.length > LIMITS.maxMessageChars) {
    return {
      ok: false,
      code: 'too_large',
      message: `message is ${text.length} characters; the limit is ${LIMITS.maxMessageChars}`,
    };
  }
  if (text.trim().length === 0) return { ok: false, code: 'invalid_frame', message: 'message text is empty' };
  return null;
}
