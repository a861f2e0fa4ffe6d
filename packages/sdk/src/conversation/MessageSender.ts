import { ParleyError } from '../errors.ts';
import { newId } from '../ids.ts';
import { nextRetryDelayMs } from '../signaling/retryPolicy.ts';
import type { Message } from '../wire.ts';
import type { Outbox, OutboxEntry } from './Outbox.ts';

/** What a {@link MessageSender} needs from its conversation. */
export interface MessageSenderDeps {
  sessionID: string;
  outbox: Outbox;
  /** Sends `message.send` now; rejects at once with `unavailable` when not connected. */
  transmit(entry: OutboxEntry): Promise<Message>;
  /** Whether the connection is up (a failure while connected is retried on a timer). */
  isConnected(): boolean;
  /** The server stored a message of ours (first time or duplicate). */
  onStored(message: Message): void;
}

interface Waiter {
  resolve: (message: Message) => void;
  reject: (err: ParleyError) => void;
}

/**
 * The delivery guarantee of outgoing messages. Each message gets a `clientId` and stays in the
 * persistent outbox until the server acknowledges it; it is re-sent with the same `clientId` after a
 * reconnection, a timeout or a page reload (the server stores it once). Only final, coded errors
 * (`too_large`, `forbidden`, `conflict`, `invalid_frame`, `not_found`) drop it and reject the caller.
 */
export class MessageSender {
  private readonly waiters = new Map<string, Waiter>();
  private readonly inFlight = new Set<string>();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryAttempt = 0;
  private running = false;

  constructor(private readonly deps: MessageSenderDeps) {}

  /** Messages of this conversation still waiting for acknowledgement, oldest first. */
  get pending(): OutboxEntry[] {
    return this.deps.outbox.entriesFor(this.deps.sessionID);
  }

  /** Queues a text; resolves with the stored message once the server has acknowledged it. */
  enqueue(text: string): Promise<Message> {
    const entry: OutboxEntry = {
      clientId: newId(),
      sessionID: this.deps.sessionID,
      text,
      createdAt: new Date().toISOString(),
    };
    this.deps.outbox.add(entry);
    const acknowledged = new Promise<Message>((resolve, reject) => {
      this.waiters.set(entry.clientId, { resolve, reject });
    });
    this.flush();
    return acknowledged;
  }

  /** Starts sending (once the conversation is loaded), and sends whatever waits. */
  start(): void {
    this.running = true;
    this.flush();
  }

  /** Sends every waiting entry not already on its way. Call after every (re)connection. */
  flush(): void {
    if (!this.running) return;
    this.clearRetry();
    for (const entry of this.pending) {
      if (this.inFlight.has(entry.clientId)) continue;
      this.inFlight.add(entry.clientId);
      this.deps.transmit(entry).then(
        (message) => this.acknowledged(entry, message),
        (err: unknown) => this.failed(entry, ParleyError.from(err)),
      );
    }
  }

  /**
   * Stops sending: the page disconnected or the conversation closed. Waiting callers reject with
   * `reason`; when `forget` is true the entries are dropped from storage too (closed conversation).
   */
  stop(reason: ParleyError, forget: boolean): void {
    this.running = false;
    this.clearRetry();
    if (forget) for (const entry of this.pending) this.deps.outbox.remove(entry.clientId);
    for (const waiter of this.waiters.values()) waiter.reject(reason);
    this.waiters.clear();
  }

  private acknowledged(entry: OutboxEntry, message: Message): void {
    this.inFlight.delete(entry.clientId);
    this.retryAttempt = 0;
    this.deps.outbox.remove(entry.clientId);
    this.deps.onStored(message);
    const waiter = this.waiters.get(entry.clientId);
    this.waiters.delete(entry.clientId);
    waiter?.resolve(message);
  }

  private failed(entry: OutboxEntry, err: ParleyError): void {
    this.inFlight.delete(entry.clientId);
    if (err.final) {
      this.deps.outbox.remove(entry.clientId);
      const waiter = this.waiters.get(entry.clientId);
      this.waiters.delete(entry.clientId);
      waiter?.reject(err);
      return;
    }
    // Not connected: the next connection flushes. Connected (timeout, rate_limited, internal): retry later.
    if (this.deps.isConnected()) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || !this.running) return;
    const delay = Math.max(250, nextRetryDelayMs(this.retryAttempt++, { maxAttempts: Infinity }) ?? 0);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.flush();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
