import { HttpClient, serverAddress, type FetchFunction, type ServerAddress } from './http.ts';
import type { CallOptions } from './call/callOptions.ts';
import type { RetryPolicy } from './signaling/retryPolicy.ts';
import type { WebSocketConstructor } from './signaling/SignalingChannel.ts';
import { defaultStorage, type KeyValueStorage } from './storage.ts';

/** Options shared by `connectVisitor` and `connectAgent`. */
export interface ConnectOptions {
  /** The Parley server, e.g. `https://chat.example.com`. */
  server: string;
  /** WebSocket implementation. Default: the global `WebSocket` (pass the `ws` package's in Node). */
  WebSocket?: WebSocketConstructor;
  /** Where identity and unsent messages are kept. Default: `localStorage` when usable, else memory. */
  storage?: KeyValueStorage;
  /** `fetch` implementation for the HTTP API. Default: the global `fetch`. */
  fetch?: FetchFunction;
  /** How long a request waits for its answer. Default 15 s. */
  requestTimeoutMs?: number;
  /** Liveness ping interval; 0 disables. Default 25 s. */
  heartbeatIntervalMs?: number;
  /** Reconnection backoff. Default: exponential with full jitter, capped at 30 s (see `nextRetryDelayMs`). */
  retryPolicy?: RetryPolicy;
  /** Call (media) settings: timings and, outside browsers, the media implementation. Defaults suit browsers. */
  call?: CallOptions;
}

/** The options resolved to the things they stand for. */
export interface ConnectEnvironment {
  address: ServerAddress;
  storage: KeyValueStorage;
  http: HttpClient;
}

/** Resolves defaults. @throws ParleyError `invalid_frame` for a bad `server`. */
export function resolveEnvironment(options: ConnectOptions): ConnectEnvironment {
  const address = serverAddress(options.server);
  return {
    address,
    storage: options.storage ?? defaultStorage(),
    http: new HttpClient(address.base, options.fetch),
  };
}
