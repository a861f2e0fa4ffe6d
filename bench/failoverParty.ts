import { performance } from 'node:perf_hooks';
import type { Message, RequestResults, ServerFrame } from '@parley/protocol';
import { MessageLog } from '../packages/sdk/src/conversation/MessageLog.ts';
import { ProtocolClient, type ConnectedClient } from '../packages/server/test/support/ProtocolClient.ts';
import { Changes } from './changes.ts';
import { chatText, type OrderCounts } from './fleet.ts';
import { clientIdOf, indexOf } from './failoverFigures.ts';
import { SeqTally } from './seqTally.ts';

/*
 * One side of the failover conversation, a raw-protocol client that does what the SDK does when its
 * connection drops: it connects again at once (to its node if that node answers, else to the other node, as a
 * balancer would send it), reads what it missed from its last released seq (`conversation.sync`), and sends
 * again, in order and with the same clientId, every message not acknowledged yet. Messages are released in seq
 * order, once, by the SDK's own MessageLog; everything released, sent and acknowledged is kept with its time
 * for the figures and the final count.
 *
 * Unlike the SDK it waits nothing before reconnecting (the SDK waits 0–500 ms, jittered, before its first
 * attempt), so the figures are the deployment's, not the backoff's.
 */

const CONNECT_TIMEOUT_MS = 3_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** Pause between two rounds over the nodes when neither accepts the connection. */
const RETRY_PAUSE_MS = 50;
/** A party that cannot reach any node for this long fails the run. */
const GIVE_UP_MS = 30_000;

export type Role = 'visitor' | 'agent';

/** A message this party sent, from its first send to its acknowledgement. */
export interface Sent {
  clientId: string;
  /** Its place among this party's messages, from 0. */
  index: number;
  /** When it was first sent or queued (performance.now()). */
  createdAt: number;
  /** When its `result` came; null while unacknowledged. */
  ackedAt: number | null;
  /** How many times it went out (more than once: sent again after a reconnection or a failure). */
  sends: number;
  /** The result said the store had it already (sent before, stored, never acknowledged). */
  duplicate: boolean;
}

/** A message this party released to its "application", and how it came. */
export interface Released {
  message: Message;
  at: number;
  via: 'live' | 'sync';
}

/** A connection that reached `ready`. */
export interface Connection {
  url: string;
  at: number;
}

export class FailoverParty {
  readonly role: Role;
  readonly sent: Sent[] = [];
  readonly released: Released[] = [];
  readonly connections: Connection[] = [];
  readonly errors: string[] = [];
  /** Sees every frame of the connection in use, before this party handles it (for set-up: assignments). */
  onFrame: (frame: ServerFrame) => void = () => undefined;
  readonly #token: string;
  readonly #urls: readonly string[];
  readonly #log = new MessageLog();
  #sessionID: string | null = null;
  #client: ConnectedClient | null = null;
  /** The seqs heard live on the connection in use; what earlier connections heard is added up in #liveOrder. */
  #tally = new SeqTally<string>();
  readonly #liveOrder: OrderCounts = { duplicated: 0, reordered: 0 };
  /** Messages sent and not answered yet, with the connection each went out on. */
  readonly #inFlight = new Map<Sent, ConnectedClient>();
  #url: string;
  #reconnecting: Promise<void> | null = null;
  #paused = false;
  #stopped = false;
  #syncing: Promise<void> | null = null;
  #syncAgain = false;
  readonly #changes = new Changes();
  #fatal: Error | null = null;

  /** `urls`: every node's address; the party starts on `home`, one of them. */
  constructor(role: Role, token: string, urls: readonly string[], home: string) {
    this.role = role;
    this.#token = token;
    this.#urls = urls;
    this.#url = home;
  }

  /** The node this party is connected to (or was, while it reconnects). */
  get url(): string {
    return this.#url;
  }

  get connected(): boolean {
    return this.#client !== null;
  }

  /** The first failure that stopped this party (no node reachable); null while it is fine. */
  get fatal(): Error | null {
    return this.#fatal;
  }

  /** Connects to its home node. */
  async connect(): Promise<ConnectedClient> {
    const client = await this.#open(this.#url);
    this.#adopt(client, this.#url);
    return client;
  }

  /** The connected client, for set-up requests. */
  get client(): ConnectedClient {
    if (!this.#client) throw new Error(`${this.role} is not connected`);
    return this.#client;
  }

  /** Joins a conversation: everything stored so far is history; what follows is released live. */
  async open(sessionID: string): Promise<void> {
    this.#sessionID = sessionID;
    const history: Message[] = [];
    let more = true;
    while (more) {
      const afterSeq = history.at(-1)?.seq ?? 0;
      const page = await this.client.request('conversation.sync', { sessionID, afterSeq }, REQUEST_TIMEOUT_MS);
      history.push(...page.messages);
      more = page.more && page.messages.length > 0;
    }
    for (const message of this.#log.seed(history)) this.#release(message, 'live');
  }

  /** Sends the next message (or queues it while disconnected or paused). */
  sendNext(): void {
    if (this.#stopped) return;
    const index = this.sent.length;
    const entry: Sent = { clientId: clientIdOf(this.role, index), index, createdAt: performance.now(), ackedAt: null, sends: 0, duplicate: false };
    this.sent.push(entry);
    if (this.#client && !this.#paused) this.#send(this.#client, entry);
  }

  /** Where this party's sending stands: the first message not acknowledged (or the next), and the next. */
  mark(): { firstUnacked: number; next: number } {
    const next = this.sent.length;
    const pending = this.sent.find((s) => s.ackedAt === null);
    return { firstUnacked: pending?.index ?? next, next };
  }

  /** Live frames that repeated or reordered a seq on one connection (each connection counted apart). */
  get liveOrder(): OrderCounts {
    this.#absorbTally();
    return { ...this.#liveOrder };
  }

  /** Messages not acknowledged yet. */
  get unacked(): number {
    let n = 0;
    for (const s of this.sent) if (s.ackedAt === null) n++;
    return n;
  }

  /**
   * Resolves with the time of the first message from `role` with index ≥ `fromIndex` released here, or null
   * after `timeoutMs`.
   */
  firstReleaseFrom(role: Role, fromIndex: number, timeoutMs: number): Promise<number | null> {
    return this.#until(() => {
      for (const r of this.released) {
        const index = indexOf(r.message.clientId, role);
        if (index !== null && index >= fromIndex) return r.at;
      }
      return null;
    }, timeoutMs);
  }

  /** Resolves with the time of the first connection made after `since`, or null after `timeoutMs`. */
  connectedAfter(since: number, timeoutMs: number): Promise<Connection | null> {
    return this.#until(() => this.connections.find((c) => c.at > since) ?? null, timeoutMs);
  }

  /**
   * Moves to another node cleanly, as after a balancer's rebalancing: stops sending, waits for what is in
   * flight, connects there, then closes the old connection (the party is never without one, so no node counts
   * it gone), reads what it missed and sends what waited.
   */
  async moveTo(url: string, timeoutMs = 10_000): Promise<void> {
    if (url === this.#url && this.#client) return;
    this.#paused = true;
    try {
      await this.#until(() => (this.#client === null || this.#inFlightOn(this.#client) === 0 ? true : null), timeoutMs);
      const old = this.#client;
      const client = await this.#open(url);
      this.#client = null;
      this.#adopt(client, url);
      await old?.close();
    } finally {
      this.#paused = false;
    }
    await this.#resume();
  }

  /** Stops sending new messages; what is unacknowledged is still sent again after a reconnection. */
  stopSending(): void {
    this.#stopped = true;
  }

  /** Resolves once every message is acknowledged, or after `timeoutMs` (then some are not). */
  async drain(timeoutMs: number): Promise<void> {
    await this.#until(() => (this.unacked === 0 ? true : null), timeoutMs);
  }

  /** Reads from the store what followed the last released seq, as after a reconnection. */
  sync(): Promise<void> {
    this.#syncAgain = true;
    this.#syncing ??= this.#runSync().finally(() => {
      this.#syncing = null;
    });
    return this.#syncing;
  }

  /** Closes the connection; no reconnection follows. */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#paused = true;
    const client = this.#client;
    this.#client = null;
    await client?.close();
  }

  #inFlightOn(client: ConnectedClient): number {
    let n = 0;
    for (const on of this.#inFlight.values()) if (on === client) n++;
    return n;
  }

  #open(url: string): Promise<ConnectedClient> {
    // Frames that come in the same read as `ready` arrive before `connect` resolves: they are released, not tallied.
    const opened: { client: ConnectedClient | null } = { client: null };
    return ProtocolClient.connect(url, this.#token, {
      lean: true,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      timeoutMs: REQUEST_TIMEOUT_MS,
      onFrame: (frame) => this.#onFrame(frame, opened.client),
    }).then((client) => (opened.client = client));
  }

  #absorbTally(): void {
    const counts = this.#tally.take();
    this.#liveOrder.duplicated += counts.duplicated;
    this.#liveOrder.reordered += counts.reordered;
  }

  #adopt(client: ConnectedClient, url: string): void {
    this.#client = client;
    this.#url = url;
    this.#absorbTally();
    this.#tally = new SeqTally<string>();
    this.connections.push({ url, at: performance.now() });
    client.ws.once('close', () => {
      if (this.#client !== client) return; // replaced or closed on purpose
      this.#client = null;
      this.#reconnect();
    });
    this.#notify();
  }

  #reconnect(): void {
    this.#reconnecting ??= (async () => {
      const deadline = performance.now() + GIVE_UP_MS;
      while (!this.#client) {
        // Its own node first; when that refuses, the others, as a balancer would.
        for (const url of [this.#url, ...this.#urls.filter((u) => u !== this.#url)]) {
          try {
            const client = await this.#open(url);
            this.#adopt(client, url);
            break;
          } catch {
            // refused or timed out: the next node
          }
        }
        if (this.#client) break;
        if (performance.now() > deadline) throw new Error(`${this.role}: no node accepted a connection for ${GIVE_UP_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      }
      await this.#resume();
    })()
      .catch((error: unknown) => {
        this.#fatal ??= error instanceof Error ? error : new Error(String(error));
        this.#notify();
      })
      .finally(() => {
        this.#reconnecting = null;
      });
  }

  /** After a (re)connection: send again what is unacknowledged, in order, and read what was missed. */
  async #resume(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    for (const entry of this.sent) if (entry.ackedAt === null) this.#send(client, entry);
    await this.sync().catch((error: unknown) => this.errors.push(`sync after reconnecting: ${String(error)}`));
  }

  #send(client: ConnectedClient, entry: Sent): void {
    const sessionID = this.#sessionID;
    if (sessionID === null) throw new Error('no conversation opened');
    entry.sends++;
    this.#inFlight.set(entry, client);
    const settled = (): void => {
      if (this.#inFlight.get(entry) === client) this.#inFlight.delete(entry);
      this.#notify();
    };
    client.requestRaw('message.send', { sessionID, clientId: entry.clientId, text: chatText(entry.index) }, REQUEST_TIMEOUT_MS).then(
      (frame) => {
        if (frame.type === 'result') {
          const data = frame.data as RequestResults['message.send'];
          if (entry.ackedAt === null) {
            entry.ackedAt = performance.now();
            entry.duplicate = data.duplicate;
          }
          settled();
          this.#deliver(data.message, 'live');
        } else if (frame.type === 'error') {
          settled();
          this.errors.push(`${entry.clientId}: ${frame.code}: ${frame.message}`);
          this.#retryLater(client, entry);
        }
      },
      () => {
        settled();
        this.#retryLater(client, entry); // closed (a reconnection sends it again) or timed out
      },
    );
  }

  /** A send that failed on a connection still in use is sent again on it a little later. */
  #retryLater(client: ConnectedClient, entry: Sent): void {
    setTimeout(() => {
      if (entry.ackedAt !== null || this.#client !== client || this.#paused || this.#inFlight.has(entry)) return;
      this.#send(client, entry);
    }, 200);
  }

  #onFrame(frame: ServerFrame, client: ConnectedClient | null): void {
    this.onFrame(frame);
    if (frame.type !== 'message' || frame.message.sessionID !== this.#sessionID) return;
    // Only frames of the connection in use count for the live order (an old one may still deliver while a move ends).
    if (client !== null && client === this.#client) this.#tally.see(frame.message.sessionID, frame.message.seq);
    this.#deliver(frame.message, 'live');
  }

  #deliver(message: Message, via: Released['via']): void {
    for (const released of this.#log.accept(message)) this.#release(released, via);
    // As the SDK: a gap in what arrived live is read from the store.
    if (this.#log.hasGap) void this.sync().catch((error: unknown) => this.errors.push(`sync after a gap: ${String(error)}`));
  }

  #release(message: Message, via: Released['via']): void {
    this.released.push({ message, at: performance.now(), via });
    this.#notify();
  }

  async #runSync(): Promise<void> {
    while (this.#syncAgain) {
      this.#syncAgain = false;
      const client = this.#client;
      const sessionID = this.#sessionID;
      if (!client || sessionID === null) return; // the next connection syncs
      let more = true;
      while (more) {
        const page = await client.request('conversation.sync', { sessionID, afterSeq: this.#log.lastSeq }, REQUEST_TIMEOUT_MS);
        for (const message of page.messages) for (const released of this.#log.accept(message)) this.#release(released, 'sync');
        more = page.more && page.messages.length > 0;
      }
    }
  }

  #notify(): void {
    this.#changes.notify();
  }

  /** Resolves with `probe()` once it is not null (checked on every change), or null after `timeoutMs` or a fatal failure. */
  #until<T>(probe: () => T | null, timeoutMs: number): Promise<T | null> {
    return this.#changes.until(probe, timeoutMs, () => this.#fatal !== null);
  }
}
