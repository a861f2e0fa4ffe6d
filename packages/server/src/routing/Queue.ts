import type { QueuedConversation } from '@parley/protocol';
import type { Logger } from 'pino';
import type { Bus } from '../bus/Bus.ts';
import { topics } from '../bus/topics.ts';
import type { ConversationRecord, Store } from '../store/Store.ts';

export interface QueueOptions {
  store: Pick<Store, 'listQueuedConversations'>;
  bus: Bus;
  log: Logger;
}

/**
 * The conversations waiting for an agent, oldest first, as the store holds them. Agents hear the queue again
 * (`queue.changed`) once per turn of the event loop, however many changes the turn made.
 */
export class Queue {
  readonly #options: QueueOptions;
  #broadcastPending = false;

  constructor(options: QueueOptions) {
    this.#options = options;
  }

  /** The waiting conversations now. */
  async list(): Promise<QueuedConversation[]> {
    return (await this.#options.store.listQueuedConversations()).map(toQueued);
  }

  /** Something entered or left the queue: agents hear the new queue at the end of this turn. */
  changed(): void {
    if (this.#broadcastPending) return;
    this.#broadcastPending = true;
    setImmediate(() => {
      this.#broadcastPending = false;
      this.list().then(
        (queue) => this.#options.bus.publish(topics.agents, { type: 'queue.changed', queue }),
        (err: unknown) => this.#options.log.error({ err }, 'queue broadcast failed'),
      );
    });
  }
}

export function toQueued(record: ConversationRecord): QueuedConversation {
  return {
    sessionID: record.id,
    visitor: record.visitor,
    waitingSince: record.createdAt,
    firstMessage: record.firstMessage,
    visitorInfo: record.visitorInfo,
  };
}
