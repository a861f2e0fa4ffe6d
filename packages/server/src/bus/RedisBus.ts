import type { CallSnapshot, Message, ServerFrame } from '@parley/protocol';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ConversationPosition } from '../store/Store.ts';
import type { Bus, BusHealth, BusObserver, BusSubscriber, ClusterEvent, Envelope, PublishOptions, Topic } from './Bus.ts';
import { LocalTopics } from './LocalTopics.ts';

/** What the bus reads from the store when a frame went missing: the store is the truth, the bus a fast hint. */
export interface BusCatchUp {
  /** Messages after `afterSeq`, oldest first, one page; `more` when further ones follow. */
  messagesAfter(sessionID: string, afterSeq: number): Promise<{ messages: Message[]; more: boolean }>;
  /** Where each conversation stands (last seq, latest call change). */
  positions(sessionIDs: readonly string[]): Promise<Map<string, ConversationPosition>>;
  /** A call as its members see it; null when there is no such call. */
  callSnapshot(callId: string): Promise<CallSnapshot | null>;
}

export interface RedisBusOptions {
  url: string;
  nodeId: string;
  /** Every channel of the deployment starts with it, so deployments sharing one Redis never hear each other. */
  prefix: string;
  catchUp: BusCatchUp;
  log: Logger;
  onDeliveryError: (err: unknown) => void;
  /** How often conversations with subscribers here are checked against the store (a lost last frame is found so). */
  checkMs?: number;
  /** How often a frame makes the round trip through Redis back to this node (the bus's health and latency). */
  pingMs?: number;
}

/** Where this node's subscribers of one conversation stand: what was delivered, what waits behind a gap. */
interface Feed {
  /** Every message up to this seq was delivered here; null until the first message or position check. */
  lastSeq: number | null;
  /** Messages ahead of a gap, by seq. */
  held: Map<number, Envelope>;
  filling: boolean;
  /** The newest call change delivered here. */
  call: { id: string; revision: number } | null;
}

const CONVERSATION = 'conv:';
/** A frame through Redis is at most this many bytes (frames are capped far below; this bounds a rogue publisher). */
const MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;

/**
 * The bus between the nodes of one deployment, over Redis pub/sub. Every frame is delivered to this node's
 * subscribers at once and published on the topic's channel for the other nodes; a node subscribes to a channel
 * while it has subscribers of its topic.
 *
 * Redis pub/sub is at-most-once: a frame can be lost (Redis away, a subscription still being made). The store
 * is the truth, so conversation topics are made whole here: messages are delivered in seq order, once; a message
 * ahead of a gap waits while the missing ones are read from the store; and every few seconds (and whenever the
 * bus comes back) the conversations with subscribers here are checked against the store, which finds a lost last
 * message or call change. Of call changes only newer revisions are delivered.
 */
export class RedisBus implements Bus {
  readonly #options: RedisBusOptions;
  readonly #local: LocalTopics;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #feeds = new Map<string, Feed>();
  readonly #observers: BusObserver[] = [];
  readonly #pending = new Set<Promise<unknown>>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #announceChannel: string;
  readonly #pingChannel: string;
  #stats = { published: 0, received: 0, dropped: 0, recoveredFromStore: 0 };
  #roundTripMs: number | null = null;
  #reason: string | null = 'connecting to Redis';
  /** The bus was away since it last worked: coming back is a recovery. */
  #wasDown = false;
  #checking = false;
  #closed = false;

  constructor(options: RedisBusOptions) {
    this.#options = options;
    this.#local = new LocalTopics(options.onDeliveryError);
    this.#announceChannel = `${options.prefix}cluster`;
    this.#pingChannel = `${options.prefix}ping:${options.nodeId}`;
    const common = {
      lazyConnect: true,
      connectTimeout: 5000,
      // Back off to at most a second between attempts: the bus must come back soon after Redis does.
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
      connectionName: `parley:${options.nodeId}`,
    };
    // A frame published while Redis is away is dropped at once (and counted), never queued to arrive late.
    this.#pub = new Redis(options.url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    // Subscriptions asked for while away are made once Redis is back (and ioredis renews them after a reconnection).
    this.#sub = new Redis(options.url, { ...common, enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const client of [this.#pub, this.#sub]) {
      client.on('error', (err: Error) => {
        if (this.#reason === null) options.log.warn({ err }, 'the bus (Redis) failed');
        this.#reason = `Redis: ${err.message}`;
      });
      client.on('close', () => this.#down('the connection to Redis closed'));
      client.on('ready', () => this.#maybeUp());
    }
    this.#sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#received(channel.toString(), message));
  }

  /** Connects both links and subscribes to the deployment's own channels. Rejects when Redis cannot be reached. */
  async start(): Promise<void> {
    await Promise.all([this.#pub.connect(), this.#sub.connect()]);
    await this.#sub.subscribe(this.#announceChannel, this.#pingChannel);
    this.#maybeUp();
    const checkMs = this.#options.checkMs ?? 2000;
    const pingMs = this.#options.pingMs ?? 2000;
    this.#timers.push(setInterval(() => void this.#check(), checkMs), setInterval(() => this.#ping(), pingMs));
    for (const t of this.#timers) t.unref();
    this.#ping();
  }

  publish<F extends ServerFrame>(topic: Topic<F>, frame: NoInfer<F>, options: PublishOptions = {}): void {
    const json = JSON.stringify(frame);
    this.#deliverLocal(topic, { frame, json, ...options });
    this.#send(`${this.#options.prefix}t:${topic}`, `${this.#options.nodeId}\n${options.exceptParty ?? ''}\n${json}`);
  }

  subscribe(topic: Topic, subscriber: BusSubscriber, position?: number): void {
    if (position !== undefined && topic.startsWith(CONVERSATION)) {
      const feed = this.#feed(topic);
      feed.lastSeq ??= position;
    }
    if (this.#local.add(topic, subscriber) && !this.#closed) {
      this.#sub.subscribe(`${this.#options.prefix}t:${topic}`).catch((err: unknown) => this.#options.log.warn({ err, topic }, 'bus subscription failed'));
    }
  }

  unsubscribe(topic: Topic, subscriber: BusSubscriber): void {
    if (!this.#local.remove(topic, subscriber)) return;
    this.#feeds.delete(topic);
    if (!this.#closed) this.#sub.unsubscribe(`${this.#options.prefix}t:${topic}`).catch(() => undefined);
  }

  localSubscribers(topic: Topic): number {
    return this.#local.count(topic);
  }

  announce(event: ClusterEvent): void {
    this.#send(this.#announceChannel, JSON.stringify({ n: this.#options.nodeId, e: event }));
  }

  observe(observer: BusObserver): void {
    this.#observers.push(observer);
  }

  health(): BusHealth {
    const connected = this.#isUp();
    return { connected, reason: connected ? null : (this.#reason ?? 'Redis is not connected'), roundTripMs: this.#roundTripMs, ...this.#stats };
  }

  async flush(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    await this.flush();
    this.#local.clear();
    this.#feeds.clear();
    await Promise.allSettled([this.#pub.quit(), this.#sub.quit()]);
    this.#pub.disconnect();
    this.#sub.disconnect();
  }

  // ------------------------------------------------------------------ internals

  #isUp(): boolean {
    return this.#pub.status === 'ready' && this.#sub.status === 'ready';
  }

  #down(reason: string): void {
    if (this.#closed) return;
    if (!this.#wasDown) this.#options.log.warn({ reason }, 'the bus is away: other nodes are caught up from the store meanwhile');
    this.#wasDown = true;
    this.#reason = reason;
  }

  #maybeUp(): void {
    if (!this.#isUp()) return;
    this.#reason = null;
    if (!this.#wasDown) return;
    this.#wasDown = false;
    this.#options.log.info('the bus is back');
    for (const o of this.#observers) o.recovered?.();
    void this.#check();
  }

  #send(channel: string, payload: string): void {
    if (this.#closed) return;
    if (this.#pub.status !== 'ready') {
      this.#stats.dropped++;
      return;
    }
    this.#stats.published++;
    const sent = this.#pub.publish(channel, payload).then(
      () => undefined,
      () => {
        this.#stats.dropped++;
      },
    );
    this.#pending.add(sent);
    void sent.finally(() => this.#pending.delete(sent));
  }

  #ping(): void {
    this.#send(this.#pingChannel, String(performance.now()));
  }

  #received(channel: string, message: Buffer): void {
    if (this.#closed || message.byteLength > MAX_PAYLOAD_BYTES) return;
    if (channel === this.#pingChannel) {
      const sentAt = Number(message.toString());
      if (!Number.isFinite(sentAt)) return;
      this.#roundTripMs = performance.now() - sentAt;
      for (const o of this.#observers) o.roundTrip?.(this.#roundTripMs);
      return;
    }
    try {
      if (channel === this.#announceChannel) {
        const { n, e } = JSON.parse(message.toString()) as { n: string; e: ClusterEvent };
        if (n !== this.#options.nodeId) for (const o of this.#observers) o.announced?.(e);
        return;
      }
      const prefix = `${this.#options.prefix}t:`;
      if (!channel.startsWith(prefix)) return;
      const text = message.toString();
      const first = text.indexOf('\n');
      const second = text.indexOf('\n', first + 1);
      if (first < 0 || second < 0 || text.slice(0, first) === this.#options.nodeId) return;
      const topic = channel.slice(prefix.length) as Topic;
      const exceptParty = text.slice(first + 1, second);
      const json = text.slice(second + 1);
      const frame = JSON.parse(json) as ServerFrame;
      this.#stats.received++;
      for (const o of this.#observers) o.remote?.(topic, frame);
      this.#deliverLocal(topic, { frame, json, ...(exceptParty !== '' ? { exceptParty } : {}) });
    } catch (err) {
      this.#options.log.warn({ err, channel }, 'an unreadable frame came over the bus; ignored');
    }
  }

  #deliverLocal(topic: string, envelope: Envelope): void {
    if (this.#local.count(topic) === 0) return;
    if (topic.startsWith(CONVERSATION)) {
      const frame = envelope.frame;
      if (frame.type === 'message') return this.#order(topic, envelope, frame.message.seq);
      if (frame.type === 'call.updated' && !this.#isNewerCall(this.#feed(topic), frame.call)) return;
    }
    this.#local.deliver(topic, envelope);
  }

  #feed(topic: string): Feed {
    let feed = this.#feeds.get(topic);
    if (!feed) this.#feeds.set(topic, (feed = { lastSeq: null, held: new Map(), filling: false, call: null }));
    return feed;
  }

  #isNewerCall(feed: Feed, call: CallSnapshot): boolean {
    if (feed.call && feed.call.id === call.callId && call.revision <= feed.call.revision) return false;
    feed.call = { id: call.callId, revision: call.revision };
    return true;
  }

  /** Delivers messages of a conversation in seq order, once; a gap is filled from the store. */
  #order(topic: string, envelope: Envelope, seq: number): void {
    const feed = this.#feed(topic);
    feed.lastSeq ??= seq - 1;
    if (seq <= feed.lastSeq || feed.held.has(seq)) return;
    feed.held.set(seq, envelope);
    this.#drain(topic, feed);
    if (feed.held.size > 0) void this.#fill(topic, feed);
  }

  #drain(topic: string, feed: Feed): void {
    for (let next = feed.held.get((feed.lastSeq ?? 0) + 1); next !== undefined; next = feed.held.get((feed.lastSeq ?? 0) + 1)) {
      feed.held.delete((feed.lastSeq ?? 0) + 1);
      feed.lastSeq = (feed.lastSeq ?? 0) + 1;
      this.#local.deliver(topic, next);
    }
  }

  /** Reads the messages after the last delivered one from the store and delivers them (and what waited). */
  async #fill(topic: string, feed: Feed): Promise<void> {
    if (feed.filling) return;
    feed.filling = true;
    const sessionID = topic.slice(CONVERSATION.length);
    try {
      for (;;) {
        if (this.#feeds.get(topic) !== feed || feed.lastSeq === null) return;
        const page = await this.#options.catchUp.messagesAfter(sessionID, feed.lastSeq);
        if (this.#feeds.get(topic) !== feed) return;
        for (const message of page.messages) {
          if (message.seq !== feed.lastSeq + 1) continue;
          const waiting = feed.held.get(message.seq);
          feed.held.delete(message.seq);
          feed.lastSeq = message.seq;
          if (!waiting) this.#stats.recoveredFromStore++;
          this.#local.deliver(topic, waiting ?? { frame: { type: 'message', message }, json: JSON.stringify({ type: 'message', message }) });
        }
        this.#drain(topic, feed);
        if (!page.more || page.messages.length === 0) break;
      }
    } catch (err) {
      this.#options.log.warn({ err, sessionID }, 'missing messages could not be read from the store; the next check tries again');
    } finally {
      feed.filling = false;
    }
    // Held messages the store did not have yet (it answered before their commit was visible): try again shortly.
    if (feed.held.size > 0 && this.#feeds.get(topic) === feed) setTimeout(() => void this.#fill(topic, feed), 200).unref();
  }

  /**
   * Checks every conversation with subscribers here against the store: messages or a call change this node did
   * not deliver (their frames lost) are read and delivered now.
   */
  async #check(): Promise<void> {
    if (this.#checking || this.#closed) return;
    this.#checking = true;
    try {
      const topics = this.#local.names().filter((t) => t.startsWith(CONVERSATION));
      if (topics.length === 0) return;
      const positions = await this.#options.catchUp.positions(topics.map((t) => t.slice(CONVERSATION.length)));
      for (const topic of topics) {
        const position = positions.get(topic.slice(CONVERSATION.length));
        if (!position || this.#local.count(topic) === 0) continue;
        const feed = this.#feed(topic);
        // No message went by since the subscription: deliver the last one again (clients keep each seq once),
        // so a client that lost it sees it, and one behind by more sees a gap and syncs.
        if (feed.lastSeq === null) feed.lastSeq = Math.max(0, position.lastSeq - 1);
        if (position.lastSeq > feed.lastSeq) void this.#fill(topic, feed);
        const call = position.call;
        if (call === null) continue;
        if (feed.call === null) feed.call = call;
        else if (feed.call.id !== call.id || call.revision > feed.call.revision) await this.#deliverCall(topic, call.id);
      }
    } catch (err) {
      this.#options.log.warn({ err }, 'the position check failed; it runs again shortly');
    } finally {
      this.#checking = false;
    }
  }

  async #deliverCall(topic: string, callId: string): Promise<void> {
    const snapshot = await this.#options.catchUp.callSnapshot(callId);
    if (snapshot === null || this.#local.count(topic) === 0) return;
    const frame: ServerFrame = { type: 'call.updated', call: snapshot };
    if (!this.#isNewerCall(this.#feed(topic), snapshot)) return;
    this.#stats.recoveredFromStore++;
    this.#local.deliver(topic, { frame, json: JSON.stringify(frame) });
  }
}
