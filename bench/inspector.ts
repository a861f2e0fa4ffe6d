import { WebSocket } from 'ws';

/*
 * A minimal client of the V8 inspector of a server child started with `--inspect=127.0.0.1:0`, used to
 * force a full garbage collection before a memory reading and to read the JS heap size. Both servers get
 * the same treatment, and neither needs code for it.
 */

/** What the inspector reports about the JS heap, in bytes. */
export interface HeapUsage {
  usedSize: number;
  totalSize: number;
}

/** One inspector session. */
export class InspectorSession {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 0;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data) => {
      const reply = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      if (reply.id === undefined) return;
      const pending = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (reply.error) pending?.reject(new Error(reply.error.message));
      else pending?.resolve(reply.result);
    });
  }

  /** Connects to the debugger URL a child printed (`Debugger listening on ws://…`). */
  static connect(url: string): Promise<InspectorSession> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      socket.once('open', () => resolve(new InspectorSession(socket)));
      socket.once('error', reject);
    });
  }

  /** Runs a full, compacting garbage collection in the server. */
  async collectGarbage(): Promise<void> {
    await this.#call('HeapProfiler.collectGarbage');
  }

  /** Size of the server's JS heap. */
  async heapUsage(): Promise<HeapUsage> {
    return (await this.#call('Runtime.getHeapUsage')) as HeapUsage;
  }

  close(): void {
    this.#socket.close();
  }

  #call(method: string): Promise<unknown> {
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ id, method }));
    });
  }
}
