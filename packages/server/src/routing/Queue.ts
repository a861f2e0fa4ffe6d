import type { QueuedConversation, VisitorInfo } from '@parley/protocol';
import { LIMITS } from '@parley/protocol';
import type { Logger } from 'pino';
import type { Bus } from '../bus/Bus.ts';
import { topics } from '../bus/topics.ts';
import { ParleyServerError } from '../errors.ts';
import type { ConversationRecord, Store } from '../store/Store.ts';
import { cutText, queueUpdates } from './queueUpdates.ts';

export interface QueueOptions {
  store: Pick<Store, 'listQueuedConversations' | 'getConversation'>;
  bus: Bus;
  log: Logger;
}

/** What one `queue.list` answers. */
export interface QueuePage {
  queue: QueuedConversation[];
  size: number;
  next: string | null;
}

/** Entries one page holds when the client does not say. */
export const DEFAULT_QUEUE_PAGE = 50;

/**
 * The conversations waiting for an agent, oldest first, as the store holds them. Agents hear news of the
 * queue (`queue.updated`: added, removed, size), never the whole queue, coalesced once per turn of the event
 * loop however many changes the turn made; they read pages of it on request.
 */
export class Queue {
  readonly #options: QueueOptions;
  #added = new Set<string>();
  #removed = new Set<string>();
  #flushPending = false;

  constructor(options: QueueOptions) {
    this.#options = options;
  }

  /** One page of the waiting conversations: `limit` of them after the one `after` names (from the oldest when absent). */
  async page(query: { limit?: number | undefined; after?: string | undefined } = {}): Promise<QueuePage> {
    const limit = Math.min(query.limit ?? DEFAULT_QUEUE_PAGE, LIMITS.maxQueuePage);
    const records = await this.#options.store.listQueuedConversations();
    let start = 0;
    if (query.after !== undefined) {
      const index = records.findIndex((r) => r.id === query.after);
      if (index >= 0) start = index + 1;
      else {
        // The cursor's conversation left the queue: continue after where it stood.
        const gone = await this.#options.store.getConversation(query.after);
        if (gone === null) throw ParleyServerError.notFound('conversation');
        start = records.findIndex((r) => r.createdAt > gone.createdAt || (r.createdAt === gone.createdAt && r.id > gone.id));
        if (start < 0) start = records.length;
      }
    }
    const slice = records.slice(start, start + limit);
    const more = start + slice.length < records.length;
    return { queue: slice.map(toQueued), size: records.length, next: more ? (slice.at(-1)?.id ?? null) : null };
  }

  /** A conversation entered the queue: agents hear of it at the end of this turn. */
  added(sessionID: string): void {
    this.#added.add(sessionID);
    this.#schedule();
  }

  /** A conversation left the queue (taken or closed): agents hear of it at the end of this turn. */
  removed(sessionID: string): void {
    this.#removed.add(sessionID);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#flushPending) return;
    this.#flushPending = true;
    setImmediate(() => {
      this.#flushPending = false;
      const added = this.#added;
      const removed = this.#removed;
      this.#added = new Set();
      this.#removed = new Set();
      this.#options.store.listQueuedConversations().then(
        (records) => {
          for (const frame of queueUpdates(records.map(toQueued), added, removed)) this.#options.bus.publish(topics.agents, frame);
        },
        (err: unknown) => this.#options.log.error({ err }, 'queue broadcast failed'),
      );
    });
  }
}

/** The queue view of a conversation: only what the queue shows, long fields cut (see `LIMITS.queue…Chars`). */
export function toQueued(record: ConversationRecord): QueuedConversation {
  const info: VisitorInfo = {};
  if (record.visitorInfo.page !== undefined) info.page = cutText(record.visitorInfo.page, LIMITS.queuePageChars);
  if (record.visitorInfo.userAgent !== undefined) info.userAgent = cutText(record.visitorInfo.userAgent, LIMITS.queueUserAgentChars);
  return {
    sessionID: record.id,
    visitor: record.visitor,
    waitingSince: record.createdAt,
    firstMessage: record.firstMessage === null ? null : cutText(record.firstMessage, LIMITS.queueFirstMessageChars),
    visitorInfo: info,
  };
}
