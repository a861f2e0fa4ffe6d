import type { ServerFrame } from '@parley/protocol';
import type { Bus, BusSubscriber, Envelope, PublishOptions, Topic } from './Bus.ts';

/** The embedded default: topics live in this process only. */
export class InProcessBus implements Bus {
  readonly #topics = new Map<string, Set<BusSubscriber>>();

  constructor(private readonly onDeliveryError: (err: unknown) => void = () => {}) {}

  publish<F extends ServerFrame>(topic: Topic<F>, frame: NoInfer<F>, options: PublishOptions = {}): void {
    const subscribers = this.#topics.get(topic);
    if (!subscribers || subscribers.size === 0) return;
    const envelope: Envelope = { frame, json: JSON.stringify(frame), ...options };
    for (const subscriber of [...subscribers]) {
      if (subscriber === options.exceptSubscriber) continue;
      try {
        subscriber.deliver(envelope);
      } catch (err) {
        this.onDeliveryError(err);
      }
    }
  }

  subscribe(topic: Topic, subscriber: BusSubscriber): void {
    let set = this.#topics.get(topic);
    if (!set) this.#topics.set(topic, (set = new Set()));
    set.add(subscriber);
  }

  unsubscribe(topic: Topic, subscriber: BusSubscriber): void {
    const set = this.#topics.get(topic);
    if (!set) return;
    set.delete(subscriber);
    if (set.size === 0) this.#topics.delete(topic);
  }

  localSubscribers(topic: Topic): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  async close(): Promise<void> {
    this.#topics.clear();
  }
}
