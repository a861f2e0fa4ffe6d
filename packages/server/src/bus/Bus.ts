import type { ServerFrame } from '@parley/protocol';
import type { Topic } from './topics.ts';

/*
 * The Bus port: fan-out of server frames to every connection subscribed to a topic, on this node and
 * (with a networked adapter) on every other node. Frames are serialized once per publish.
 * The topics and the frames each carries are in ./topics.ts.
 */

export type { Topic } from './topics.ts';

export interface Envelope {
  frame: ServerFrame;
  /** The frame as JSON, made once. */
  json: string;
  /** Connections of this identity skip the frame (e.g. typing goes to the others only). */
  exceptParty?: string;
  /** This one subscriber skips the frame (the connection that already has it in its `result`). */
  exceptSubscriber?: BusSubscriber;
}

export interface PublishOptions {
  exceptParty?: string;
  exceptSubscriber?: BusSubscriber;
}

export interface BusSubscriber {
  deliver(envelope: Envelope): void;
}

export interface Bus {
  /** Publishes a frame the topic carries. */
  publish<F extends ServerFrame>(topic: Topic<F>, frame: NoInfer<F>, options?: PublishOptions): void;
  subscribe(topic: Topic, subscriber: BusSubscriber): void;
  unsubscribe(topic: Topic, subscriber: BusSubscriber): void;
  /** Number of local subscribers of a topic. */
  localSubscribers(topic: Topic): number;
  close(): Promise<void>;
}
