/*
 * The one raw-protocol client of the test and benchmark code: a `ws` socket speaking packages/protocol
 * from Node. Server integration tests, the browserless e2e specs and the chat benchmark's load
 * generator all use it, so the three of them talk to the server the same way.
 *
 * It lives beside the server's integration tests because that is what it is: a tool to test the
 * server. It imports only `ws` and @parley/protocol (never the server's source), so e2e/ and bench/
 * import it without pulling the server in and without a cycle.
 *
 * Two modes:
 * - recording (the default): every received frame is kept in `frames`, and `waitFor` resolves on a
 *   past or future frame — for assertions.
 * - lean (`lean: true`): nothing is kept and nothing is scanned; each frame is parsed once, answers to
 *   this client's requests settle them, and every other frame goes to `onFrame`. No per-message
 *   compression either. For load generation, where the client must not skew the server's figures.
 */
import WebSocket from 'ws';
import {
  PROTOCOL_VERSION,
  type CallSnapshot,
  type ClientFrame,
  type ErrorFrame,
  type ReadyFrame,
  type RequestFrame,
  type RequestResults,
  type RequestType,
  type ServerFrame,
} from '@parley/protocol';

/** The body of a request of type T: the frame without its `type` and `id` (the client adds both). */
export type RequestOf<T extends RequestType> = Omit<Extract<RequestFrame, { type: T }>, 'id' | 'type'>;

/** An `error` frame answering a request; `request` rejects with it. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** The error code of the frame, e.g. `forbidden`. */
  readonly code: ErrorFrame['code'];
  constructor(readonly frame: ErrorFrame) {
    super(frame.message);
    this.code = frame.code;
  }
}

/** The code of a refused request (`'ok'` when it was not refused) and its message. */
export async function refusal(p: Promise<unknown>): Promise<{ code: ErrorFrame['code'] | 'ok'; message: string }> {
  try {
    await p;
    return { code: 'ok', message: '' };
  } catch (err) {
    if (err instanceof ProtocolError) return { code: err.code, message: err.message };
    throw err;
  }
}

/** Just the code of {@link refusal}: `'ok'` when the request was not refused. */
export async function refusalCode(p: Promise<unknown>): Promise<ErrorFrame['code'] | 'ok'> {
  return (await refusal(p)).code;
}

/** A frame matcher: a `call.updated` whose call passes `test`. */
export const callUpdate =
  (test: (call: CallSnapshot) => boolean) =>
  (f: ServerFrame): boolean =>
    f.type === 'call.updated' && test(f.call);

/** How a client is opened. */
export interface ProtocolClientOptions {
  /** A query string for the socket's URL, without `?` (the bench's bare relay routes by it). */
  query?: string;
  /** The local address to connect from (e.g. `127.0.0.2`, to come from another loopback address). */
  localAddress?: string;
  /** Extra headers of the upgrade request (e.g. `origin`). */
  headers?: Record<string, string>;
  /** No frame log and no per-message compression; see the file's header. Default false. */
  lean?: boolean;
  /** Called with every frame that is not the answer to one of this client's requests. */
  onFrame?: (frame: ServerFrame) => void;
  /** Answer the server's WebSocket pings (default true); false plays a peer that has gone silent. */
  autoPong?: boolean;
  /** Bound on the upgrade and on `auth` (ms). Default 5000. */
  connectTimeoutMs?: number;
  /** Bound on each request and each wait (ms), unless a call gives its own. Default 5000. */
  timeoutMs?: number;
}

/** A client that has seen `ready`. */
export type ConnectedClient = ProtocolClient & { readonly ready: ReadyFrame };

interface Waiter {
  test: (frame: ServerFrame) => boolean;
  resolve: (frame: ServerFrame) => void;
}

/** One WebSocket connection to a Parley server. */
export class ProtocolClient {
  /** Every frame received, in arrival order (`ready` included). Stays empty in lean mode. */
  readonly frames: ServerFrame[] = [];
  /** The close code, once the connection is closed. */
  closeCode: number | null = null;
  readonly #lean: boolean;
  readonly #timeoutMs: number;
  readonly #onFrame: ((frame: ServerFrame) => void) | undefined;
  readonly #pending = new Map<string, { settle: (frame: ServerFrame) => void; fail: (error: Error) => void }>();
  #waiters: Waiter[] = [];
  #closeWaiters: Array<(code: number) => void> = [];
  #nextId = 0;

  private constructor(
    /** The socket, for what the protocol cannot say (binary frames, terminate). */
    readonly ws: WebSocket,
    options: ProtocolClientOptions,
  ) {
    this.#lean = options.lean ?? false;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#onFrame = options.onFrame;
    ws.on('message', (data) => this.#receive(JSON.parse(data.toString()) as ServerFrame));
    ws.on('error', () => undefined); // a failed socket closes; 'close' tells
    ws.on('close', (code) => {
      this.closeCode = code;
      for (const { fail } of this.#pending.values()) fail(new Error(`connection closed (${code})`));
      this.#pending.clear();
      for (const w of this.#closeWaiters) w(code);
      this.#closeWaiters = [];
    });
  }

  /**
   * Opens `${baseUrl}/ws` (an `http://` base is turned into `ws://`) without authenticating.
   * Rejects on a refused upgrade (`HTTP 403`), an error or the connect timeout.
   */
  static async open(baseUrl: string, options: ProtocolClientOptions = {}): Promise<ProtocolClient> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/ws${options.query ? `?${options.query}` : ''}`;
    const timeoutMs = options.connectTimeoutMs ?? 5000;
    const ws = new WebSocket(url, {
      headers: options.headers ?? {},
      handshakeTimeout: timeoutMs,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      autoPong: options.autoPong ?? true,
      ...(options.lean ? { perMessageDeflate: false } : {}),
    });
    const client = new ProtocolClient(ws, options);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`${url}: HTTP ${res.statusCode}`)));
    });
    return client;
  }

  /** Opens and sends `auth` with the token; resolves on `ready`, rejects on an error frame or close. */
  static async connect(baseUrl: string, token: string, options: ProtocolClientOptions = {}): Promise<ConnectedClient> {
    const client = await ProtocolClient.open(baseUrl, options);
    const ready = new Promise<ServerFrame>((resolve, reject) => {
      const closed = (code: number) => (clearTimeout(timer), reject(new Error(`closed with ${code} before ready`)));
      const timer = setTimeout(() => (client.ws.off('close', closed), reject(new Error('no answer to auth'))), options.connectTimeoutMs ?? 5000);
      client.#waiters.push({
        test: (f) => f.type === 'ready' || (f.type === 'error' && f.id === undefined),
        resolve: (f) => (clearTimeout(timer), client.ws.off('close', closed), resolve(f)),
      });
      client.ws.once('close', closed);
    });
    client.send({ type: 'auth', v: PROTOCOL_VERSION, token });
    const frame = await ready;
    if (frame.type !== 'ready') {
      client.ws.terminate();
      throw new Error(`auth refused: ${JSON.stringify(frame)}`);
    }
    return Object.assign(client, { ready: frame });
  }

  /** Sends a frame as is. */
  send(frame: ClientFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends anything: a string as is, any other value as JSON (for malformed frames). */
  sendRaw(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** Sends a request; resolves with its result data, rejects with ProtocolError on an error frame. */
  async request<T extends RequestType>(type: T, body: RequestOf<T>, timeoutMs?: number): Promise<RequestResults[T]> {
    const answer = await this.requestRaw(type, body, timeoutMs);
    if (answer.type === 'error') throw new ProtocolError(answer);
    return (answer as Extract<ServerFrame, { type: 'result' }>).data as RequestResults[T];
  }

  /** Sends a request; resolves with the answering frame (result or error); rejects on timeout or close. */
  requestRaw<T extends RequestType>(type: T, body: RequestOf<T>, timeoutMs = this.#timeoutMs): Promise<ServerFrame> {
    const id = `r${++this.#nextId}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        settle: (frame) => (clearTimeout(timer), resolve(frame)),
        fail: (error) => (clearTimeout(timer), reject(error)),
      });
      this.sendRaw({ type, id, ...body });
    });
  }

  /** Resolves with the first frame (already received, unless `fromNow`, or future) that passes the test. */
  waitFor(test: (f: ServerFrame) => boolean, ms = this.#timeoutMs, { fromNow = false } = {}): Promise<ServerFrame> {
    if (!fromNow) {
      const seen = this.frames.find(test);
      if (seen) return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { test, resolve: (f) => (clearTimeout(timer), resolve(f)) };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for a frame; got ${JSON.stringify(this.frames.slice(-5))}`));
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  /** Waits for the next error frame from now. */
  nextError(ms = this.#timeoutMs): Promise<ErrorFrame> {
    return this.waitFor((f) => f.type === 'error', ms, { fromNow: true }) as Promise<ErrorFrame>;
  }

  /** Resolves with the close code once the connection is closed. */
  waitClose(ms = this.#timeoutMs): Promise<number> {
    if (this.closeCode !== null) return Promise.resolve(this.closeCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for close')), ms);
      this.#closeWaiters.push((code) => (clearTimeout(timer), resolve(code)));
    });
  }

  /** The chat messages of one conversation received so far. */
  messages(sessionID: string) {
    return this.frames.flatMap((f) => (f.type === 'message' && f.message.sessionID === sessionID ? [f.message] : []));
  }

  /** Closes politely; terminates the socket if the closing handshake takes longer than `graceMs`. */
  close(graceMs = 2000): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, graceMs);
      this.ws.once('close', () => (clearTimeout(timer), resolve()));
      this.ws.close(1000);
    });
  }

  #receive(frame: ServerFrame): void {
    if (!this.#lean) this.frames.push(frame);
    let answered = false;
    if ((frame.type === 'result' || frame.type === 'error') && frame.id !== undefined) {
      const request = this.#pending.get(frame.id);
      if (request) {
        this.#pending.delete(frame.id);
        request.settle(frame);
        answered = true;
      }
    }
    if (this.#waiters.length > 0) {
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.test(frame)) return true;
        w.resolve(frame);
        return false;
      });
    }
    if (!answered) this.#onFrame?.(frame);
  }
}
