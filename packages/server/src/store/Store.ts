import type { ConversationStatus, Message, Party, VisitorInfo } from '@parley/protocol';

/*
 * The Store port: everything the domain persists goes through this interface, and nothing in the
 * domain knows which database is behind it. Adapters: SqliteStore (embedded default) and
 * PostgresStore (DATABASE_URL), both passing the same contract (storeContract.ts).
 *
 * Every method is atomic on its own. Methods that race between server nodes (assign, close, append)
 * are compare-and-set in the database, never read-then-write in the process.
 */

export interface AgentRecord {
  id: string;
  email: string;
  name: string;
  /** scrypt hash in the form produced by server/auth/password.ts */
  passwordHash: string;
  createdAt: string;
}

export interface VisitorRecord {
  id: string;
  name: string;
  email: string | null;
  createdAt: string;
}

export interface ConversationRecord {
  id: string;
  status: ConversationStatus;
  visitor: Party;
  agent: Party | null;
  visitorInfo: VisitorInfo;
  /** Highest seq stored; 0 when empty. */
  lastSeq: number;
  /** First text message, kept for the queue view. */
  firstMessage: string | null;
  createdAt: string;
  assignedAt: string | null;
  closedAt: string | null;
  closedBy: Party | null;
}

export interface AppendMessageInput {
  /** Server-made unique id for the new message. */
  id: string;
  sessionID: string;
  from: Party;
  kind: Message['kind'];
  text: string;
  /** The sender's id; when (sessionID, from.id, clientId) exists already, nothing is stored. */
  clientId?: string;
  at: string;
}

export interface AppendMessageResult {
  message: Message;
  /** True when the clientId had been stored before: `message` is that earlier message. */
  duplicate: boolean;
}

export interface MessagePageQuery {
  /** Only messages with seq > afterSeq, oldest first. */
  afterSeq?: number;
  /** Only messages with seq < beforeSeq; the newest `limit` of those, returned oldest first. */
  beforeSeq?: number;
  limit: number;
}

export interface MessagePage {
  messages: Message[];
  /** More messages exist in the direction asked (newer with afterSeq, older with beforeSeq/neither). */
  more: boolean;
}

/** What a StoreConflictError ran into. */
export type StoreConflict =
  /** A unique key (agent email, an id) exists already. */
  | 'unique'
  /** commitCall: the call's stored revision is not the one the change was made on. */
  | 'revision'
  /** commitCall: the conversation has another live call. */
  | 'liveCall'
  /** commitCall: the guest link was redeemed already. */
  | 'redeemed';

/** Thrown when a write would break a unique key or a compare-and-set; nothing was written. */
export class StoreConflictError extends Error {
  override readonly name = 'StoreConflictError';
  readonly conflict: StoreConflict;

  constructor(message: string, options?: ErrorOptions & { conflict?: StoreConflict }) {
    super(message, options);
    this.conflict = options?.conflict ?? 'unique';
  }
}

/**
 * A call as stored: a few columns the store queries by, and the call's whole state as the domain serialised
 * it (`data`, JSON). One row per call, live or ended (ended rows are the call history); one row lock is all
 * the state machine needs, whichever node applies an action.
 */
export interface CallRecord {
  id: string;
  sessionID: string;
  /** The call's state (`ended` once over); at most one call per conversation is not ended. */
  state: string;
  /** Grows with every change; commitCall compares it. */
  revision: number;
  /** The earliest deadline of the call (its ring, a grace period, an invitation), null when none. */
  nextDeadlineAt: string | null;
  /** Everything else of the call, JSON-able. */
  data: unknown;
  createdAt: string;
  updatedAt: string;
  endedAt: string | null;
}

/** A guest link redeemed: each link's id (`jti`) is recorded once. */
export interface GuestRedemption {
  jti: string;
  callId: string;
  guestId: string;
  at: string;
  /** When the link would have expired anyway (a redemption row may be pruned after it). */
  expiresAt: string;
}

/** One change of a call, written as a whole or not at all. */
export interface CallCommit {
  call: CallRecord;
  /**
   * The revision the change was made on (null for a new call). Compare-and-set: when the stored revision
   * differs, nothing is written and StoreConflictError `revision` is thrown.
   */
  expectedRevision: number | null;
  /** Transcript events of the change, appended to the conversation in the same transaction, in order. */
  events: AppendMessageInput[];
  /** A guest link this change redeems; StoreConflictError `redeemed` when it was redeemed before. */
  redemption?: GuestRedemption;
}

/** One node of the deployment, as its heartbeat row has it. */
export interface NodeRecord {
  id: string;
  url: string;
  startedAt: string;
  heartbeatAt: string;
}

/** Where a conversation stands: its last message, and the latest change of its calls. */
export interface ConversationPosition {
  lastSeq: number;
  /** The call changed most recently (null when none changed since the time asked about), with its revision. */
  call: { id: string; revision: number } | null;
}

/** What an agent chose to be while connected. */
export type ChosenPresence = 'online' | 'away';

export interface Store {
  /** Applies pending migrations. Safe to call on every start. */
  migrate(): Promise<void>;
  /** Flushes and closes. Further calls fail. */
  close(): Promise<void>;
  /** Resolves when the database answers a trivial query (for health checks); rejects when it does not. */
  ping(): Promise<void>;

  createAgent(agent: Omit<AgentRecord, 'createdAt'> & { createdAt?: string }): Promise<AgentRecord>;
  getAgent(id: string): Promise<AgentRecord | null>;
  /** Case-insensitive. */
  getAgentByEmail(email: string): Promise<AgentRecord | null>;
  listAgents(): Promise<AgentRecord[]>;
  countAgents(): Promise<number>;

  createVisitor(visitor: Omit<VisitorRecord, 'createdAt'> & { createdAt?: string }): Promise<VisitorRecord>;
  getVisitor(id: string): Promise<VisitorRecord | null>;

  /** Creates a conversation in status `queued`, lastSeq 0. */
  createConversation(input: {
    id: string;
    visitorId: string;
    visitorInfo: VisitorInfo;
    firstMessage: string | null;
    createdAt: string;
  }): Promise<ConversationRecord>;
  getConversation(id: string): Promise<ConversationRecord | null>;
  /** Queued or active conversations of this visitor, oldest first. */
  listOpenConversationsForVisitor(visitorId: string): Promise<ConversationRecord[]>;
  /** Active conversations assigned to this agent, oldest first. */
  listOpenConversationsForAgent(agentId: string): Promise<ConversationRecord[]>;
  /** Queued conversations, oldest first. */
  listQueuedConversations(): Promise<ConversationRecord[]>;
  /** Number of active conversations per agent id (agents with none are absent). */
  countActiveByAgent(): Promise<Map<string, number>>;
  /**
   * Assigns a queued conversation to an agent and makes it active. Compare-and-set: returns null
   * (and changes nothing) when the conversation is not queued any more.
   */
  assignConversation(id: string, agentId: string, at: string): Promise<ConversationRecord | null>;
  /** Closes an open conversation. Compare-and-set: returns null when it was already closed. */
  closeConversation(id: string, by: Party, at: string): Promise<ConversationRecord | null>;

  /**
   * Adds an agent to a conversation besides its assigned agent. Returns false (changing nothing) when it is a
   * member already. Throws when the conversation or the agent does not exist.
   */
  addConversationMember(input: { sessionID: string; agentId: string; addedById: string; at: string }): Promise<boolean>;
  /** The added agents of a conversation, in the order they were added. */
  listConversationMembers(sessionID: string): Promise<Party[]>;
  /** Active conversations this agent was added to (not assigned), oldest first. */
  listOpenConversationsAsMember(agentId: string): Promise<ConversationRecord[]>;

  /**
   * Stores a message with the conversation's next seq, atomically. Idempotent on
   * (sessionID, from.id, clientId). Throws when the conversation does not exist.
   */
  appendMessage(input: AppendMessageInput): Promise<AppendMessageResult>;
  listMessages(sessionID: string, query: MessagePageQuery): Promise<MessagePage>;

  /**
   * Writes a call change and its transcript events in one transaction (see CallCommit); returns the stored
   * events. A new call is refused (`liveCall`) when its conversation has a live call already.
   */
  commitCall(commit: CallCommit): Promise<Message[]>;
  getCall(id: string): Promise<CallRecord | null>;
  /** Every call not ended, oldest first (a starting node loads them). */
  listLiveCalls(): Promise<CallRecord[]>;
  /** The calls of a conversation, oldest first (its call history). */
  listCalls(sessionID: string): Promise<CallRecord[]>;

  /** What media a call has (a Janus room: id, PIN, secrets, tokens), JSON-able; replaces what was there. */
  saveCallMedia(callId: string, data: unknown): Promise<void>;
  getCallMedia(callId: string): Promise<unknown>;
  deleteCallMedia(callId: string): Promise<void>;

  /** Keeps an agent's chosen presence (it lasts across reconnections and restarts). */
  setChosenPresence(agentId: string, presence: ChosenPresence, at: string): Promise<void>;
  /** Every agent's chosen presence (agents that never chose are absent). */
  listChosenPresence(): Promise<Map<string, ChosenPresence>>;

  // ---- the nodes of one deployment (a single node is a deployment of one)

  /** Writes a node's heartbeat. Returns false when its row was gone (it had been reaped as dead) and was written anew. */
  beatNode(node: { id: string; url: string; startedAt: string }, at: string): Promise<boolean>;
  /** Nodes whose heartbeat is at or after `since`, oldest first. */
  listNodes(since: string): Promise<NodeRecord[]>;
  /**
   * Removes the nodes whose last heartbeat is before `before` (and the node `alsoNodeId`, whatever its heartbeat:
   * a node starting reaps its own earlier run), with their party rows, in one transaction, and returns what was
   * removed. Of several callers at once, each dead node is returned to one only.
   */
  reapDeadNodes(before: string, alsoNodeId?: string): Promise<Array<{ nodeId: string; parties: Party[] }>>;
  /** How many connections of `party` a node holds; 0 removes the row. */
  setNodeParty(nodeId: string, party: Party, connections: number, at: string): Promise<void>;
  /** Replaces every party row of a node (a node that was counted dead writes what it holds again). */
  replaceNodeParties(nodeId: string, parties: ReadonlyArray<{ party: Party; connections: number }>, at: string): Promise<void>;
  /** The nodes holding connections of a party. */
  partyNodes(partyId: string): Promise<string[]>;
  /** Connected agents, each with the nodes holding its connections. */
  listConnectedAgents(): Promise<Map<string, string[]>>;
  /** A setting made once for every node: the stored value, or `make()`'s, stored, when there was none (first writer wins). */
  setting(name: string, make: () => string, at: string): Promise<string>;
  /** Live calls with a deadline at or before `before`, soonest first. */
  listDueCalls(before: string, limit: number): Promise<Array<{ id: string; sessionID: string }>>;
  /** Where each conversation stands: last seq, and its call changed at or after `callsSince`. Unknown ids are absent. */
  conversationPositions(sessionIDs: readonly string[], callsSince: string): Promise<Map<string, ConversationPosition>>;
  /** Open conversations of the deployment by status, and live calls by state (for /metrics). */
  countLive(): Promise<{ conversations: { queued: number; active: number }; calls: Record<string, number> }>;
  /** Runs `fn` holding the deployment-wide lock `name` (routing): one holder at a time, whichever node. */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
}
