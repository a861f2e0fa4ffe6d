import type { ErrorCode } from '@parley/protocol';

/** An error the server reports to the client with a stable code. Anything else is `internal`. */
export class ParleyServerError extends Error {
  override readonly name = 'ParleyServerError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static forbidden(message = 'you are not allowed to do this') {
    return new ParleyServerError('forbidden', message);
  }
  static notFound(what: string) {
    return new ParleyServerError('not_found', `${what} not found`);
  }
  static conflict(message: string) {
    return new ParleyServerError('conflict', message);
  }
  static unauthorized(message: string) {
    return new ParleyServerError('unauthorized', message);
  }
  static invalid(message: string) {
    return new ParleyServerError('invalid_frame', message);
  }
  static rateLimited(message = 'too many requests; slow down') {
    return new ParleyServerError('rate_limited', message);
  }
  static unavailable(message: string) {
    return new ParleyServerError('unavailable', message);
  }
}
