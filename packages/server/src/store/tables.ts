import type { ParleyDatabase } from './schema.ts';

/*
 * Every table of the store, in an order where each table comes after the tables its foreign keys
 * point to. Whatever walks the whole store generically reads this list: `parley db copy`
 * (store/copy.ts) copies the tables in this order and pages through each by its primary key.
 *
 * EVERY TABLE THE MIGRATIONS CREATE MUST BE LISTED HERE (kysely's own bookkeeping tables aside).
 * A table missing from the list would be silently left behind by a copy; tables.test.ts migrates
 * both dialects and fails on any table that is not listed, and the type check below fails on a
 * table of schema.ts that is not listed. Adding a table: add its line after its parents.
 */

/** One table of the store, as generic code needs to know it. */
export interface StoreTable {
  name: keyof ParleyDatabase & string;
  /** The primary key's columns, in the key's order: rows are paged by them (keyset pagination). */
  primaryKey: readonly string[];
  /** What is connected where right now: it means nothing in another database, so a copy leaves it out. */
  transient?: true;
}

/** The store's tables, parents before children. */
export const STORE_TABLES = [
  { name: 'agents', primaryKey: ['id'] },
  { name: 'visitors', primaryKey: ['id'] },
  { name: 'conversations', primaryKey: ['id'] },
  { name: 'conversation_members', primaryKey: ['conversation_id', 'agent_id'] },
  { name: 'messages', primaryKey: ['id'] },
  { name: 'calls', primaryKey: ['id'] },
  { name: 'call_media', primaryKey: ['call_id'] },
  { name: 'guest_redemptions', primaryKey: ['jti'] },
  { name: 'agent_presence', primaryKey: ['agent_id'] },
  { name: 'nodes', primaryKey: ['id'], transient: true },
  { name: 'node_parties', primaryKey: ['node_id', 'party_id'], transient: true },
  { name: 'settings', primaryKey: ['name'] },
] as const satisfies readonly StoreTable[];

/** Fails to compile while a table of ParleyDatabase is missing from STORE_TABLES (it names the table). */
type UnlistedTables = Exclude<keyof ParleyDatabase, (typeof STORE_TABLES)[number]['name']>;
const everyTableListed: [UnlistedTables] extends [never] ? true : { unlisted: Exclude<keyof ParleyDatabase, (typeof STORE_TABLES)[number]['name']> } = true;
void everyTableListed;

/** The tables `parley db copy` copies: every table but the transient ones. */
export const COPIED_TABLES: readonly StoreTable[] = STORE_TABLES.filter((t: StoreTable) => t.transient !== true);
