import type { ConversationStatus, Message, Party, Role, VisitorInfo } from '@parley/protocol';
import { sql, type Generated, type RawBuilder, type Selectable } from 'kysely';
import type { AgentRecord, CallRecord, ConversationRecord, VisitorRecord } from './Store.ts';

/*
 * The relational schema behind the Store port, as kysely table types, and the mapping between
 * rows and the port's records. Dialect-neutral: the SQLite adapter and a PostgreSQL adapter share
 * it (and the migrations in migrations.ts that create it).
 *
 * Conventions: snake_case columns; times are ISO 8601 text (`Date#toISOString`, so they sort as
 * text); JSON is stored as text.
 */

/** `agents`: support agents who log in to the workspace. Email is unique case-insensitively. */
export interface AgentsTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  created_at: string;
}

/** `visitors`: anonymous (or self-named) website visitors. */
export interface VisitorsTable {
  id: string;
  name: string;
  email: string | null;
  created_at: string;
}

/** `conversations`: one chat between a visitor and (once assigned) an agent. */
export interface ConversationsTable {
  id: string;
  status: ConversationStatus;
  visitor_id: string;
  agent_id: string | null;
  /** JSON text of a VisitorInfo. */
  visitor_info: string;
  /**
   * PostgreSQL's seq counter: its appends lock the row and move it with every message. SQLite numbers messages
   * from their own index and leaves this column as it was (sqliteSeqs.ts). Read a conversation's last seq as the
   * highest seq of its messages ({@link lastSeqOf}), on every dialect.
   */
  last_seq: Generated<number>;
  first_message: string | null;
  created_at: string;
  assigned_at: string | null;
  closed_at: string | null;
  closed_by_id: string | null;
  closed_by_role: Role | null;
  closed_by_name: string | null;
}

/** `messages`: chat messages and system events, numbered per conversation by `seq`. */
export interface MessagesTable {
  id: string;
  conversation_id: string;
  seq: number;
  from_id: string;
  from_role: Role;
  /** The sender's name when the message was sent. */
  from_name: string;
  kind: Message['kind'];
  text: string;
  client_id: string | null;
  at: string;
}

/** `conversation_members`: agents added to a conversation besides its assigned agent. */
export interface ConversationMembersTable {
  conversation_id: string;
  agent_id: string;
  added_by_id: string;
  added_at: string;
}

/** `calls`: every call, live or ended; its state beyond the queried columns is JSON in `data`. */
export interface CallsTable {
  id: string;
  conversation_id: string;
  state: string;
  revision: number;
  next_deadline_at: string | null;
  /** JSON text. */
  data: string;
  created_at: string;
  updated_at: string;
  ended_at: string | null;
}

/** `call_media`: what a call's media adapter made for it (a Janus room), JSON text. */
export interface CallMediaTable {
  call_id: string;
  data: string;
  updated_at: string;
}

/** `guest_redemptions`: guest links redeemed, by link id; a second redemption of one id is refused. */
export interface GuestRedemptionsTable {
  jti: string;
  call_id: string;
  guest_id: string;
  redeemed_at: string;
  expires_at: string;
}

/** `agent_presence`: what each agent chose (online or away); connections are not stored. */
export interface AgentPresenceTable {
  agent_id: string;
  chosen: 'online' | 'away';
  updated_at: string;
}

/** `nodes`: the nodes of the deployment, each with its last heartbeat; a node without one for a while is dead. */
export interface NodesTable {
  id: string;
  url: string;
  started_at: string;
  heartbeat_at: string;
}

/** `node_parties`: the parties a node holds connections of, with how many (rows of a dead node are reaped). */
export interface NodePartiesTable {
  node_id: string;
  party_id: string;
  party_role: Role;
  party_name: string;
  connections: number;
  since: string;
}

/** `settings`: values made once for the whole deployment (the token-signing secret). */
export interface SettingsTable {
  name: string;
  value: string;
  created_at: string;
}

/** The whole database, as kysely sees it. */
export interface ParleyDatabase {
  agents: AgentsTable;
  visitors: VisitorsTable;
  conversations: ConversationsTable;
  messages: MessagesTable;
  conversation_members: ConversationMembersTable;
  calls: CallsTable;
  call_media: CallMediaTable;
  guest_redemptions: GuestRedemptionsTable;
  agent_presence: AgentPresenceTable;
  nodes: NodesTable;
  node_parties: NodePartiesTable;
  settings: SettingsTable;
}

export type AgentRow = Selectable<AgentsTable>;
export type VisitorRow = Selectable<VisitorsTable>;
export type ConversationRow = Selectable<ConversationsTable>;
export type MessageRow = Selectable<MessagesTable>;
export type CallRow = Selectable<CallsTable>;

/** Maps a `calls` row to the port's record. */
export function callFromRow(row: CallRow): CallRecord {
  return {
    id: row.id,
    sessionID: row.conversation_id,
    state: row.state,
    revision: Number(row.revision),
    nextDeadlineAt: row.next_deadline_at,
    data: JSON.parse(row.data) as unknown,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    endedAt: row.ended_at,
  };
}

/** Maps the port's call record to a `calls` row. */
export function callToRow(call: CallRecord): CallRow {
  return {
    id: call.id,
    conversation_id: call.sessionID,
    state: call.state,
    revision: call.revision,
    next_deadline_at: call.nextDeadlineAt,
    data: JSON.stringify(call.data),
    created_at: call.createdAt,
    updated_at: call.updatedAt,
    ended_at: call.endedAt,
  };
}

/** Maps an `agents` row to the port's record. */
export function agentFromRow(row: AgentRow): AgentRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
  };
}

/** Maps a `visitors` row to the port's record. */
export function visitorFromRow(row: VisitorRow): VisitorRecord {
  return { id: row.id, name: row.name, email: row.email, createdAt: row.created_at };
}

/** Maps a `messages` row to the wire Message (`clientId` present only when one was stored). */
export function messageFromRow(row: MessageRow): Message {
  const message: Message = {
    id: row.id,
    seq: row.seq,
    sessionID: row.conversation_id,
    from: { id: row.from_id, role: row.from_role, name: row.from_name },
    kind: row.kind,
    text: row.text,
    at: row.at,
  };
  if (row.client_id !== null) message.clientId = row.client_id;
  return message;
}

/**
 * A conversation's last seq as the highest seq of its messages (0 for none), for `conversationId` (a column
 * reference such as `c.id`): one descent of the messages' (conversation_id, seq) index. Both dialects read the
 * last seq this way, since SQLite keeps no counter (see {@link ConversationsTable.last_seq}).
 */
export function lastSeqOf(conversationId: string): RawBuilder<number> {
  return sql<number>`coalesce((select max(m.seq) from messages m where m.conversation_id = ${sql.ref(conversationId)}), 0)`;
}

/** Names of the parties a conversation row refers to by id, and its last seq. */
export interface ConversationPartyNames {
  visitorName: string;
  /** Null when no agent is assigned. */
  agentName: string | null;
  /** The highest seq of its messages ({@link lastSeqOf}). */
  lastSeq: number;
}

/** Maps a `conversations` row plus its parties' names and last seq to the port's record. */
export function conversationFromRow(row: ConversationRow, names: ConversationPartyNames): ConversationRecord {
  const agent: Party | null =
    row.agent_id === null ? null : { id: row.agent_id, role: 'agent', name: names.agentName ?? '' };
  const closedBy: Party | null =
    row.closed_by_id === null
      ? null
      : { id: row.closed_by_id, role: row.closed_by_role ?? 'system', name: row.closed_by_name ?? '' };
  return {
    id: row.id,
    status: row.status,
    visitor: { id: row.visitor_id, role: 'visitor', name: names.visitorName },
    agent,
    visitorInfo: parseVisitorInfo(row.visitor_info),
    lastSeq: Number(names.lastSeq),
    firstMessage: row.first_message,
    createdAt: row.created_at,
    assignedAt: row.assigned_at,
    closedAt: row.closed_at,
    closedBy,
  };
}

/** Serialises a VisitorInfo for the `visitor_info` column (only the known fields). */
export function visitorInfoToColumn(info: VisitorInfo): string {
  const known: VisitorInfo = {};
  if (info.page !== undefined) known.page = info.page;
  if (info.userAgent !== undefined) known.userAgent = info.userAgent;
  return JSON.stringify(known);
}

function parseVisitorInfo(text: string): VisitorInfo {
  const value: unknown = JSON.parse(text);
  const info: VisitorInfo = {};
  if (typeof value === 'object' && value !== null) {
    const { page, userAgent } = value as Record<string, unknown>;
    if (typeof page === 'string') info.page = page;
    if (typeof userAgent === 'string') info.userAgent = userAgent;
  }
  return info;
}
