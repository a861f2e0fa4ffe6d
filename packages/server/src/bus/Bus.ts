import type { ServerFrame } from '@parley/protocol';

/*
 * The Bus port: fan-out of server frames to every connection subscribed to a topic, on this node and
 * (with a networked adapter) on every other node. Frames are serialized once per publish.
 *
 * Topics:  conv:<sessionID>  every member of a conversation
 *          party:<id>        every connection of one visitor or agent
 *          agents            every connected agent (queue and presence news)
 */

export type Topic = `conv:${string}` | `party:${string}` | 'agents';

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
  publish(topic: Topic, frame: ServerFrame, options?: PublishOptions): void;
  subscribe(topic: Topic, subscriber: BusSubscriber): void;
  unsubscribe(topic: Topic, subscriber: BusSubscriber): void;
  /** Number of local subscribers of a topic. */
  localSubscribers(topic: Topic): number;
  close(): Promise<void>;
}
