import type { Message, Party } from '@parley/protocol';
import type { Bus, BusSubscriber } from '../bus/Bus.ts';
import { topics } from '../bus/topics.ts';
import type { AppendMessageInput, AppendMessageResult, Store } from '../store/Store.ts';
import { KeyedSerial } from '../events/KeyedSerial.ts';
import { InFlight } from './InFlight.ts';
import { SYSTEM_PARTY } from '@parley/protocol/party';
import { uuidv7 } from './uuidv7.ts';

export interface TranscriptOptions {
  store: Pick<Store, 'appendMessage'>;
  bus: Bus;
  /** A new message was stored (before members hear of it). */
  onAppended: (message: Message) => void;
  /**
   * For the tests of losing a node: the process kills itself (SIGKILL) at `point` of appending a text message
   * that contains `marker`. Set only through PARLEY_TEST_CRASH_AT (see config.ts); null in production.
   */
  crashAt?: CrashPoint | null;
  /**
   * Publish a resent message the store answers as a duplicate (many nodes): its first append may have been on a
   * node that died before publishing it. Receivers keep each seq once, so publishing twice costs nothing more.
   */
  republishDuplicates?: boolean;
}

/** Where appending a message can be made to kill the process: before its commit, after it, after its publish. */
export interface CrashPoint {
  point: 'beforeCommit' | 'afterCommit' | 'afterPublish';
  marker: string;
}

/** Failed appends remembered for their retry; beyond this, the oldest are forgotten. */
const MAX_IN_DOUBT = 10_000;

/**
 * The messages of every conversation: each is stored, then published to the conversation's members. Appends
 * of one conversation run one at a time, so every subscriber sees them in seq order.
 */
export class Transcript {
  readonly #options: TranscriptOptions;
  readonly #serial = new KeyedSerial();
  readonly #inFlight = new InFlight();
  /** Appends that failed with their outcome unknown (see {@link append}), by sessionID, sender and clientId. */
  readonly #inDoubt = new Set<string>();

  constructor(options: TranscriptOptions) {
    this.#options = options;
  }

  /**
   * Appends one message, in order with the conversation's other appends, and publishes it. Idempotent on
   * `clientId`. `origin`, the sending connection, is left out of the fan-out: it gets the message in its `result`.
   *
   * An append that fails may still have been stored (the connection to the database lost after the commit
   * reached it). Such a message was never published: the retry of its clientId, which the store answers as a
   * duplicate, publishes it then, once.
   */
  append(
    sessionID: string,
    from: Party,
    kind: Message['kind'],
    text: string,
    clientId?: string,
    origin?: BusSubscriber,
  ): Promise<AppendMessageResult> {
    return this.#inFlight.track(() =>
      this.#serial.run(sessionID, async () => {
        const key = clientId === undefined ? null : `${sessionID}\n${from.id}\n${clientId}`;
        const crash = this.#crashFor(kind, text);
        if (crash === 'beforeCommit') die();
        const result = await this.#options.store
          .appendMessage({
            id: uuidv7(),
            sessionID,
            from,
            kind,
            text,
            at: new Date().toISOString(),
            ...(clientId !== undefined ? { clientId } : {}),
          })
          .catch((err: unknown) => {
            if (key !== null) this.#doubt(key);
            throw err;
          });
        if (crash === 'afterCommit') die();
        const unpublished = (key !== null && this.#inDoubt.delete(key)) || this.#options.republishDuplicates === true;
        if (!result.duplicate || unpublished) {
          this.#options.onAppended(result.message);
          this.#options.bus.publish(
            topics.conversation(sessionID),
            { type: 'message', message: result.message },
            origin ? { exceptSubscriber: origin } : {},
          );
        }
        if (crash === 'afterPublish') {
          await this.#options.bus.flush();
          die();
        }
        return result;
      }),
    );
  }

  /** Appends a system event message (an agent joined, a call started, …). */
  async appendEvent(sessionID: string, text: string): Promise<Message> {
    return (await this.append(sessionID, SYSTEM_PARTY, 'event', text)).message;
  }

  /**
   * Writes system events together with another change, in order with the conversation's other appends:
   * `write` stores the change and the given events in one transaction and returns the stored events, which
   * are then published. Nothing is published when `write` fails.
   */
  commit(sessionID: string, texts: readonly string[], write: (events: AppendMessageInput[]) => Promise<Message[]>): Promise<Message[]> {
    return this.#inFlight.track(() =>
      this.#serial.run(sessionID, async () => {
        const at = new Date().toISOString();
        const events = texts.map((text): AppendMessageInput => ({ id: uuidv7(), sessionID, from: SYSTEM_PARTY, kind: 'event', text, at }));
        const messages = await write(events);
        for (const message of messages) {
          this.#options.onAppended(message);
          this.#options.bus.publish(topics.conversation(sessionID), { type: 'message', message });
        }
        return messages;
      }),
    );
  }

  /** Resolves when no append is in progress (for graceful shutdown). */
  idle(): Promise<void> {
    return this.#inFlight.idle();
  }

  #crashFor(kind: Message['kind'], text: string): CrashPoint['point'] | null {
    const crash = this.#options.crashAt;
    return crash && kind === 'text' && text.includes(crash.marker) ? crash.point : null;
  }

  #doubt(key: string): void {
    // Bounded: the oldest doubts go first (their senders have long retried, or given up).
    if (this.#inDoubt.size >= MAX_IN_DOUBT) this.#inDoubt.delete(this.#inDoubt.values().next().value as string);
    this.#inDoubt.add(key);
  }
}

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: the process was killed');
}
