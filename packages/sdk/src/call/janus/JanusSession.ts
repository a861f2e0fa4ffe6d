/*
 * The Janus API as a page speaks it: a WebSocket (subprotocol `janus-protocol`), one session kept alive
 * with keepalives, plugin handles on it, and requests matched to their answers by transaction. Only what
 * the VideoRoom transport needs; the VideoRoom requests themselves live in JanusPublisher/JanusSubscription.
 */
import type { IceCandidate, SessionDescription } from '../../wire.ts';
import type { WebSocketLike } from '../../signaling/socket.ts';
import type { PeerConnectionLike } from '../MediaHandler.ts';

/** Opens the WebSocket to Janus (injectable for tests). */
export type JanusSocketFactory = (url: string, protocol: string) => WebSocketLike;

/** A VideoRoom answer or event: the plugin's data, plus a description when Janus negotiates. */
export interface PluginEvent {
  data: Record<string, unknown>;
  jsep?: SessionDescription;
}

/** What arrives for a handle outside of an answer. */
export type HandleEvent =
  | { type: 'plugin'; event: PluginEvent }
  | { type: 'trickle'; candidate: IceCandidate | null }
  | { type: 'webrtcup' }
  | { type: 'hangup'; reason: string }
  | { type: 'detached' };

/** Janus refused a request: a core error (`janus: "error"`) or a plugin's `error_code`. */
export class JanusError extends Error {
  /** Always `JanusError`. */
  override readonly name = 'JanusError';
  constructor(
    readonly code: number,
    reason: string,
  ) {
    super(`Janus error ${code}: ${reason}`);
  }
}

/** A Janus message, as much of it as is read here. */
interface JanusMessage {
  janus: string;
  transaction?: string;
  session_id?: number;
  sender?: number;
  data?: { id?: number };
  error?: { code: number; reason: string };
  plugindata?: { plugin: string; data: Record<string, unknown> };
  jsep?: SessionDescription;
  candidate?: (IceCandidate & { completed?: never }) | { completed: true };
  reason?: string;
}

interface Pending {
  resolve(message: JanusMessage): void;
  reject(error: Error): void;
  /** `ack` is the final answer (keepalive, trickle); else the answer follows the ack. */
  ackIsFinal: boolean;
}

/** The global WebSocket with Janus's subprotocol. */
export const browserSocket: JanusSocketFactory = (url, protocol) => {
  if (typeof WebSocket === 'undefined') throw new Error('this environment has no WebSocket');
  return new WebSocket(url, protocol) as unknown as WebSocketLike;
};

/** How often the session says it is alive (Janus drops a session silent for 60 s by default). */
export const KEEPALIVE_MS = 25_000;
/** How long opening the socket and creating the session may take. */
const OPEN_TIMEOUT_MS = 10_000;
const OPEN = 1;

let transactionCounter = 0;
const nextTransaction = () => `t${++transactionCounter}${Math.random().toString(36).slice(2, 8)}`;

/** One Janus session over one WebSocket. `onClosed` tells when the socket went away without `close()`. */
export class JanusSession {
  private readonly pending = new Map<string, Pending>();
  private readonly handles = new Map<number, (event: HandleEvent) => void>();
  private keepalive: ReturnType<typeof setInterval> | null = null;
  private id = 0;
  private closed = false;
  /** The socket closed (or Janus dropped the session) without `close()` being called. */
  onClosed: ((reason: string) => void) | null = null;

  private constructor(private readonly socket: WebSocketLike) {}

  /** Opens the socket, creates the session and starts the keepalives. Rejects when Janus cannot be reached. */
  static async open(url: string, createSocket: JanusSocketFactory): Promise<JanusSession> {
    const socket = createSocket(url, 'janus-protocol');
    const session = new JanusSession(socket);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no answer from Janus at ${url}`)), OPEN_TIMEOUT_MS);
      const fail = (error: Error) => {
        clearTimeout(timer);
        session.close();
        reject(error);
      };
      socket.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.onerror = () => {};
      socket.onclose = ({ code }) => fail(new Error(`could not open a WebSocket to Janus at ${url} (close code ${code})`));
    });
    socket.onmessage = ({ data }) => session.receive(data);
    socket.onclose = ({ code }) => session.lost(`the WebSocket to Janus closed (code ${code})`);
    try {
      const created = await session.send({ janus: 'create' });
      session.id = created.data?.id ?? 0;
    } catch (error) {
      session.close();
      throw error;
    }
    session.keepalive = setInterval(() => {
      session.send({ janus: 'keepalive', session_id: session.id }, true).catch(() => {});
    }, KEEPALIVE_MS);
    return session;
  }

  /** Attaches a VideoRoom handle; `onEvent` gets what Janus sends it outside of answers. */
  async attach(onEvent: (event: HandleEvent) => void): Promise<JanusHandle> {
    const attached = await this.send({ janus: 'attach', session_id: this.id, plugin: 'janus.plugin.videoroom' });
    const id = attached.data?.id ?? 0;
    this.handles.set(id, onEvent);
    return new JanusHandle(this, id);
  }

  /** Destroys the session (best effort) and closes the socket; pending requests reject. */
  close(): void {
    if (this.closed) return;
    if (this.id && this.socket.readyState === OPEN) this.post({ janus: 'destroy', session_id: this.id, transaction: nextTransaction() });
    this.shutDown(new Error('the Janus session was closed'));
    this.socket.onclose = null;
    this.socket.onmessage = null;
    try {
      this.socket.close(1000);
    } catch {
      // closing a socket that never opened
    }
  }

  /** @internal Sends a request; resolves with its answer. */
  send(request: Record<string, unknown>, ackIsFinal = false): Promise<JanusMessage> {
    if (this.closed) return Promise.reject(new Error('the Janus session is closed'));
    const transaction = nextTransaction();
    return new Promise((resolve, reject) => {
      this.pending.set(transaction, { resolve, reject, ackIsFinal });
      if (!this.post({ ...request, transaction })) {
        this.pending.delete(transaction);
        reject(new Error('the WebSocket to Janus is not open'));
      }
    });
  }

  /** @internal */
  forget(handleId: number): void {
    this.handles.delete(handleId);
  }

  /** @internal */
  get sessionId(): number {
    return this.id;
  }

  private post(message: Record<string, unknown>): boolean {
    try {
      this.socket.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  private receive(raw: unknown): void {
    let message: JanusMessage;
    try {
      message = JSON.parse(String(raw)) as JanusMessage;
    } catch {
      return;
    }
    const pending = message.transaction ? this.pending.get(message.transaction) : undefined;
    if (pending && message.transaction) {
      if (message.janus === 'ack' && !pending.ackIsFinal) return; // the answer follows
      this.pending.delete(message.transaction);
      if (message.janus === 'error') pending.reject(new JanusError(message.error?.code ?? 0, message.error?.reason ?? 'unknown error'));
      else pending.resolve(message);
      return;
    }
    if (message.janus === 'timeout') return this.lost('Janus timed the session out');
    const handler = message.sender !== undefined ? this.handles.get(message.sender) : undefined;
    if (!handler) return;
    const event = toHandleEvent(message);
    if (event) handler(event);
  }

  private lost(reason: string): void {
    if (this.closed) return;
    this.shutDown(new Error(reason));
    this.onClosed?.(reason);
  }

  private shutDown(error: Error): void {
    this.closed = true;
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.handles.clear();
  }
}

function toHandleEvent(message: JanusMessage): HandleEvent | null {
  switch (message.janus) {
    case 'event':
      return message.plugindata ? { type: 'plugin', event: pluginEvent(message) } : null;
    case 'trickle': {
      const c = message.candidate;
      return { type: 'trickle', candidate: !c || 'completed' in c ? null : { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null } };
    }
    case 'webrtcup':
      return { type: 'webrtcup' };
    case 'hangup':
      return { type: 'hangup', reason: message.reason ?? 'hangup' };
    case 'detached':
      return { type: 'detached' };
    default:
      return null; // media, slowlink: not used
  }
}

function pluginEvent(message: JanusMessage): PluginEvent {
  const event: PluginEvent = { data: message.plugindata?.data ?? {} };
  if (message.jsep) event.jsep = { type: message.jsep.type, sdp: message.jsep.sdp };
  return event;
}

/** A VideoRoom handle on a {@link JanusSession}. */
export class JanusHandle {
  constructor(
    private readonly session: JanusSession,
    readonly id: number,
  ) {}

  /**
   * A VideoRoom request; resolves with the plugin's answer (and Janus's description, if any).
   * @throws JanusError when Janus or the plugin refuses it.
   */
  async message(body: Record<string, unknown>, jsep?: SessionDescription): Promise<PluginEvent> {
    const request: Record<string, unknown> = { janus: 'message', session_id: this.session.sessionId, handle_id: this.id, body };
    if (jsep) request.jsep = jsep;
    const answer = await this.session.send(request);
    const event = pluginEvent(answer);
    const code = event.data.error_code;
    if (typeof code === 'number') throw new JanusError(code, String(event.data.error ?? 'refused'));
    return event;
  }

  /** Trickles a local candidate (null: gathering is complete). */
  trickle(candidate: IceCandidate | null): void {
    const request = { janus: 'trickle', session_id: this.session.sessionId, handle_id: this.id, candidate: candidate ?? { completed: true } };
    this.session.send(request, true).catch(() => {}); // a lost candidate only slows the link; failures surface as link states
  }

  /** Detaches the handle (best effort). */
  detach(): void {
    this.session.forget(this.id);
    this.session.send({ janus: 'detach', session_id: this.session.sessionId, handle_id: this.id }).catch(() => {});
  }
}

/** Candidates Janus trickles before the description they belong to is applied wait for it. */
export class RemoteCandidates {
  private waiting: Array<IceCandidate | null> = [];

  constructor(
    private readonly pc: PeerConnectionLike,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Applies `candidate` (null: end of candidates) now, or once a remote description is set. */
  add(candidate: IceCandidate | null): void {
    if (this.pc.remoteDescription) this.apply(candidate);
    else this.waiting.push(candidate);
  }

  /** A remote description was just applied: the waiting candidates follow it. */
  flush(): void {
    for (const candidate of this.waiting.splice(0)) this.apply(candidate);
  }

  private apply(candidate: IceCandidate | null): void {
    this.pc.addIceCandidate(candidate ?? undefined).catch(this.onError);
  }
}
