import { sql, type Kysely } from 'kysely';
import type { Message, Party } from '@parley/protocol';
import {
  agentFromRow,
  callFromRow,
  conversationFromRow,
  lastSeqOf,
  messageFromRow,
  visitorFromRow,
  visitorInfoToColumn,
  type ConversationRow,
  type ParleyDatabase,
} from './schema.ts';
import { StoreConflictError } from './Store.ts';
import { KeyedSerial } from '../events/KeyedSerial.ts';
import type {
  AgentRecord,
  AppendMessageInput,
  AppendMessageResult,
  CallCommit,
  CallRecord,
  ChosenPresence,
  ConversationPosition,
  ConversationRecord,
  MessagePage,
  MessagePageQuery,
  NodeRecord,
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

  async beatNode(node: { id: string; url: string; startedAt: string }, at: string): Promise<boolean> {
    await this.ready();
    const updated = await this.db.updateTable('nodes').set({ heartbeat_at: at, url: node.url }).where('id', '=', node.id).executeTakeFirst();
    if (Number(updated.numUpdatedRows) > 0) return true;
    await this.db
      .insertInto('nodes')
      .values({ id: node.id, url: node.url, started_at: node.startedAt, heartbeat_at: at })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: at, url: node.url }))
      .execute();
    return false;
  }

  async listNodes(since: string): Promise<NodeRecord[]> {
    await this.ready();
    const rows = await this.db.selectFrom('nodes').selectAll().where('heartbeat_at', '>=', since).orderBy('started_at').orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, url: r.url, startedAt: r.started_at, heartbeatAt: r.heartbeat_at }));
  }

  async reapDeadNodes(before: string, alsoNodeId?: string): Promise<Array<{ nodeId: string; parties: Party[] }>> {
    await this.ready();
    return this.db.transaction().execute(async (tx) => {
      // Deleting is what claims a dead node: a second reaper at once waits on the rows, then finds them gone.
      const dead = (
        await tx
          .deleteFrom('nodes')
          .where((eb) => (alsoNodeId === undefined ? eb('heartbeat_at', '<', before) : eb.or([eb('heartbeat_at', '<', before), eb('id', '=', alsoNodeId)])))
          .returning('id')
          .execute()
      ).map((r) => r.id);
      // A node's own earlier run may have left party rows without a node row (killed between the two writes).
      if (alsoNodeId !== undefined && !dead.includes(alsoNodeId)) dead.push(alsoNodeId);
      if (dead.length === 0) return [];
      const rows = await tx.deleteFrom('node_parties').where('node_id', 'in', dead).returning(['node_id', 'party_id', 'party_role', 'party_name']).execute();
      return dead.map((nodeId) => ({
        nodeId,
        parties: rows.filter((r) => r.node_id === nodeId).map((r) => ({ id: r.party_id, role: r.party_role, name: r.party_name })),
      }));
    });
  }

  async setNodeParty(nodeId: string, party: Party, connections: number, at: string): Promise<void> {
    await this.ready();
    if (connections <= 0) {
      await this.db.deleteFrom('node_parties').where('node_id', '=', nodeId).where('party_id', '=', party.id).execute();
      return;
    }
    await this.db
      .insertInto('node_parties')
      .values({ node_id: nodeId, party_id: party.id, party_role: party.role, party_name: party.name, connections, since: at })
      .onConflict((oc) => oc.columns(['node_id', 'party_id']).doUpdateSet({ connections }))
      .execute();
  }

  /**
   * A party named twice is refused before anything is written. It must not fail inside the transaction: on
   * SQLite that transaction shares the one connection with commitCall and the appender, whose synchronous
   * transactions run inside it (as savepoints) when they come meanwhile, and a rollback would undo them too,
   * acknowledged as they are.
   */
  async replaceNodeParties(nodeId: string, parties: ReadonlyArray<{ party: Party; connections: number }>, at: string): Promise<void> {
    await this.ready();
    const named = new Set<string>();
    for (const { party } of parties) {
      if (named.has(party.id)) throw new Error(`replaceNodeParties: party ${party.id} is named twice for node ${nodeId}`);
      named.add(party.id);
    }
    const rows = parties
      .filter((p) => p.connections > 0)
      .map(({ party, connections }) => ({ node_id: nodeId, party_id: party.id, party_role: party.role, party_name: party.name, connections, since: at }));
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('node_parties').where('node_id', '=', nodeId).execute();
      for (let i = 0; i < rows.length; i += 500) await tx.insertInto('node_parties').values(rows.slice(i, i + 500)).execute();
    });
  }

  async partyNodes(partyId: string): Promise<string[]> {
    await this.ready();
    const rows = await this.db.selectFrom('node_parties').select('node_id').where('party_id', '=', partyId).orderBy('node_id').execute();
    return rows.map((r) => r.node_id);
  }

  async listConnectedAgents(): Promise<Map<string, string[]>> {
    await this.ready();
    const rows = await this.db.selectFrom('node_parties').select(['party_id', 'node_id']).where('party_role', '=', 'agent').orderBy('party_id').orderBy('node_id').execute();
    const agents = new Map<string, string[]>();
    for (const r of rows) agents.set(r.party_id, [...(agents.get(r.party_id) ?? []), r.node_id]);
    return agents;
  }

  async setting(name: string, make: () => string, at: string): Promise<string> {
    await this.ready();
    const existing = await this.db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirst();
    if (existing !== undefined) return existing.value;
    await this.db.insertInto('settings').values({ name, value: make(), created_at: at }).onConflict((oc) => oc.column('name').doNothing()).execute();
    // Whoever wrote first, every node reads the same value.
    const stored = await this.db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirstOrThrow();
    return stored.value;
  }

  async listDueCalls(before: string, limit: number): Promise<Array<{ id: string; sessionID: string }>> {
    await this.ready();
    const rows = await this.db
      .selectFrom('calls')
      .select(['id', 'conversation_id'])
      .where('state', '<>', 'ended')
      .where('next_deadline_at', '<=', before)
      .orderBy('next_deadline_at')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, sessionID: r.conversation_id }));
  }

  async conversationPositions(sessionIDs: readonly string[], callsSince: string): Promise<Map<string, ConversationPosition>> {
    await this.ready();
    const positions = new Map<string, ConversationPosition>();
    for (let i = 0; i < sessionIDs.length; i += 500) {
      const ids = sessionIDs.slice(i, i + 500);
      const conversations = await this.db
        .selectFrom('conversations as c')
        .select(['c.id', lastSeqOf('c.id').as('last_seq')])
        .where('c.id', 'in', ids)
        .execute();
      for (const c of conversations) positions.set(c.id, { lastSeq: Number(c.last_seq), call: null });
      const calls = await this.db
        .selectFrom('calls')
        .select(['id', 'conversation_id', 'revision', 'updated_at'])
        .where('conversation_id', 'in', ids)
        .where('updated_at', '>=', callsSince)
        .orderBy('updated_at')
        .orderBy('id')
        .execute();
      // The latest change of each conversation's calls wins (rows come oldest first).
      for (const call of calls) {
        const position = positions.get(call.conversation_id);
        if (position) position.call = { id: call.id, revision: Number(call.revision) };
      }
    }
    return positions;
  }

  async countLive(): Promise<{ conversations: { queued: number; active: number }; calls: Record<string, number> }> {
    await this.ready();
    const conversations = await this.db
      .selectFrom('conversations')
      .select(['status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('status', '<>', 'closed')
      .groupBy('status')
      .execute();
    const calls = await this.db
      .selectFrom('calls')
      .select(['state', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('state', '<>', 'ended')
      .groupBy('state')
      .execute();
    const count = (status: string) => Number(conversations.find((r) => r.status === status)?.n ?? 0);
    return { conversations: { queued: count('queued'), active: count('active') }, calls: Object.fromEntries(calls.map((r) => [r.state, Number(r.n)])) };
  }

  readonly #localLocks = new KeyedSerial();

  /** One process holds the database (SQLite): a lock in memory is the deployment's. PostgreSQL overrides it. */
  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    await this.ready();
    return this.#localLocks.run(name, fn);
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
      .select(['v.name as visitor_name', 'a.name as agent_name', lastSeqOf('c.id').as('messages_last_seq')]);
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
    const { last_seq: lastSeq } = await this.db
      .selectFrom('conversations as c')
      .select(lastSeqOf('c.id').as('last_seq'))
      .where('c.id', '=', row.id)
      .executeTakeFirstOrThrow();
    return conversationFromRow(row, { visitorName: visitor.name, agentName: agent?.name ?? null, lastSeq: Number(lastSeq) });
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

function fromJoinedRow(row: ConversationRow & { visitor_name: string; agent_name: string | null; messages_last_seq: number }): ConversationRecord {
  return conversationFromRow(row, { visitorName: row.visitor_name, agentName: row.agent_name, lastSeq: Number(row.messages_last_seq) });
}

function closedError(): Error {
  return new Error('The store is closed');
}
