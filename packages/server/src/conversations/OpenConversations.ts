import type { Party } from '@parley/protocol';
import { ParleyServerError } from '../errors.ts';
import type { ConversationRecord, Store } from '../store/Store.ts';

/**
 * The open conversations this node has touched, with their members (agents added to a conversation besides
 * its own agent), kept at hand so a message or a snapshot needs no store read. Closed ones are dropped.
 * The store stays the truth: anything not at hand is read from it.
 */
export class OpenConversations {
  readonly #store: Pick<Store, 'getConversation' | 'listConversationMembers'>;
  readonly #records = new Map<string, ConversationRecord>();
  readonly #members = new Map<string, Party[]>();

  constructor(store: Pick<Store, 'getConversation' | 'listConversationMembers'>) {
    this.#store = store;
  }

  /** Keeps an open conversation at hand; its members are read from the store unless given (a new one has none). */
  async keep(record: ConversationRecord, members?: Party[]): Promise<void> {
    this.#records.set(record.id, record);
    if (members !== undefined) this.#members.set(record.id, members);
    else if (!this.#members.has(record.id)) this.#members.set(record.id, await this.#store.listConversationMembers(record.id));
  }

  /** Replaces the record of a conversation at hand (it was assigned); its members stay. */
  update(record: ConversationRecord): void {
    this.#records.set(record.id, record);
  }

  /** The record of a conversation at hand; throws when it is not (a bug: callers keep it first). */
  get(sessionID: string): ConversationRecord {
    const record = this.#records.get(sessionID);
    if (!record) throw new Error(`conversation ${sessionID} is not at hand`);
    return record;
  }

  membersOf(sessionID: string): Party[] {
    return this.#members.get(sessionID) ?? [];
  }

  addMember(sessionID: string, agent: Party): void {
    this.#members.set(sessionID, [...this.membersOf(sessionID), agent]);
  }

  /** A message was stored: the conversation's last seq moves on. */
  noteSeq(sessionID: string, seq: number): void {
    const record = this.#records.get(sessionID);
    if (record && record.lastSeq < seq) record.lastSeq = seq;
  }

  /** The conversation closed: it is no longer kept. */
  drop(sessionID: string): void {
    this.#records.delete(sessionID);
    this.#members.delete(sessionID);
  }

  /** Loads a conversation and checks that `party` belongs to it; `forbidden`/`not_found` otherwise. */
  async requireMember(party: Party, sessionID: string): Promise<ConversationRecord> {
    const record = this.#records.get(sessionID) ?? (await this.#store.getConversation(sessionID));
    if (record === null) throw ParleyServerError.notFound('conversation');
    const members = this.#members.get(sessionID) ?? (await this.#store.listConversationMembers(sessionID));
    const member =
      (party.role === 'visitor' && record.visitor.id === party.id) ||
      (party.role === 'agent' && (record.agent?.id === party.id || members.some((m) => m.id === party.id)));
    if (!member) throw ParleyServerError.forbidden('you are not a member of this conversation');
    if (record.status !== 'closed') {
      this.#records.set(sessionID, record);
      this.#members.set(sessionID, members);
    }
    return record;
  }
}
