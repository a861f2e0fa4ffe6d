import type { ClientFrame, ErrorFrame, RequestResults, RequestType, ServerFrame } from '@parley/protocol';
import WebSocket from 'ws';

type RequestOf<T extends RequestType> = Omit<Extract<ClientFrame, { type: T }>, 'id' | 'type'>;

/**
 * A raw-protocol client for integration tests: records every frame it receives, answers requests by id,
 * and waits for frames with a bounded `waitFor` instead of sleeps.
 */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  closeCode: number | null = null;
  #nextId = 0;
  #waiters: Array<{ test: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }> = [];
  #closeWaiters: Array<(code: number) => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ServerFrame;
      this.frames.push(frame);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.test(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      for (const w of this.#closeWaiters) w(code);
    });
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, { headers });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return client;
  }

  /** Opens and authenticates; resolves with the `ready` frame. */
  static async connect(url: string, token: string): Promise<TestClient & { ready: Extract<ServerFrame, { type: 'ready' }> }> {
    const client = await TestClient.open(url);
    client.sendRaw({ type: 'auth', v: 1, token });
    const ready = await client.waitFor((f) => f.type === 'ready' || f.type === 'error');
    if (ready.type !== 'ready') throw new Error(`auth failed: ${JSON.stringify(ready)}`);
    return Object.assign(client, { ready });
  }

  sendRaw(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** Sends a request; resolves with its result data, rejects with the error frame. */
  async request<T extends RequestType>(type: T, body: RequestOf<T>): Promise<RequestResults[T]> {
    const answer = await this.requestRaw(type, body);
    if (answer.type === 'error') throw Object.assign(new Error(answer.message), { code: answer.code });
    return (answer as Extract<ServerFrame, { type: 'result' }>).data as RequestResults[T];
  }

  /** Sends a request; resolves with the answering frame (result or error). */
  requestRaw<T extends RequestType>(type: T, body: RequestOf<T>): Promise<ServerFrame> {
    const id = `r${++this.#nextId}`;
    this.sendRaw({ type, id, ...body });
    return this.waitFor((f) => (f.type === 'result' || f.type === 'error') && f.id === id);
  }

  /** Resolves with the first frame (already received or future) that passes the test; rejects after `ms`. */
  waitFor(test: (f: ServerFrame) => boolean, ms = 5000, { fromNow = false } = {}): Promise<ServerFrame> {
    if (!fromNow) {
      const seen = this.frames.find(test);
      if (seen) return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve: (f: ServerFrame) => (clearTimeout(timer), resolve(f)) };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for a frame; got ${JSON.stringify(this.frames.slice(-5))}`));
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  /** Waits for the next error frame from now. */
  nextError(ms = 5000): Promise<ErrorFrame> {
    return this.waitFor((f) => f.type === 'error', ms, { fromNow: true }) as Promise<ErrorFrame>;
  }

  waitClose(ms = 5000): Promise<number> {
    if (this.closeCode !== null) return Promise.resolve(this.closeCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for close')), ms);
      this.#closeWaiters.push((code) => (clearTimeout(timer), resolve(code)));
    });
  }

  messages(sessionID: string) {
    return this.frames.flatMap((f) => (f.type === 'message' && f.message.sessionID === sessionID ? [f.message] : []));
  }

  close(): void {
    this.ws.close();
  }
}
