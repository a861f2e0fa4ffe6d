import type { ErrorBody, ErrorCode } from './wire.ts';

/**
 * The codes a {@link ParleyError} carries: the protocol's (what the server answers), plus the few the SDK
 * finds in the browser itself and never sends: `device_not_found` (no camera, microphone or speaker with that
 * id) and `not_supported` (this browser cannot do it, e.g. choose a speaker).
 */
export type SdkErrorCode = ErrorCode | 'device_not_found' | 'not_supported';

/** Codes after which retrying the same thing cannot succeed. */
const FINAL_CODES: ReadonlySet<SdkErrorCode> = new Set<SdkErrorCode>([
  'too_large',
  'forbidden',
  'conflict',
  'invalid_frame',
  'not_found',
  'device_not_found',
  'not_supported',
]);

/**
 * Every error the SDK throws or rejects with. `code` is one of the protocol's stable error codes
 * (`unauthorized`, `forbidden`, `conflict`, `timeout`, `unavailable`, …); `message` is for humans.
 *
 * @example
 * ```ts
 * try {
 *   await contact.sendMessage(text);
 * } catch (err) {
 *   if (err instanceof ParleyError && err.code === 'too_large') showTooLong();
 * }
 * ```
 */
export class ParleyError extends Error {
  /** Stable, machine-readable reason. */
  readonly code: SdkErrorCode;
  /** The underlying failure (a network error, …), when there is one. */
  override readonly cause?: unknown;

  constructor(code: SdkErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message);
    this.name = 'ParleyError';
    this.code = code;
    if (options.cause !== undefined) this.cause = options.cause;
  }

  /** True when trying the same thing again cannot succeed (too large, forbidden, conflict, …). */
  get final(): boolean {
    return FINAL_CODES.has(this.code);
  }

  /** An error as the server described it (an `error` frame or an HTTP error body). */
  static fromBody(body: ErrorBody): ParleyError {
    return new ParleyError(body.code, body.message);
  }

  /** The server refused the credentials (token expired, revoked, or wrong password). */
  static unauthorized(message = 'the server refused the credentials'): ParleyError {
    return new ParleyError('unauthorized', message);
  }

  /** No answer in time. */
  static timeout(message: string): ParleyError {
    return new ParleyError('timeout', message);
  }

  /** The server cannot be reached now (no connection, network failure, shutdown). */
  static unavailable(message: string, cause?: unknown): ParleyError {
    return new ParleyError('unavailable', message, { cause });
  }

  /** The caller passed something the protocol rejects (e.g. an empty message). */
  static invalid(message: string): ParleyError {
    return new ParleyError('invalid_frame', message);
  }

  /** No camera, microphone or speaker with this id (unplugged, or never there). */
  static deviceNotFound(message: string, cause?: unknown): ParleyError {
    return new ParleyError('device_not_found', message, { cause });
  }

  /** This browser cannot do what was asked. */
  static notSupported(message: string): ParleyError {
    return new ParleyError('not_supported', message);
  }

  /** Wraps anything thrown into a ParleyError (kept as is when it already is one). */
  static from(err: unknown, fallback: SdkErrorCode = 'internal'): ParleyError {
    if (err instanceof ParleyError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new ParleyError(fallback, message, { cause: err });
  }
}
