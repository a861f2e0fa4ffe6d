import type { ServerFrame } from '@parley/protocol';
import type { Bus, BusHealth, BusSubscriber, PublishOptions, Topic } from './Bus.ts';
import { LocalTopics } from './LocalTopics.ts';

/** The embedded default: topics live in this process only. */
export class InProcessBus implements Bus {
  readonly #local: LocalTopics;
  #published = 0;

  constructor(onDeliveryError: (err: unknown) => void = () => {}) {
    this.#local = new LocalTopics(onDeliveryError);
  }

  publish<F extends ServerFrame>(topic: Topic<F>, frame: NoInfer<F>, options: PublishOptions = {}): void {
    this.#published++;
    if (this.#local.count(topic) === 0) return;
    this.#local.deliver(topic, { frame, json: JSON.stringify(frame), ...options });
  }

  subscribe(topic: Topic, subscriber: BusSubscriber): void {
    this.#local.add(topic, subscriber);
  }

  unsubscribe(topic: Topic, subscriber: BusSubscriber): void {
    this.#local.remove(topic, subscriber);
  }

  localSubscribers(topic: Topic): number {
    return this.#local.count(topic);
  }

  /** There are no other nodes. */
  announce(): void {}

  /** Nothing comes from elsewhere, and the bus is never away. */
  observe(): void {}

  health(): BusHealth {
    return { connected: true, reason: null, roundTripMs: null, published: this.#published, received: 0, dropped: 0, recoveredFromStore: 0 };
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.#local.clear();
  }
}
