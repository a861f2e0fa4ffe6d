import { Migrator, sql } from 'kysely';
import type { Kysely, Migration, MigrationProvider, MigrationResultSet } from 'kysely';

/*
 * Versioned schema migrations, shared by every SQL adapter of the Store (SQLite and
 * PostgreSQL). They use kysely's schema builder only, so each dialect gets its own DDL; where SQL is
 * written by hand it is SQL both dialects accept. Migrations are append-only: never edit one that
 * has shipped, add the next `NNNN_name` instead. They receive `Kysely<any>` on purpose: a
 * migration describes the schema as it was then, not as schema.ts describes it now.
 *
 * kysely records applied migrations in `kysely_migration` and runs pending ones in name order.
 */

/** 0001: agents, visitors, conversations and messages, with the indexes the Store queries use. */
const initial: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('agents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    // Case-insensitive uniqueness; getAgentByEmail looks up by the same expression.
    await db.schema
      .createIndex('agents_email_lower_key')
      .on('agents')
      .unique()
      .expression(sql`lower(email)`)
      .execute();

    await db.schema
      .createTable('visitors')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('email', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('conversations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('visitor_id', 'text', (c) => c.notNull().references('visitors.id'))
      .addColumn('agent_id', 'text', (c) => c.references('agents.id'))
      .addColumn('visitor_info', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('first_message', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('assigned_at', 'text')
      .addColumn('closed_at', 'text')
      .addColumn('closed_by_id', 'text')
      .addColumn('closed_by_role', 'text')
      .addColumn('closed_by_name', 'text')
      .addCheckConstraint('conversations_status_check', sql`status in ('queued', 'active', 'closed')`)
      .addCheckConstraint('conversations_last_seq_check', sql`last_seq >= 0`)
      .execute();
    // The queue (status = 'queued' by created_at) and the per-agent active counts.
    await db.schema
      .createIndex('conversations_status_created_idx')
      .on('conversations')
      .columns(['status', 'created_at', 'id'])
      .execute();
    // Open conversations of a visitor.
    await db.schema
      .createIndex('conversations_visitor_status_idx')
      .on('conversations')
      .columns(['visitor_id', 'status', 'created_at', 'id'])
      .execute();
    // Open conversations of an agent (and the agent foreign key).
    await db.schema
      .createIndex('conversations_agent_status_idx')
      .on('conversations')
      .columns(['agent_id', 'status', 'created_at', 'id'])
      .execute();

    await db.schema
      .createTable('messages')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('from_id', 'text', (c) => c.notNull())
      .addColumn('from_role', 'text', (c) => c.notNull())
      .addColumn('from_name', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text')
      .addColumn('at', 'text', (c) => c.notNull())
      .addCheckConstraint('messages_kind_check', sql`kind in ('text', 'event')`)
      .addCheckConstraint('messages_seq_check', sql`seq >= 1`)
      // Pages of history (seq ranges); also the conversation foreign key's index.
      .addUniqueConstraint('messages_conversation_seq_key', ['conversation_id', 'seq'])
      // Idempotent sends: NULL client ids (events) never collide.
      .addUniqueConstraint('messages_conversation_client_key', ['conversation_id', 'from_id', 'client_id'])
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('messages').execute();
    await db.schema.dropTable('conversations').execute();
    await db.schema.dropTable('visitors').execute();
    await db.schema.dropTable('agents').execute();
  },
};

/** 0002: agents added to a conversation besides its assigned agent (colleagues, supervisors). */
const conversationMembers: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('conversation_members')
      .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
      .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id'))
      .addColumn('added_by_id', 'text', (c) => c.notNull())
      .addColumn('added_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('conversation_members_pkey', ['conversation_id', 'agent_id'])
      .execute();
    // An agent's conversations as a member.
    await db.schema.createIndex('conversation_members_agent_idx').on('conversation_members').columns(['agent_id', 'conversation_id']).execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('conversation_members').execute();
  },
};

/**
 * 0003: the state that lets calls outlive a node: calls (live and ended), their media (a Janus room),
 * redeemed guest links and agents' chosen presence.
 */
const callState: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('calls')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('next_deadline_at', 'text')
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('ended_at', 'text')
      .execute();
    // At most one live call per conversation, whichever node starts it.
    await db.schema
      .createIndex('calls_live_conversation_key')
      .on('calls')
      .unique()
      .column('conversation_id')
      .where(sql.ref('state'), '<>', 'ended')
      .execute();
    // A conversation's call history; live calls a starting node loads; deadlines a sweep finds.
    await db.schema.createIndex('calls_conversation_created_idx').on('calls').columns(['conversation_id', 'created_at']).execute();
    await db.schema.createIndex('calls_state_idx').on('calls').columns(['state', 'created_at']).execute();
    await db.schema.createIndex('calls_next_deadline_idx').on('calls').column('next_deadline_at').execute();

    await db.schema
      .createTable('call_media')
      .addColumn('call_id', 'text', (c) => c.primaryKey().references('calls.id'))
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('guest_redemptions')
      .addColumn('jti', 'text', (c) => c.primaryKey())
      .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id'))
      .addColumn('guest_id', 'text', (c) => c.notNull())
      .addColumn('redeemed_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('guest_redemptions_call_idx').on('guest_redemptions').column('call_id').execute();

    await db.schema
      .createTable('agent_presence')
      .addColumn('agent_id', 'text', (c) => c.primaryKey().references('agents.id'))
      .addColumn('chosen', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addCheckConstraint('agent_presence_chosen_check', sql`chosen in ('online', 'away')`)
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('agent_presence').execute();
    await db.schema.dropTable('guest_redemptions').execute();
    await db.schema.dropTable('call_media').execute();
    await db.schema.dropTable('calls').execute();
  },
};

/**
 * 0004: what the nodes of one deployment share besides the conversations: the nodes themselves (a heartbeat each),
 * which parties each node holds connections of (so a survivor can tell who lost their last connection when a node
 * dies), and settings made once for every node (the token-signing secret).
 */
const manyNodes: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('nodes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('heartbeat_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('nodes_heartbeat_idx').on('nodes').column('heartbeat_at').execute();

    await db.schema
      .createTable('node_parties')
      .addColumn('node_id', 'text', (c) => c.notNull())
      .addColumn('party_id', 'text', (c) => c.notNull())
      .addColumn('party_role', 'text', (c) => c.notNull())
      .addColumn('party_name', 'text', (c) => c.notNull())
      .addColumn('connections', 'integer', (c) => c.notNull())
      .addColumn('since', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('node_parties_pkey', ['node_id', 'party_id'])
      .addCheckConstraint('node_parties_connections_check', sql`connections > 0`)
      .execute();
    // Is this party connected anywhere; which agents are connected.
    await db.schema.createIndex('node_parties_party_idx').on('node_parties').column('party_id').execute();

    await db.schema
      .createTable('settings')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('settings').execute();
    await db.schema.dropTable('node_parties').execute();
    await db.schema.dropTable('nodes').execute();
  },
};

/**
 * 0005: seqs come from the messages. SQLite stops keeping a counter on the conversation's row and numbers a
 * conversation's messages from the highest seq of its messages (sqliteSeqs.ts); PostgreSQL keeps moving the counter
 * its appends lock. This migration sets every counter to the highest seq of the conversation's messages (the value a
 * healthy database has already), and, being recorded, makes an older version refuse the database instead of
 * numbering SQLite's messages from a counter this version no longer moves.
 */
const seqsFromMessages: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await sql`
      update conversations
      set last_seq = coalesce((select max(m.seq) from messages m where m.conversation_id = conversations.id), 0)`.execute(db);
  },

  async down(): Promise<void> {
    // Nothing to undo: the counters hold the highest seqs, as the older version expects them.
  },
};

/** Every migration by name; names sort in the order they apply. */
export const storeMigrations: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_initial': initial,
  '0002_conversation_members': conversationMembers,
  '0003_call_state': callState,
  '0004_many_nodes': manyNodes,
  '0005_seqs_from_messages': seqsFromMessages,
});

/** An in-code MigrationProvider over {@link storeMigrations} (no migration files to ship or find). */
export const storeMigrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...storeMigrations }),
};

/** Names of the migrations a fully migrated database has applied, in order. */
export const latestMigrationNames: readonly string[] = Object.keys(storeMigrations).sort();

/**
 * Brings the database to the latest schema. Safe on every start: applied migrations are skipped.
 * Transactions are the dialect's business (kysely wraps each run in one where DDL is transactional,
 * e.g. PostgreSQL; the SQLite adapter wraps the call itself).
 *
 * @throws the first migration's error, with the failing migration's name in the message.
 */
export async function migrateStoreToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: storeMigrationProvider });
  const resultSet = await migrator.migrateToLatest();
  if (resultSet.error !== undefined) {
    const failed = resultSet.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Store migration ${failed} failed`, { cause: resultSet.error });
  }
  return resultSet;
}
