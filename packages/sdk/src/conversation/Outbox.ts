import { readJson, writeJson, type KeyValueStorage } from '../storage.ts';

/** A message written by this identity and not yet acknowledged by the server. */
export interface OutboxEntry {
  /** The client-made id; a re-send with the same id is stored only once. */
  clientId: string;
  sessionID: string;
  text: string;
  /** ISO 8601, client clock. */
  createdAt: string;
}

/**
 * Messages waiting for the server's acknowledgement, kept in storage so that a page reload (or a
 * second tab) re-sends them with the same `clientId`. Every change reads and writes storage, so tabs
 * sharing one identity do not overwrite each other's entries.
 */
export class Outbox {
  constructor(
    private readonly storage: KeyValueStorage,
    private readonly key: string,
  ) {}

  /** Every waiting entry, oldest first. */
  all(): OutboxEntry[] {
    const entries = readJson<OutboxEntry[]>(this.storage, this.key);
    return Array.isArray(entries) ? entries.filter(isEntry) : [];
  }

  /** The waiting entries of one conversation, oldest first. */
  entriesFor(sessionID: string): OutboxEntry[] {
    return this.all().filter((e) => e.sessionID === sessionID);
  }

  /** Adds an entry (an entry with the same clientId is replaced). */
  add(entry: OutboxEntry): void {
    this.save([...this.all().filter((e) => e.clientId !== entry.clientId), entry]);
  }

  /** Removes an acknowledged or refused entry. */
  remove(clientId: string): void {
    const entries = this.all();
    const kept = entries.filter((e) => e.clientId !== clientId);
    if (kept.length !== entries.length) this.save(kept);
  }

  /** Drops the entries of conversations not in `sessionIDs` (closed while this page was away). */
  retainOnly(sessionIDs: ReadonlySet<string>): void {
    const entries = this.all();
    const kept = entries.filter((e) => sessionIDs.has(e.sessionID));
    if (kept.length !== entries.length) this.save(kept);
  }

  private save(entries: OutboxEntry[]): void {
    if (entries.length === 0) this.storage.removeItem(this.key);
    else writeJson(this.storage, this.key, entries);
  }
}

function isEntry(value: unknown): value is OutboxEntry {
  const e = value as Partial<OutboxEntry> | null;
  return !!e && typeof e.clientId === 'string' && typeof e.sessionID === 'string' && typeof e.text === 'string';
}
