/**
 * Stable error codes carried by every `error` frame and every HTTP error body.
 * Codes never change meaning; messages are for humans and may change.
 */
export const ERROR_CODES = [
  /** No token, or a token that is expired, tampered or revoked. */
  'unauthorized',
  /** Authenticated, but this identity may not do this (e.g. another visitor's conversation). */
  'forbidden',
  /** Not JSON, not a known frame type, or fields of the wrong shape. */
  'invalid_frame',
  /** A frame or a chat message over the size limit. */
  'too_large',
  /** Too many frames or requests; slow down. */
  'rate_limited',
  /** The thing named does not exist (or is not visible to this identity). */
  'not_found',
  /** The request conflicts with the current state (e.g. closing a closed conversation). */
  'conflict',
  /** The client speaks a protocol version this server does not. */
  'unsupported_version',
  /** The server is shutting down or a dependency is down; retry later. */
  'unavailable',
  /** The client gave up waiting for an answer. */
  'timeout',
  /** Something broke on the server; it has been logged. */
  'internal',
  /** A call is full for its media topology (peer-to-peer carries up to 4); an SFU (JANUS_URL) carries more. */
  'capacity',
  /** A guest invitation link is past its expiry; ask for a new one. */
  'invite_expired',
  /** A guest invitation link was used already; each link admits one person. */
  'invite_used',
  /** Someone else in the call shares a screen already: one sharer at a time; ask them to stop first. */
  'screen_share_busy',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Body of every error, on the WebSocket (`error` frame) and over HTTP (JSON body). */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** Maps an error code to the HTTP status the server answers with. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'unauthorized':
      return 401;
    case 'forbidden':
      return 403;
    case 'invalid_frame':
      return 400;
    case 'too_large':
      return 413;
    case 'rate_limited':
      return 429;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'unsupported_version':
      return 400;
    case 'unavailable':
      return 503;
    case 'timeout':
      return 504;
    case 'internal':
      return 500;
    case 'capacity':
    case 'screen_share_busy':
      return 409;
    case 'invite_expired':
    case 'invite_used':
      return 410;
  }
}
