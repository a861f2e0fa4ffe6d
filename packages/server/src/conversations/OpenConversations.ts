import type { Party } from '@parley/protocol';
import { ParleyServerError } from '../errors.ts';
import type { ConversationRecord, Store } from '../store/Store.ts';

function isMember(party: Party, record: ConversationRecord, members: readonly Party[]): boolean {
  return (
    (party.role === 'visitor' && record.visitor.id === party.id) ||
    (party.role === 'agent' && (record.agent?.id === party.id || members.some((m) => m.id === party.id)))
  );
}

/**
 * The open conversations this node has touched, with their members (agents added to a conversation besides
 * its own agent), kept at hand so a message or a snapshot needs no store read. Closed ones are dropped.
 * The store stays the truth: anything not at hand is read from it.
 */
export class OpenConversations {
  readonly #store: Pick<Store, 'getConversation' | 'listConversationMembers'>;
  readonly #records = new Map<string, ConversationRecord>();
  readonly #members = new Map<string, Party[]>();
  /** Conversations another node changed (assigned, closed, a member added): read again on next use. */
  readonly #stale = new Set<string>();

  constructor(store: Pick<Store, 'getConversation' | 'listConversationMembers'>) {
    this.#store = store;
  }

  /** Keeps an open conversation at hand; its members are read from the store unless given (a new one has none). */
  async keep(record: ConversationRecord, members?: Party[]): Promise<void> {
    this.#records.set(record.id, record);
    this.#stale.delete(record.id);
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

  /** Another node changed the conversation: what is at hand is read again from the store before it is relied on. */
  changedElsewhere(sessionID: string): void {
    if (this.#records.has(sessionID)) this.#stale.add(sessionID);
  }

  /** The bus was away: anything at hand may have changed elsewhere. */
  everythingChangedElsewhere(): void {
    for (const sessionID of this.#records.keys()) this.#stale.add(sessionID);
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
    this.#stale.delete(sessionID);
  }

  /**
   * Loads a conversation and checks that `party` belongs to it; `forbidden`/`not_found` otherwise. What is at
   * hand is trusted unless another node changed it; a refusal is always checked against the store first (an
   * assignment or an added member elsewhere may not have reached this node yet).
   */
  async requireMember(party: Party, sessionID: string): Promise<ConversationRecord> {
    const fresh = this.#stale.has(sessionID) || !this.#records.has(sessionID);
    let found = await this.#load(sessionID, fresh);
    if (found === null) throw ParleyServerError.notFound('conversation');
    if (!isMember(party, found.record, found.members) && !fresh) found = await this.#load(sessionID, true);
    if (found === null) throw ParleyServerError.notFound('conversation');
    if (!isMember(party, found.record, found.members)) throw ParleyServerError.forbidden('you are not a member of this conversation');
    return found.record;
  }

  async #load(sessionID: string, fresh: boolean): Promise<{ record: ConversationRecord; members: Party[] } | null> {
    if (!fresh) {
      const record = this.#records.get(sessionID);
      const members = this.#members.get(sessionID);
      if (record && members) return { record, members };
    }
    this.#stale.delete(sessionID);
    const record = await this.#store.getConversation(sessionID);
    if (record === null) return null;
    const members = await this.#store.listConversationMembers(sessionID);
    const known = this.#records.get(sessionID);
    // The last seq at hand may be ahead of the read (a message stored meanwhile by this node).
    if (known && known.lastSeq > record.lastSeq) record.lastSeq = known.lastSeq;
    if (record.status !== 'closed') {
      this.#records.set(sessionID, record);
      this.#members.set(sessionID, members);
    } else if (this.#records.has(sessionID)) {
      // Closed (perhaps elsewhere): what is at hand says so. It is not dropped here, since an action in progress
      // may still read it; the close's own path drops it.
      this.#records.set(sessionID, record);
    }
    return { record, members };
  }
}
