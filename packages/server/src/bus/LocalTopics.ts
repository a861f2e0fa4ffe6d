import type { BusSubscriber, Envelope, Topic } from './Bus.ts';

/** The subscribers of each topic on this node, and delivery to them. Shared by every Bus adapter. */
export class LocalTopics {
  readonly #topics = new Map<string, Set<BusSubscriber>>();

  constructor(private readonly onDeliveryError: (err: unknown) => void) {}

  /** Delivers to every local subscriber of the topic but `envelope.exceptSubscriber`. */
  deliver(topic: string, envelope: Envelope): void {
    const subscribers = this.#topics.get(topic);
    if (!subscribers || subscribers.size === 0) return;
    for (const subscriber of [...subscribers]) {
      if (subscriber === envelope.exceptSubscriber) continue;
      try {
        subscriber.deliver(envelope);
      } catch (err) {
        this.onDeliveryError(err);
      }
    }
  }

  /** Returns true when this is the topic's first subscriber. */
  add(topic: Topic, subscriber: BusSubscriber): boolean {
    let set = this.#topics.get(topic);
    const first = set === undefined;
    if (!set) this.#topics.set(topic, (set = new Set()));
    set.add(subscriber);
    return first;
  }

  /** Returns true when the topic has no subscriber left. */
  remove(topic: Topic, subscriber: BusSubscriber): boolean {
    const set = this.#topics.get(topic);
    if (!set) return false;
    set.delete(subscriber);
    if (set.size > 0) return false;
    this.#topics.delete(topic);
    return true;
  }

  count(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  /** Every topic with a subscriber. */
  names(): string[] {
    return [...this.#topics.keys()];
  }

  clear(): void {
    this.#topics.clear();
  }
}
