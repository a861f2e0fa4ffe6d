import { ParleyError } from '../errors.ts';
import { TypedEmitter } from '../TypedEmitter.ts';
import type {
  FireAndForgetFrame,
  PushFrame,
  ReadyFrame,
  RequestBody,
  RequestResults,
  RequestType,
  ServerFrame,
  VisitorInfo,
} from '../wire.ts';
import { PROTOCOL_VERSION } from '@parley/protocol/limits';
import { PendingRequests } from './PendingRequests.ts';
import { nextRetryDelayMs, type RetryPolicy } from './retryPolicy.ts';
import {
  addOnlineListener,
  CLOSE_DROPPED,
  CLOSE_NORMAL,
  CLOSE_POLICY,
  closeQuietly,
  finalCloseError,
  isFinalAuthError,
  noop,
  POLICY_ATTEMPT_FLOOR,
  removeOnlineListener,
  sendQuietly,
  type WebSocketConstructor,
  type WebSocketLike,
} from './socket.ts';

export type { WebSocketConstructor, WebSocketLike } from './socket.ts';

/** How long {@link SignalingChannel.verify} waits for its ping: far above a live socket's round trip, well under the heartbeat's. */
const VERIFY_TIMEOUT_MS = 600;
/**
 * While this page is in a call, no reconnection waits longer than this (a random delay up to it): the server holds
 * a participant's place for its grace period only (20 s by default), so a restart that outlasts a few growing
 * backoff steps must not make a page come back after it. Refused attempts cost the server next to nothing.
 */
export const IN_CALL_RETRY_CEILING_MS = 2000;

/** Where the connection to the server stands. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** How a {@link SignalingChannel} connects and behaves. */
export interface SignalingChannelOptions {
  /** `ws(s)://host/ws`. */
  url: string;
  /** The visitor or agent token sent in `auth`. */
  token: string;
  /** Sent with `auth` (visitors: where the page is). */
  info?: VisitorInfo;
  /** Default: the global `WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** How long a request waits for its answer (including time spent reconnecting). Default 15 s. */
  requestTimeoutMs?: number;
  /** How long opening the socket and authenticating may take. Default 10 s. */
  connectTimeoutMs?: number;
  /** Interval of the client's liveness ping; a ping left unanswered drops the socket. 0 disables. Default 25 s. */
  heartbeatIntervalMs?: number;
  /** Reconnection backoff. Default {@link nextRetryDelayMs}. */
  retryPolicy?: RetryPolicy;
  /** Whether this page is in a call now: its reconnections then wait at most {@link IN_CALL_RETRY_CEILING_MS}. */
  inCall?: () => boolean;
}

/** Events of a {@link SignalingChannel}. */
export interface SignalingChannelEvents {
  /** The connection state changed. */
  connectionStateChanged: [state: ConnectionState];
  /** The server accepted `auth`; `reconnected` is false for the first connection only. */
  ready: [ready: ReadyFrame, info: { reconnected: boolean }];
  /** A frame the server sent on its own (a message, typing, a conversation change, an unanswered error, …). */
  frame: [frame: PushFrame];
  /** The socket dropped and a new attempt is scheduled. */
  reconnectScheduled: [info: { attempt: number; delayMs: number; closeCode: number }];
  /** The channel stopped for good: `null` when the client disconnected, else why (e.g. `unauthorized`). */
  disconnected: [error: ParleyError | null];
}

/**
 * The one WebSocket to the server: opens it, authenticates with `auth` as its first frame,
 * correlates requests with their `result`/`error` answers, hands pushed frames out as events, and
 * reconnects with backoff and jitter when the socket drops (honouring `goaway.retryAfterMs`).
 * A close with 4401 (unauthorized) or 4400 (unsupported version) is final and never retried.
 *
 * @example
 * ```ts
 * const channel = new SignalingChannel({ url: 'wss://chat.example.com/ws', token });
 * const ready = await channel.connect();
 * const { queue } = await channel.request('queue.list', {});
 * ```
 */
export class SignalingChannel extends TypedEmitter<SignalingChannelEvents> {
  private readonly options: SignalingChannelOptions;
  private readonly WebSocketCtor: WebSocketConstructor | undefined;
  private socket: WebSocketLike | null = null;
  private socketReady = false;
  private stateValue: ConnectionState = 'disconnected';
  private everReady = false;
  private stopped = false;
  private attempt = 0;
  private goAwayDelayMs = 0;
  private authError: ParleyError | null = null;
  private readonly pending = new PendingRequests();
  private connectWaiter: { resolve: (ready: ReadyFrame) => void; reject: (err: ParleyError) => void } | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeatInFlight = false;
  private verifying: Promise<boolean> | null = null;

  constructor(options: SignalingChannelOptions) {
    super();
    this.options = options;
    this.WebSocketCtor =
      options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? undefined;
  }

  /** The current connection state. */
  get state(): ConnectionState {
    return this.stateValue;
  }

  /**
   * Opens the connection and authenticates. Resolves with the server's `ready`.
   * @throws ParleyError `unauthorized` (token refused), `unsupported_version`, `unavailable`
   *   (server unreachable) or `timeout`. A failed first connection is not retried.
   */
  connect(): Promise<ReadyFrame> {
    if (this.stateValue !== 'disconnected') {
      return Promise.reject(new ParleyError('conflict', 'the channel is already connected or connecting'));
    }
    if (!this.WebSocketCtor) {
      return Promise.reject(
        ParleyError.unavailable('no WebSocket implementation here; pass the WebSocket option'),
      );
    }
    this.stopped = false;
    this.everReady = false;
    this.attempt = 0;
    addOnlineListener(this.onBrowserOnline);
    return new Promise((resolve, reject) => {
      this.connectWaiter = { resolve, reject };
      this.setState('connecting');
      this.openSocket();
    });
  }

  /**
   * Sends a request and resolves with its `result` data. While the channel is reconnecting the
   * request waits (unless `waitForConnection` is false) within its timeout.
   * @throws ParleyError with the server's code, `timeout` when no answer came in time, or
   *   `unavailable` when the socket dropped before the answer (the request may or may not have been applied).
   */
  request<T extends RequestType>(
    type: T,
    body: RequestBody<T>,
    options: { timeoutMs?: number; waitForConnection?: boolean } = {},
  ): Promise<RequestResults[T]> {
    const connected = this.stateValue === 'connected';
    if (this.stateValue === 'disconnected' || (!connected && options.waitForConnection === false)) {
      return Promise.reject(ParleyError.unavailable(`cannot send ${type}: not connected`));
    }
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 15_000;
    const { id, answer } = this.pending.add<RequestResults[T]>(type, body, timeoutMs);
    if (connected) this.transmit(id);
    return answer;
  }

  /** Sends a frame that expects no answer. Returns false (and sends nothing) when not connected. */
  send(frame: FireAndForgetFrame): boolean {
    if (this.stateValue !== 'connected' || !this.socket) return false;
    return sendQuietly(this.socket, JSON.stringify(frame));
  }

  /** Closes the connection for good. Pending requests reject with `unavailable`. */
  disconnect(): void {
    if (this.stateValue === 'disconnected' && !this.socket) return;
    this.stopped = true;
    const socket = this.socket;
    this.detach();
    if (socket) closeQuietly(socket, CLOSE_NORMAL);
    this.finish(null);
  }

  /**
   * Checks at once that the socket still reaches the server, for a caller that saw the network change under it
   * (a call's media stopped arriving): a ping answered within `timeoutMs` resolves true. Unanswered, the socket
   * is taken as dead (a new address leaves it stuck, and the heartbeat would notice only after tens of seconds):
   * it is replaced at once, without waiting out the backoff, and the promise resolves false. While reconnecting,
   * the next attempt is made now and it resolves false. Never rejects.
   */
  verify(timeoutMs = VERIFY_TIMEOUT_MS): Promise<boolean> {
    if (this.stateValue === 'reconnecting') {
      this.reconnectNow();
      return Promise.resolve(false);
    }
    if (this.stateValue !== 'connected' || !this.socket) return Promise.resolve(false);
    if (this.verifying) return this.verifying;
    const socket = this.socket;
    const check = this.request('ping', {}, { timeoutMs, waitForConnection: false }).then(
      () => true,
      (err: ParleyError) => {
        if (err.code === 'timeout' && socket === this.socket) {
          this.dropSocket(err);
          this.reconnectNow();
        }
        return false;
      },
    );
    this.verifying = check.finally(() => {
      this.verifying = null;
    });
    return this.verifying;
  }

  // ------------------------------------------------------------------ socket lifecycle

  private openSocket(): void {
    const Ctor = this.WebSocketCtor;
    if (!Ctor || this.stopped) return;
    let socket: WebSocketLike;
    try {
      socket = new Ctor(this.options.url);
    } catch (err) {
      console.error('Parley: could not open the WebSocket', err);
      this.finish(ParleyError.unavailable('could not open the WebSocket', err));
      return;
    }
    this.socket = socket;
    this.socketReady = false;
    this.authError = null;
    this.connectTimer = setTimeout(() => {
      this.dropSocket(ParleyError.timeout('the server did not answer auth in time'));
    }, this.options.connectTimeoutMs ?? 10_000);
    socket.onopen = () => {
      const auth = { type: 'auth', v: PROTOCOL_VERSION, token: this.options.token, info: this.options.info };
      socket.send(JSON.stringify(auth));
    };
    socket.onmessage = (event) => this.handleRaw(event.data);
    socket.onclose = (event) => {
      if (socket === this.socket) this.handleClose(event.code);
    };
    socket.onerror = noop; // a close event follows
  }

  private handleRaw(data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      console.warn('Parley: ignored a frame that is not JSON');
      return;
    }
    if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') return;
    switch (frame.type) {
      case 'ready':
        this.handleReady(frame);
        return;
      case 'result':
        this.pending.resolve(frame.id, frame.data);
        return;
      case 'error': {
        if (frame.id !== undefined && this.pending.has(frame.id)) {
          this.pending.reject(frame.id, ParleyError.fromBody(frame));
        } else if (!this.socketReady) {
          this.authError = ParleyError.fromBody(frame);
        } else {
          this.emit('frame', frame);
        }
        return;
      }
      case 'goaway':
        this.goAwayDelayMs = Math.max(0, Number(frame.retryAfterMs) || 0);
        return;
      case 'message':
      case 'typing':
      case 'conversation.updated':
      case 'conversation.assigned':
      case 'conversation.closed':
      case 'queue.updated':
      case 'presence.changed':
      case 'call.updated':
      case 'signal':
        if (this.socketReady) this.emit('frame', frame);
        return;
      default:
        // A frame type this SDK does not know (a newer server): ignore it.
        return;
    }
  }

  private handleReady(ready: ReadyFrame): void {
    this.clearConnectTimer();
    const reconnected = this.everReady;
    this.everReady = true;
    this.socketReady = true;
    this.attempt = 0;
    this.goAwayDelayMs = 0;
    this.setState('connected');
    this.startHeartbeat();
    const waiter = this.connectWaiter;
    this.connectWaiter = null;
    waiter?.resolve(ready);
    this.emit('ready', ready, { reconnected });
    this.transmitUnsent();
  }

  private handleClose(code: number): void {
    this.detach();
    this.pending.failSent();
    if (this.stopped) return;
    const final = this.authError && isFinalAuthError(this.authError.code) ? this.authError : finalCloseError(code);
    if (final) return this.finish(final);
    if (!this.everReady) {
      return this.finish(this.authError ?? ParleyError.unavailable(`could not connect to the server (close ${code})`));
    }
    this.scheduleReconnect(code);
  }

  private scheduleReconnect(closeCode: number): void {
    if (closeCode === CLOSE_POLICY) this.attempt = Math.max(this.attempt, POLICY_ATTEMPT_FLOOR);
    const policy = this.options.retryPolicy ?? ((attempt: number) => nextRetryDelayMs(attempt));
    const delay = policy(this.attempt);
    if (delay === null) {
      return this.finish(ParleyError.unavailable(`gave up reconnecting after ${this.attempt} attempts`));
    }
    const hurried = delay > IN_CALL_RETRY_CEILING_MS && this.options.inCall?.() === true;
    const delayMs = (hurried ? Math.floor(Math.random() * IN_CALL_RETRY_CEILING_MS) : delay) + this.goAwayDelayMs;
    this.goAwayDelayMs = 0;
    this.attempt += 1;
    this.setState('reconnecting');
    this.emit('reconnectScheduled', { attempt: this.attempt, delayMs, closeCode });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.openSocket();
    }, delayMs);
  }

  /** Gives up on the current socket at once (no ready in time, or a ping unanswered) and reconnects. */
  private dropSocket(reason: ParleyError): void {
    const socket = this.socket;
    if (!socket) return;
    if (!this.everReady && !this.authError) this.authError = reason;
    closeQuietly(socket, CLOSE_DROPPED);
    this.handleClose(CLOSE_DROPPED);
  }

  private finish(error: ParleyError | null): void {
    this.stopped = true;
    this.clearRetryTimer();
    removeOnlineListener(this.onBrowserOnline);
    const reason = error ?? ParleyError.unavailable('the client disconnected');
    this.pending.failAll(reason);
    const waiter = this.connectWaiter;
    this.connectWaiter = null;
    waiter?.reject(reason);
    this.setState('disconnected');
    this.emit('disconnected', error);
  }

  /** Forgets the current socket: timers stopped, handlers neutralised (late events are ignored). */
  private detach(): void {
    const socket = this.socket;
    this.socket = null;
    this.socketReady = false;
    this.clearConnectTimer();
    this.stopHeartbeat();
    if (socket) {
      socket.onopen = noop;
      socket.onmessage = noop;
      socket.onclose = noop;
      socket.onerror = noop; // never null: the `ws` package throws on an unhandled error event
    }
  }

  private transmit(id: string): void {
    const socket = this.socket;
    if (!socket) return;
    this.pending.transmit(id, (frame) => sendQuietly(socket, frame)); // if it fails, the close that follows fails the request
  }

  private transmitUnsent(): void {
    const socket = this.socket;
    if (!socket) return;
    this.pending.transmitUnsent((frame) => sendQuietly(socket, frame));
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.emit('connectionStateChanged', state);
  }

  private startHeartbeat(): void {
    const interval = this.options.heartbeatIntervalMs ?? 25_000;
    if (interval <= 0) return;
    this.heartbeatTimer = setInterval(() => {
      if (this.heartbeatInFlight || this.stateValue !== 'connected') return;
      const socket = this.socket;
      this.heartbeatInFlight = true;
      this.request('ping', {}, { timeoutMs: Math.min(interval, 10_000), waitForConnection: false })
        .catch((err: ParleyError) => {
          if (err.code === 'timeout' && socket === this.socket) this.dropSocket(err);
        })
        .finally(() => {
          this.heartbeatInFlight = false;
        });
    }, interval);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private clearConnectTimer(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  private clearRetryTimer(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /**
   * The browser says the network is back: skip the rest of the backoff. A socket that looks connected is
   * replaced at once: the network changed under it (a new address, or a link back after a long drop), so it is
   * dead or stuck behind TCP's retransmission backoff, and waiting for the heartbeat to notice takes far longer.
   */
  private readonly onBrowserOnline = (): void => {
    if (this.stateValue === 'connected' && this.socket) this.dropSocket(ParleyError.unavailable('the network changed under the socket'));
    this.reconnectNow();
  };

  /** While waiting out the backoff: makes the next attempt now. */
  private reconnectNow(): void {
    if (this.stateValue !== 'reconnecting' || !this.retryTimer) return;
    this.clearRetryTimer();
    this.openSocket();
  }
}
