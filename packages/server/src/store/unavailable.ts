import { ParleyServerError } from '../errors.ts';
import type { Store } from './Store.ts';

/*
 * When the database goes away. Every failure of the store that says "the database cannot be reached or cannot
 * answer now" — as opposed to "this request is wrong" — becomes one coded error, `unavailable`, which the
 * WebSocket gateway and the HTTP API already answer with (HTTP 503). Its message names the kind of failure in
 * fixed words, never the driver's text, which may carry host names.
 */

/** Thrown by a guarded store (see {@link guardStore}) when the database is unreachable or cannot answer now. */
export class StoreUnavailableError extends ParleyServerError {
  constructor(
    /** What went wrong, in fixed words: `connection refused`, `connection lost`, … (safe to show anyone). */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('unavailable', `the database is unavailable (${reason}); try again`, options);
  }
}

/** Node's socket error codes, by what they mean here. */
const SOCKET_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection lost',
  EPIPE: 'connection lost',
  ETIMEDOUT: 'timed out connecting',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'host unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
};

/** SQLSTATE codes (or their class, the first two characters) that say the server cannot serve now. */
const SQLSTATE_REASONS: Readonly<Record<string, string>> = {
  '08': 'connection lost', // connection exception
  '57P01': 'the database server is shutting down', // admin_shutdown
  '57P02': 'the database server crashed', // crash_shutdown
  '57P03': 'the database server is not accepting connections yet', // cannot_connect_now
  '57014': 'query timed out', // query_canceled (statement_timeout)
  '25P03': 'connection lost', // idle_in_transaction_session_timeout
  '53': 'the database server is out of resources', // insufficient_resources (too many connections, disk full, …)
};

/** node-postgres and pg-pool report these without a code. */
const DRIVER_MESSAGES: ReadonlyArray<[RegExp, string]> = [
  [/timeout exceeded when trying to connect|connection timeout|timeout expired/i, 'timed out connecting'],
  [/query read timeout/i, 'query timed out'],
  [/connection terminated|not queryable/i, 'connection lost'],
];

/**
 * Why `err` (or an error in its `cause` chain) says the database is unavailable, in fixed words; null when it
 * is some other failure (a constraint, a bug, a closed store).
 */
export function unavailableReason(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof StoreUnavailableError) return e.reason;
    const code = 'code' in e && typeof e.code === 'string' ? e.code : undefined;
    if (code !== undefined) {
      const reason = SOCKET_CODES[code] ?? SQLSTATE_REASONS[code] ?? (/^[0-9A-Z]{5}$/.test(code) ? SQLSTATE_REASONS[code.slice(0, 2)] : undefined);
      if (reason !== undefined) return reason;
      if (code === 'SQLITE_BUSY') return 'the database is busy';
    }
    // Connecting to a name with several addresses fails with each of them.
    if (e instanceof AggregateError) {
      const inner = e.errors.map(unavailableReason).find((r) => r !== null);
      if (inner !== undefined) return inner;
    }
    const match = DRIVER_MESSAGES.find(([pattern]) => pattern.test(e.message));
    if (match !== undefined) return match[1];
  }
  return null;
}

/** `err` as a StoreUnavailableError when it says the database is unavailable; null otherwise. */
export function asStoreUnavailable(err: unknown): StoreUnavailableError | null {
  if (err instanceof StoreUnavailableError) return err;
  const reason = unavailableReason(err);
  return reason === null ? null : new StoreUnavailableError(reason, { cause: err });
}

/**
 * The same store, whose methods reject with {@link StoreUnavailableError} where the database could not be
 * reached or could not answer, after telling `onUnavailable`. Every other result and error passes unchanged.
 * The domain and the edges get coded errors without knowing the driver; the health monitor hears of every
 * such failure, wherever it happened.
 */
export function guardStore<S extends Store>(store: S, onUnavailable: (err: StoreUnavailableError) => void): S {
  const translate = (err: unknown): unknown => {
    const unavailable = asStoreUnavailable(err);
    if (unavailable === null) return err;
    onUnavailable(unavailable);
    return unavailable;
  };
  /** One wrapper per method, made on first use. */
  const guarded = new WeakMap<object, unknown>();
  return new Proxy(store, {
    get(target, property) {
      // The target is `this` of its own members, so its private fields work.
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      let wrapper = guarded.get(method);
      if (wrapper === undefined) {
        wrapper = (...args: unknown[]): unknown => {
          let result: unknown;
          try {
            result = method.apply(target, args);
          } catch (err) {
            throw translate(err);
          }
          return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(translate(err))) : result;
        };
        guarded.set(method, wrapper);
      }
      return wrapper;
    },
  });
}
