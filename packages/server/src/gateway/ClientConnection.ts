import type { Party, ServerFrame, VisitorInfo } from '@parley/protocol';
import type { WebSocket } from 'ws';
import type { Bus, BusSubscriber, Envelope } from '../bus/Bus.ts';
import { topics, type Topic } from '../bus/topics.ts';
import type { TokenBucket } from '../rateLimit/TokenBucket.ts';
import type { Corkable, CorkedWrites } from './CorkedWrites.ts';

/** WebSocket close codes Parley uses. */
export const CloseCode = {
  normal: 1000,
  policy: 1008,
  tooBig: 1009,
  restart: 1012,
  tryAgainLater: 1013,
  badProtocol: 4400,
  unauthorized: 4401,
  /** Silent too long: not authenticated in time, or no frame and no pong within the idle limit. */
  idle: 4408,
} as const;

/** A slow reader holding more than this many unsent bytes is cut off (it will reconnect and resync). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Refused frames in a row (rate-limited or invalid) before the connection is closed as abusive. */
const MAX_STRIKES = 50;

/**
 * One authenticated WebSocket and the topics it listens to. It follows the frames it delivers to keep its
 * subscriptions right: an assigned or updated conversation is subscribed to, a closed one is dropped.
 */
export class ClientConnection implements BusSubscriber {
  party: Party | null = null;
  /** What the visitor's SDK said about its page and browser at authentication. */
  visitorInfo: VisitorInfo = {};
  /** Guests only: the one call this connection may hear of. */
  guestScope: { sessionID: string; callId: string } | null = null;
  readonly #topics = new Set<Topic>();
  #strikes = 0;
  #closed = false;
  /** Guests only: removed from (or gone from) its call. */
  #outOfCall = false;
  #heardAt = performance.now();

  constructor(
    readonly socket: WebSocket,
    readonly bus: Bus,
    readonly bucket: TokenBucket,
    readonly remote: string,
    /** The TCP socket under `socket`, and the writes of this turn it is held with: frames of one turn leave together. */
    readonly tcp: Corkable | null = null,
    readonly writes: CorkedWrites | null = null,
  ) {}

  get isOpen(): boolean {
    return !this.#closed && this.socket.readyState === this.socket.OPEN;
  }

  /** Sends one frame to this connection only. */
  send(frame: ServerFrame): void {
    this.sendJson(JSON.stringify(frame));
  }

  sendJson(json: string): void {
    if (!this.isOpen) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.close(CloseCode.tryAgainLater, 'too slow; reconnect');
      return;
    }
    if (this.tcp !== null) this.writes?.hold(this.tcp);
    this.socket.send(json);
  }

  deliver(envelope: Envelope): void {
    const party = this.party;
    if (party === null || envelope.exceptParty === party.id) return;
    const frame = envelope.frame;
    if (this.guestScope) return this.#deliverToGuest(envelope, party, this.guestScope);
    if (frame.type === 'conversation.assigned' || frame.type === 'conversation.updated') {
      if (frame.conversation.status !== 'closed') this.subscribe(topics.conversation(frame.conversation.sessionID), frame.conversation.lastSeq);
    }
    this.sendJson(envelope.json);
    if (frame.type === 'conversation.closed') this.unsubscribe(topics.conversation(frame.sessionID));
  }

  /**
   * A guest hears its call's changes and signaling, nothing else. Once a change shows it out of the call
   * (removed, or left) it hears that one and nothing more; its requests are still answered (with refusals).
   */
  #deliverToGuest(envelope: Envelope, guest: Party, scope: { callId: string }): void {
    if (this.#outOfCall) return;
    const frame = envelope.frame;
    if (frame.type === 'signal') return this.sendJson(envelope.json);
    if (frame.type !== 'call.updated' || frame.call.callId !== scope.callId) return;
    this.sendJson(envelope.json);
    if (!frame.call.participants.some((p) => p.id === guest.id)) this.outOfCall();
  }

  /** A guest's connection is no longer in its call: nothing of it reaches the guest any more. */
  outOfCall(): void {
    this.#outOfCall = true;
  }

  /** `position`: for a conversation, the last seq of the snapshot this connection has (see Bus.subscribe). */
  subscribe(topic: Topic, position?: number): void {
    if (this.#closed || this.#topics.has(topic)) return;
    this.#topics.add(topic);
    this.bus.subscribe(topic, this, position);
  }

  unsubscribe(topic: Topic): void {
    if (this.#topics.delete(topic)) this.bus.unsubscribe(topic, this);
  }

  isSubscribed(topic: Topic): boolean {
    return this.#topics.has(topic);
  }

  /** A frame or a pong arrived: the peer is alive. */
  heard(): void {
    this.#heardAt = performance.now();
  }

  /** Milliseconds since the last frame or pong. */
  silentForMs(): number {
    return performance.now() - this.#heardAt;
  }

  /** Records a refused frame; returns true when the connection has been closed for abuse. */
  strike(): boolean {
    if (++this.#strikes < MAX_STRIKES) return false;
    this.close(CloseCode.policy, 'too many refused frames');
    return true;
  }

  /** A frame was accepted: the abuse count starts over. */
  forgive(): void {
    this.#strikes = 0;
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.detach();
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
    }
  }

  /** Drops every subscription; called once the socket is gone. */
  detach(): void {
    this.#closed = true;
    for (const topic of this.#topics) this.bus.unsubscribe(topic, this);
    this.#topics.clear();
  }
}
