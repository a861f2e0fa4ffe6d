import { sql, type Kysely } from 'kysely';
import type { Message, Party } from '@parley/protocol';
import {
  agentFromRow,
  callFromRow,
  conversationFromRow,
  messageFromRow,
  visitorFromRow,
  visitorInfoToColumn,
  type ConversationRow,
  type ParleyDatabase,
} from './schema.ts';
import { StoreConflictError } from './Store.ts';
import type {
  AgentRecord,
  AppendMessageInput,
  AppendMessageResult,
  CallCommit,
  CallRecord,
  ChosenPresence,
  ConversationRecord,
  MessagePage,
  MessagePageQuery,
  Store,
  VisitorRecord,
} from './Store.ts';

/**
 * What the SQL adapters of the Store share: every method whose query is the same on each dialect
 * (kysely writes each dialect's SQL), the lifecycle (one migration at a time, closed means closed)
 * and the mapping of unique violations to StoreConflictError. An adapter brings its connection,
 * how it migrates, how it closes and the append hot path.
 */
export abstract class SqlStore implements Store {
  protected readonly db: Kysely<ParleyDatabase>;
  #migrating: Promise<void> | null = null;
  #closed = false;

  protected constructor(db: Kysely<ParleyDatabase>) {
    this.db = db;
  }

  /** Applies pending migrations; concurrent calls share one run, and other calls wait for it. */
  migrate(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#migrating === null) {
      this.#migrating = this.runMigrations().finally(() => {
        this.#migrating = null;
      });
    }
    return this.#migrating;
  }

  /** Idempotent; every other method rejects afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#migrating?.catch(() => undefined);
    await this.closeConnection();
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await sql`select 1`.execute(this.db);
  }

  /** Brings the schema to the latest migration, all or nothing. */
  protected abstract runMigrations(): Promise<void>;
  /** Settles what was requested already, then releases the connection(s). Called once. */
  protected abstract closeConnection(): Promise<void>;
  /** Whether `err` is this dialect's unique or primary-key violation. */
  protected abstract isUniqueViolation(err: unknown): boolean;
  abstract appendMessage(input: AppendMessageInput): Promise<AppendMessageResult>;
  abstract commitCall(commit: CallCommit): Promise<Message[]>;

  async getCall(id: string): Promise<CallRecord | null> {
    await this.ready();
    const row = await this.db.selectFrom('calls').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : callFromRow(row);
  }

  async listLiveCalls(): Promise<CallRecord[]> {
    await this.ready();
    const rows = await this.db.selectFrom('calls').selectAll().where('state', '<>', 'ended').orderBy('created_at').orderBy('id').execute();
    return rows.map(callFromRow);
  }

  async listCalls(sessionID: string): Promise<CallRecord[]> {
    await this.ready();
    const rows = await this.db.selectFrom('calls').selectAll().where('conversation_id', '=', sessionID).orderBy('created_at').orderBy('id').execute();
    return rows.map(callFromRow);
  }

  async saveCallMedia(callId: string, data: unknown): Promise<void> {
    await this.ready();
    const row = { call_id: callId, data: JSON.stringify(data), updated_at: new Date().toISOString() };
    await this.db
      .insertInto('call_media')
      .values(row)
      .onConflict((oc) => oc.column('call_id').doUpdateSet({ data: row.data, updated_at: row.updated_at }))
      .execute();
  }

  async getCallMedia(callId: string): Promise<unknown> {
    await this.ready();
    const row = await this.db.selectFrom('call_media').select('data').where('call_id', '=', callId).executeTakeFirst();
    return row === undefined ? null : (JSON.parse(row.data) as unknown);
  }

  async deleteCallMedia(callId: string): Promise<void> {
    await this.ready();
    await this.db.deleteFrom('call_media').where('call_id', '=', callId).execute();
  }

  async setChosenPresence(agentId: string, presence: ChosenPresence, at: string): Promise<void> {
    await this.ready();
    await this.db
      .insertInto('agent_presence')
      .values({ agent_id: agentId, chosen: presence, updated_at: at })
      .onConflict((oc) => oc.column('agent_id').doUpdateSet({ chosen: presence, updated_at: at }))
      .execute();
  }

  async listChosenPresence(): Promise<Map<string, ChosenPresence>> {
    await this.ready();
    const rows = await this.db.selectFrom('agent_presence').select(['agent_id', 'chosen']).execute();
    return new Map(rows.map((r) => [r.agent_id, r.chosen]));
  }

  async createAgent(agent: Omit<AgentRecord, 'createdAt'> & { createdAt?: string }): Promise<AgentRecord> {
    await this.ready();
    const record: AgentRecord = {
      id: agent.id,
      email: agent.email,
      name: agent.name,
      passwordHash: agent.passwordHash,
      createdAt: agent.createdAt ?? new Date().toISOString(),
    };
    try {
      await this.db
        .insertInto('agents')
        .values({
          id: record.id,
          email: record.email,
          name: record.name,
          password_hash: record.passwordHash,
          created_at: record.createdAt,
        })
        .execute();
    } catch (err) {
      throw this.#asConflict(err, `agent ${record.id} or email ${record.email} already exists`);
    }
    return record;
  }

  async getAgent(id: string): Promise<AgentRecord | null> {
    await this.ready();
    const row = await this.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : agentFromRow(row);
  }

  async getAgentByEmail(email: string): Promise<AgentRecord | null> {
    await this.ready();
    const row = await this.db
      .selectFrom('agents')
      .selectAll()
      .where((eb) => eb(eb.fn('lower', ['email']), '=', eb.fn('lower', [eb.val(email)])))
      .executeTakeFirst();
    return row === undefined ? null : agentFromRow(row);
  }

  async listAgents(): Promise<AgentRecord[]> {
    await this.ready();
    const rows = await this.db.selectFrom('agents').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(agentFromRow);
  }

  async countAgents(): Promise<number> {
    await this.ready();
    const row = await this.db
      .selectFrom('agents')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async createVisitor(visitor: Omit<VisitorRecord, 'createdAt'> & { createdAt?: string }): Promise<VisitorRecord> {
    await this.ready();
    const record: VisitorRecord = {
      id: visitor.id,
      name: visitor.name,
      email: visitor.email,
      createdAt: visitor.createdAt ?? new Date().toISOString(),
    };
    try {
      await this.db
        .insertInto('visitors')
        .values({ id: record.id, name: record.name, email: record.email, created_at: record.createdAt })
        .execute();
    } catch (err) {
      throw this.#asConflict(err, `visitor ${record.id} already exists`);
    }
    return record;
  }

  async getVisitor(id: string): Promise<VisitorRecord | null> {
    await this.ready();
    const row = await this.db.selectFrom('visitors').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : visitorFromRow(row);
  }

  async createConversation(input: Parameters<Store['createConversation']>[0]): Promise<ConversationRecord> {
    await this.ready();
    let row: ConversationRow;
    try {
      row = await this.db
        .insertInto('conversations')
        .values({
          id: input.id,
          status: 'queued',
          visitor_id: input.visitorId,
          visitor_info: visitorInfoToColumn(input.visitorInfo),
          first_message: input.firstMessage,
          created_at: input.createdAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (err) {
      throw this.#asConflict(err, `conversation ${input.id} already exists`);
    }
    return this.#withPartyNames(row);
  }

  async getConversation(id: string): Promise<ConversationRecord | null> {
    await this.ready();
    const row = await this.#conversations().where('c.id', '=', id).executeTakeFirst();
    return row === undefined ? null : fromJoinedRow(row);
  }

  async listOpenConversationsForVisitor(visitorId: string): Promise<ConversationRecord[]> {
    await this.ready();
    const rows = await this.#conversations()
      .where('c.visitor_id', '=', visitorId)
      .where('c.status', 'in', ['queued', 'active'])
      .orderBy('c.created_at')
      .orderBy('c.id')
      .execute();
    return rows.map(fromJoinedRow);
  }

  async listOpenConversationsForAgent(agentId: string): Promise<ConversationRecord[]> {
    await this.ready();
    const rows = await this.#conversations()
      .where('c.agent_id', '=', agentId)
      .where('c.status', '=', 'active')
      .orderBy('c.created_at')
      .orderBy('c.id')
      .execute();
    return rows.map(fromJoinedRow);
  }

  async listQueuedConversations(): Promise<ConversationRecord[]> {
    await this.ready();
    const rows = await this.#conversations()
      .where('c.status', '=', 'queued')
      .orderBy('c.created_at')
      .orderBy('c.id')
      .execute();
    return rows.map(fromJoinedRow);
  }

  async countActiveByAgent(): Promise<Map<string, number>> {
    await this.ready();
    const rows = await this.db
      .selectFrom('conversations')
      .select(['agent_id', (eb) => eb.fn.countAll<number>().as('active')])
      .where('status', '=', 'active')
      .where('agent_id', 'is not', null)
      .groupBy('agent_id')
      .execute();
    const counts = new Map<string, number>();
    for (const row of rows) if (row.agent_id !== null) counts.set(row.agent_id, Number(row.active));
    return counts;
  }

  async assignConversation(id: string, agentId: string, at: string): Promise<ConversationRecord | null> {
    await this.ready();
    const row = await this.db
      .updateTable('conversations')
      .set({ status: 'active', agent_id: agentId, assigned_at: at })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? null : this.#withPartyNames(row);
  }

  async closeConversation(id: string, by: Party, at: string): Promise<ConversationRecord | null> {
    await this.ready();
    const row = await this.db
      .updateTable('conversations')
      .set({ status: 'closed', closed_at: at, closed_by_id: by.id, closed_by_role: by.role, closed_by_name: by.name })
      .where('id', '=', id)
      .where('status', '!=', 'closed')
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? null : this.#withPartyNames(row);
  }

  async addConversationMember(input: { sessionID: string; agentId: string; addedById: string; at: string }): Promise<boolean> {
    await this.ready();
    const result = await this.db
      .insertInto('conversation_members')
      .values({ conversation_id: input.sessionID, agent_id: input.agentId, added_by_id: input.addedById, added_at: input.at })
      .onConflict((oc) => oc.columns(['conversation_id', 'agent_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async listConversationMembers(sessionID: string): Promise<Party[]> {
    await this.ready();
    const rows = await this.db
      .selectFrom('conversation_members as m')
      .innerJoin('agents as a', 'a.id', 'm.agent_id')
      .select(['a.id', 'a.name'])
      .where('m.conversation_id', '=', sessionID)
      .orderBy('m.added_at')
      .orderBy('a.id')
      .execute();
    return rows.map((r) => ({ id: r.id, role: 'agent' as const, name: r.name }));
  }

  async listOpenConversationsAsMember(agentId: string): Promise<ConversationRecord[]> {
    await this.ready();
    const rows = await this.#conversations()
      .innerJoin('conversation_members as m', 'm.conversation_id', 'c.id')
      .where('m.agent_id', '=', agentId)
      .where('c.status', '=', 'active')
      .orderBy('c.created_at')
      .orderBy('c.id')
      .execute();
    return rows.map(fromJoinedRow);
  }

  /** With both afterSeq and beforeSeq: the range between them, oldest first (`more`: newer remain in it). */
  async listMessages(sessionID: string, query: MessagePageQuery): Promise<MessagePage> {
    await this.ready();
    const limit = Math.max(0, Math.trunc(query.limit));
    let select = this.db.selectFrom('messages').selectAll().where('conversation_id', '=', sessionID);
    if (query.afterSeq !== undefined) select = select.where('seq', '>', query.afterSeq);
    if (query.beforeSeq !== undefined) select = select.where('seq', '<', query.beforeSeq);
    // Newer-going pages read up from afterSeq; otherwise read down from the end (or beforeSeq).
    const ascending = query.afterSeq !== undefined;
    const rows = await select
      .orderBy('seq', ascending ? 'asc' : 'desc')
      .limit(limit + 1)
      .execute();
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    if (!ascending) page.reverse();
    return { messages: page.map(messageFromRow), more };
  }

  /** Conversations joined with their parties' names. */
  #conversations() {
    return this.db
      .selectFrom('conversations as c')
      .innerJoin('visitors as v', 'v.id', 'c.visitor_id')
      .leftJoin('agents as a', 'a.id', 'c.agent_id')
      .selectAll('c')
      .select(['v.name as visitor_name', 'a.name as agent_name']);
  }

  /** Completes a conversation row (from an INSERT/UPDATE … RETURNING) with its parties' names. */
  async #withPartyNames(row: ConversationRow): Promise<ConversationRecord> {
    const visitor = await this.db
      .selectFrom('visitors')
      .select('name')
      .where('id', '=', row.visitor_id)
      .executeTakeFirstOrThrow();
    const agent =
      row.agent_id === null
        ? undefined
        : await this.db.selectFrom('agents').select('name').where('id', '=', row.agent_id).executeTakeFirst();
    return conversationFromRow(row, { visitorName: visitor.name, agentName: agent?.name ?? null });
  }

  protected assertOpen(): void {
    if (this.#closed) throw closedError();
  }

  /** Rejects when closed; waits for a migration in progress. */
  protected async ready(): Promise<void> {
    this.assertOpen();
    if (this.#migrating !== null) await this.#migrating;
    this.assertOpen();
  }

  /** Unique and primary-key violations become StoreConflictError; anything else is returned as is. */
  #asConflict(err: unknown, message: string): unknown {
    return this.isUniqueViolation(err) ? new StoreConflictError(message, { cause: err }) : err;
  }
}

function fromJoinedRow(row: ConversationRow & { visitor_name: string; agent_name: string | null }): ConversationRecord {
  return conversationFromRow(row, { visitorName: row.visitor_name, agentName: row.agent_name });
}

function closedError(): Error {
  return new Error('The store is closed');
}
