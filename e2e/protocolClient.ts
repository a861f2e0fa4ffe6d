/*
 * A bare WebSocket client speaking the wire protocol (packages/protocol) from Node, for end-to-end
 * tests that need no browser: it authenticates, correlates requests with their answers and keeps
 * every server frame it receives.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import {
  PROTOCOL_VERSION,
  type AgentLoginResponse,
  type ClientFrame,
  type CreateVisitorResponse,
  type ErrorFrame,
  type ReadyFrame,
  type RequestFrame,
  type RequestResults,
  type RequestType,
  type ServerFrame,
} from '@parley/protocol';
import { waitFor } from './harness.ts';

/** A request frame of type T, without its id (the client makes one). */
export type RequestOf<T extends RequestType> = Omit<Extract<RequestFrame, { type: T }>, 'id'>;

/** An `error` frame answering a request, thrown by `request`. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(readonly frame: ErrorFrame) {
    super(`${frame.code}: ${frame.message}`);
  }
}

/** One authenticated WebSocket connection. */
export class ProtocolClient {
  /** Every frame received after `ready`, in arrival order. */
  readonly frames: ServerFrame[] = [];
  private readonly pending = new Map<string, { resolve: (data: unknown) => void; reject: (e: Error) => void }>();
  private closeInfo: { code: number; reason: string } | null = null;

  private constructor(
    private readonly socket: WebSocket,
    readonly ready: ReadyFrame,
  ) {
    socket.on('message', (raw) => this.receive(JSON.parse(raw.toString()) as ServerFrame));
    socket.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      for (const { reject } of this.pending.values()) reject(new Error(`connection closed (${code})`));
      this.pending.clear();
    });
  }

  /** Opens `wsUrl`, sends `auth` with the token and resolves on `ready`; rejects on an error or close. */
  static connect(wsUrl: string, token: string): Promise<ProtocolClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(wsUrl);
      socket.once('error', reject);
      socket.once('close', (code) => reject(new Error(`closed with ${code} before ready`)));
      socket.once('open', () => socket.send(JSON.stringify({ type: 'auth', v: PROTOCOL_VERSION, token })));
      socket.once('message', (raw) => {
        const frame = JSON.parse(raw.toString()) as ServerFrame;
        socket.removeAllListeners('close');
        socket.removeAllListeners('error');
        if (frame.type !== 'ready') {
          reject(new Error(`expected ready, got ${JSON.stringify(frame)}`));
          socket.close();
          return;
        }
        resolve(new ProtocolClient(socket, frame));
      });
    });
  }

  /** Sends a request and resolves with the `result` data; rejects with ProtocolError on `error`. */
  request<T extends RequestType>(frame: RequestOf<T>): Promise<RequestResults[T]> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (data: unknown) => void, reject });
      this.send({ ...frame, id } as ClientFrame);
    });
  }

  /** Sends a frame as is. */
  send(frame: ClientFrame): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Resolves with the first received frame (past or future) that matches. */
  waitForFrame<F extends ServerFrame>(match: (frame: ServerFrame) => frame is F, what: string): Promise<F> {
    return waitFor(() => this.frames.find(match), { what });
  }

  /** The close code, once the server has closed the connection. */
  get closed(): { code: number; reason: string } | null {
    return this.closeInfo;
  }

  close(): void {
    this.socket.close();
  }

  private receive(frame: ServerFrame): void {
    this.frames.push(frame);
    if ((frame.type === 'result' || frame.type === 'error') && frame.id !== undefined) {
      const waiter = this.pending.get(frame.id);
      if (!waiter) return;
      this.pending.delete(frame.id);
      if (frame.type === 'result') waiter.resolve(frame.data);
      else waiter.reject(new ProtocolError(frame));
    }
  }
}

/** `POST /api/visitors`: a new visitor identity and its token. */
export async function createVisitor(baseUrl: string, name?: string): Promise<CreateVisitorResponse> {
  const res = await fetch(`${baseUrl}/api/visitors`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(name === undefined ? {} : { name }),
  });
  if (res.status !== 201) throw new Error(`POST /api/visitors answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as CreateVisitorResponse;
}

/** `POST /api/agents/login`: an agent token. */
export async function loginAgent(baseUrl: string, email: string, password: string): Promise<AgentLoginResponse> {
  const res = await fetch(`${baseUrl}/api/agents/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`POST /api/agents/login answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as AgentLoginResponse;
}
