/*
 * The WebSocket as the signaling channel sees it: the minimal interface (browser or `ws`), the close
 * codes the server uses, and small helpers that never throw.
 */
import { ParleyError } from '../errors.ts';
import type { SdkErrorCode } from '../errors.ts';

// Method syntax makes the parameter bivariant, so both the DOM WebSocket and the `ws` package fit.
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of the WebSocket API the SDK uses (the browser's, or the `ws` package in Node). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}

/** A WebSocket constructor: `window.WebSocket`, or `WebSocket` from the `ws` package. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Token refused: final, never retried. */
export const CLOSE_UNAUTHORIZED = 4401;
/** Protocol version refused: final. */
export const CLOSE_UNSUPPORTED_VERSION = 4400;
/** Policy violation (sustained flooding): retried, slowly. */
export const CLOSE_POLICY = 1008;
/** After a policy close (flooding), reconnection starts as if this many attempts had failed already. */
export const POLICY_ATTEMPT_FLOOR = 6;
/** The client closes on purpose. */
export const CLOSE_NORMAL = 1000;
/** The client gives up on a socket that stopped answering. */
export const CLOSE_DROPPED = 4000;

/** Does nothing (a handler that must not be null). */
export const noop = (): void => {};

/** The error a close code means when it is final, or null when the client should reconnect. */
export function finalCloseError(code: number): ParleyError | null {
  if (code === CLOSE_UNAUTHORIZED) return ParleyError.unauthorized();
  if (code === CLOSE_UNSUPPORTED_VERSION) {
    return new ParleyError('unsupported_version', 'the server does not speak this SDK protocol version');
  }
  return null;
}

/** Whether an `error` frame received during `auth` ends the channel for good. */
export function isFinalAuthError(code: SdkErrorCode): boolean {
  return code === 'unauthorized' || code === 'unsupported_version';
}

/** Sends; returns false instead of throwing when the socket is not open. */
export function sendQuietly(socket: WebSocketLike, data: string): boolean {
  try {
    socket.send(data);
    return true;
  } catch {
    return false;
  }
}

/** Closes; ignores implementations that refuse to close a socket in its current state. */
export function closeQuietly(socket: WebSocketLike, code: number): void {
  try {
    socket.close(code);
  } catch {
    // already closing, or still connecting in an implementation that refuses: nothing to do
  }
}

type OnlineTarget = { addEventListener?: (t: string, f: () => void) => void; removeEventListener?: (t: string, f: () => void) => void };

/** In a browser: calls `listener` when the network comes back. */
export function addOnlineListener(listener: () => void): void {
  const target = globalThis as OnlineTarget;
  if (typeof target.addEventListener === 'function' && typeof window !== 'undefined') {
    target.addEventListener('online', listener);
  }
}

/** Undoes {@link addOnlineListener}. */
export function removeOnlineListener(listener: () => void): void {
  const target = globalThis as OnlineTarget;
  if (typeof target.removeEventListener === 'function' && typeof window !== 'undefined') {
    target.removeEventListener('online', listener);
  }
}
