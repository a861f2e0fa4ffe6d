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

/** News one node gives the others, beside the frames: a cache elsewhere should read the store again. */
export type ClusterEvent =
  /** An agent's connections or choice changed on the announcing node. */
  { kind: 'presence'; agentId: string };

/** What caches and monitors hear of the bus beside the frames of their own topics. */
export interface BusObserver {
  /** A frame published on another node reached this one (it is delivered to local subscribers right after). */
  remote?(topic: Topic, frame: ServerFrame): void;
  /** The bus was away and is back: frames of other nodes may have been lost meanwhile. */
  recovered?(): void;
  /** Another node announced something. */
  announced?(event: ClusterEvent): void;
  /** A frame made the round trip through the bus and back to this node, in `ms`. */
  roundTrip?(ms: number): void;
}

/** How the bus is doing, for /healthz and /metrics. */
export interface BusHealth {
  /** False while frames cannot reach the other nodes. */
  connected: boolean;
  /** Why not, when not connected. */
  reason: string | null;
  /** The last round trip of a frame through the bus and back, in ms; null before the first. */
  roundTripMs: number | null;
  published: number;
  received: number;
  /** Frames that did not leave this node (the bus away), and frames of other nodes found missing and read from the store. */
  dropped: number;
  /** Messages a receiver found missing (a seq gap or a position check) and read from the store. */
  recoveredFromStore: number;
}

export interface Bus {
  /** Publishes a frame the topic carries. */
  publish<F extends ServerFrame>(topic: Topic<F>, frame: NoInfer<F>, options?: PublishOptions): void;
  /**
   * `position`, for a conversation: the last seq the subscriber has or reads itself (its snapshot's `lastSeq`);
   * this node's ordered delivery of the conversation's messages starts after it when it had none yet.
   */
  subscribe(topic: Topic, subscriber: BusSubscriber, position?: number): void;
  unsubscribe(topic: Topic, subscriber: BusSubscriber): void;
  /** Number of local subscribers of a topic. */
  localSubscribers(topic: Topic): number;
  /** Tells every other node (never this one). Lossy, like frames. */
  announce(event: ClusterEvent): void;
  observe(observer: BusObserver): void;
  health(): BusHealth;
  /** Resolves once the frames published so far have left this node (or failed to). */
  flush(): Promise<void>;
  close(): Promise<void>;
}
