import { z } from 'zod';
import type { ErrorCode } from './errors.ts';
import { checkMessageText, LIMITS, nulProblem, PROTOCOL_VERSION, type TextProblem } from './limits.ts';
import type { AgentSummary, ConversationSnapshot, Message, Presence, QueuedConversation } from './model.ts';
import { SettablePresenceSchema, VisitorInfoSchema } from './model.ts';
import type { Party } from './party.ts';
import type { CallRequestResults, CallUpdatedFrame, SignalEventFrame } from './callFrames.ts';
import { CALL_CLIENT_FRAME_SCHEMAS } from './callFrames.ts';
import type { CallSnapshot } from './callSnapshot.ts';

/*
 * Every WebSocket frame is one JSON object, a member of one of two discriminated unions on `type`:
 * ClientFrame (client → server) and ServerFrame (server → client). The protocol version is agreed
 * once per connection: the client's first frame is `auth` with `v`; the server answers `ready` with
 * its `v`, or an `unsupported_version` error.
 *
 * Requests carry `id`, a client-made correlation id; the server answers each with exactly one
 * `result` (same `id`) or one `error` (same `id`). Frames without `id` get no answer unless they fail.
 */

const Id = z.string().min(1).max(LIMITS.maxIdChars);
/** The longest sessionID a frame may carry (the fast path of `message.send` checks the same). */
const MAX_SESSION_ID_CHARS = 64;
const SessionID = z.string().min(1).max(MAX_SESSION_ID_CHARS);
const Seq = z.number().int().min(0);

export const AuthFrameSchema = z
  .object({
    type: z.literal('auth'),
    v: z.number().int(),
    token: z.string().min(1).max(4096),
    /** What the visitor's page looks like to the agent. Ignored for agents. */
    info: VisitorInfoSchema.optional(),
  })
  .strict();

export const ChatStartFrameSchema = z
  .object({
    type: z.literal('chat.start'),
    id: Id,
    /** Opening message, stored as the conversation's first text message. */
    text: z.string().optional(),
    clientId: Id.optional(),
  })
  .strict();

export const MessageSendFrameSchema = z
  .object({
    type: z.literal('message.send'),
    id: Id,
    sessionID: SessionID,
    clientId: Id,
    text: z.string(),
  })
  .strict();

export const TypingFrameSchema = z
  .object({ type: z.literal('typing'), sessionID: SessionID, typing: z.boolean() })
  .strict();

export const ConversationCloseFrameSchema = z
  .object({ type: z.literal('conversation.close'), id: Id, sessionID: SessionID })
  .strict();

export const ConversationSyncFrameSchema = z
  .object({
    type: z.literal('conversation.sync'),
    id: Id,
    sessionID: SessionID,
    /** The last seq the client has; the server answers with the messages after it. */
    afterSeq: Seq,
  })
  .strict();

/** One page of the waiting queue, oldest first: `limit` entries (default 50) after the entry `after` (a sessionID). */
export const QueueListFrameSchema = z
  .object({
    type: z.literal('queue.list'),
    id: Id,
    limit: z.number().int().min(1).max(LIMITS.maxQueuePage).optional(),
    after: SessionID.optional(),
  })
  .strict();

export const ConversationAcceptFrameSchema = z
  .object({ type: z.literal('conversation.accept'), id: Id, sessionID: SessionID })
  .strict();

export const PresenceSetFrameSchema = z
  .object({ type: z.literal('presence.set'), id: Id, presence: SettablePresenceSchema })
  .strict();

export const AgentsListFrameSchema = z.object({ type: z.literal('agents.list'), id: Id }).strict();

export const PingFrameSchema = z.object({ type: z.literal('ping'), id: Id }).strict();

/** An agent of the conversation adds a colleague: it sees the transcript and, while a call runs, is invited into it. */
export const ConversationAddParticipantFrameSchema = z
  .object({ type: z.literal('conversation.addParticipant'), id: Id, sessionID: SessionID, agentId: z.string().min(1).max(64) })
  .strict();

/** The visitor or an agent of the conversation makes a single-use link for one more person to join the running call. */
export const GuestInviteFrameSchema = z.object({ type: z.literal('guest.invite'), id: Id, sessionID: SessionID }).strict();

/** Everything a client may send. */
export const ClientFrameSchema = z.discriminatedUnion('type', [
  AuthFrameSchema,
  ChatStartFrameSchema,
  MessageSendFrameSchema,
  TypingFrameSchema,
  ConversationCloseFrameSchema,
  ConversationSyncFrameSchema,
  QueueListFrameSchema,
  ConversationAcceptFrameSchema,
  PresenceSetFrameSchema,
  AgentsListFrameSchema,
  PingFrameSchema,
  ConversationAddParticipantFrameSchema,
  GuestInviteFrameSchema,
  ...CALL_CLIENT_FRAME_SCHEMAS,
]);

export type ClientFrame = z.infer<typeof ClientFrameSchema>;
export type ClientFrameType = ClientFrame['type'];
export type ClientFrameOf<T extends ClientFrameType> = Extract<ClientFrame, { type: T }>;
/** Frames that expect a `result` or `error` answer. */
export type RequestFrame = Extract<ClientFrame, { id: string }>;
export type RequestType = RequestFrame['type'];

/** The `data` of the `result` answering each request type. */
export interface RequestResults extends CallRequestResults {
  'chat.start': { conversation: ConversationSnapshot; message: Message | null };
  'message.send': { message: Message; duplicate: boolean };
  'conversation.close': { conversation: ConversationSnapshot };
  'conversation.sync': { conversation: ConversationSnapshot; messages: Message[]; more: boolean };
  /** `size`: how many wait in all; `next`: the `after` of the next page, null on the last one. */
  'queue.list': { queue: QueuedConversation[]; size: number; next: string | null };
  'conversation.accept': { conversation: ConversationSnapshot };
  'presence.set': { presence: Presence };
  'agents.list': { agents: AgentSummary[] };
  ping: { now: string };
  'conversation.addParticipant': { conversation: ConversationSnapshot };
  'guest.invite': GuestInvite;
}

/** A signed, expiring, single-use link for one more person to join a call. */
export interface GuestInvite {
  /** The guest page on the Parley server, with the token in the fragment (never sent in requests or logs). */
  url: string;
  token: string;
  expiresAt: string;
}

// ---------------------------------------------------------------- server → client

/** First answer to a good `auth`: who you are and the open conversations you belong to. */
export interface ReadyFrame {
  type: 'ready';
  v: typeof PROTOCOL_VERSION;
  identity: Party;
  conversations: ConversationSnapshot[];
  /** Agents only: their presence as the server now holds it. */
  presence?: Presence;
  /** Guests only: the conversation whose call they were invited to, and that call while it is live. */
  guest?: { sessionID: string; call: CallSnapshot | null };
}

export interface ResultFrame<T extends RequestType = RequestType> {
  type: 'result';
  id: string;
  data: RequestResults[T];
}

export interface ErrorFrame {
  type: 'error';
  /** The request this answers, when it answers one. */
  id?: string;
  code: ErrorCode;
  message: string;
}

/** A new message or system event in a conversation this connection belongs to. */
export interface MessageFrame {
  type: 'message';
  message: Message;
}

export interface TypingEventFrame {
  type: 'typing';
  sessionID: string;
  from: Party;
  typing: boolean;
}

/** A conversation's participants or status changed (agent assigned, conversation taken, …). */
export interface ConversationUpdatedFrame {
  type: 'conversation.updated';
  conversation: ConversationSnapshot;
}

/** To agents: a conversation was assigned to you (by routing or because you accepted it). */
export interface ConversationAssignedFrame {
  type: 'conversation.assigned';
  conversation: ConversationSnapshot;
}

export interface ConversationClosedFrame {
  type: 'conversation.closed';
  sessionID: string;
  by: Party;
}

/**
 * To agents: news of the waiting queue, never the queue itself, so its size is bounded whatever the queue's length.
 * `size` is how many wait now. `removed`: conversations that left the queue (taken, closed), at most
 * `LIMITS.maxQueueRemovedPerFrame`. `added`: one conversation that entered it, at `position` (0-based, oldest
 * first); sent only while `position < LIMITS.maxQueuePage`, since no page can show an entry further back.
 * Changes of one moment come coalesced: one frame per added entry, the removals on the first frame, and a
 * size-only frame when nothing visible changed.
 */
export interface QueueUpdatedFrame {
  type: 'queue.updated';
  size: number;
  removed?: string[];
  added?: QueuedConversation;
  position?: number;
}

/** To agents: a colleague's presence changed. */
export interface PresenceChangedFrame {
  type: 'presence.changed';
  agent: AgentSummary;
}

/** The server is going away (shutdown or restart); reconnect after `retryAfterMs`. */
export interface GoAwayFrame {
  type: 'goaway';
  reason: 'shutdown';
  retryAfterMs: number;
}

export type ServerFrame =
  | ReadyFrame
  | ResultFrame
  | ErrorFrame
  | MessageFrame
  | TypingEventFrame
  | ConversationUpdatedFrame
  | ConversationAssignedFrame
  | ConversationClosedFrame
  | QueueUpdatedFrame
  | PresenceChangedFrame
  | GoAwayFrame
  | CallUpdatedFrame
  | SignalEventFrame;

export type ServerFrameType = ServerFrame['type'];

// ---------------------------------------------------------------- parsing at the edge

export type ParseResult =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string; id?: string };

/**
 * Parses and validates one raw client frame. Never throws.
 * Oversized frames and chat texts are `too_large`; everything else malformed is `invalid_frame`.
 * When the frame had a usable request `id`, the failure carries it so the error can answer it.
 */
export function parseClientFrame(raw: string, byteLength: number): ParseResult {
  if (byteLength > LIMITS.maxFrameBytes) {
    return { ok: false, code: 'too_large', message: `frame is ${byteLength} bytes; the limit is ${LIMITS.maxFrameBytes}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, code: 'invalid_frame', message: 'frame is not valid JSON' };
  }
  const fast = messageSendOf(json);
  if (fast !== null) {
    const problem = checkMessageText(fast.text);
    return problem ? withId(problem, fast.id) : { ok: true, frame: fast };
  }
  // The general path reads the frame again, looking at every string once while parsing: none may hold U+0000
  // (see nulProblem). A reviver, not a walk of the parsed value: a deeply nested frame cannot overflow the stack.
  const found: { nul: TextProblem | null } = { nul: null };
  try {
    json = JSON.parse(raw, (_key: string, value: unknown) => {
      if (found.nul === null && typeof value === 'string') found.nul = nulProblem('a string in the frame', value);
      return value;
    });
  } catch {
    // Nested too deeply for the reviver's recursion.
    return { ok: false, code: 'invalid_frame', message: 'frame is not valid JSON' };
  }
  const id = requestIdOf(json);
  if (found.nul) return withId(found.nul, id);
  const parsed = ClientFrameSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    const message = issue ? `${issue.message}${where}` : 'frame does not match the protocol';
    return withId({ ok: false, code: 'invalid_frame' as const, message }, id);
  }
  const frame = parsed.data;
  if (frame.type === 'message.send' || (frame.type === 'chat.start' && frame.text !== undefined)) {
    const text = frame.text ?? '';
    const problem = checkMessageText(text);
    if (problem) return withId(problem, id);
  }
  return { ok: true, frame };
}

type MessageSendFrame = z.infer<typeof MessageSendFrameSchema>;

/**
 * The fast path of the hottest frame: a well-formed `message.send` (exactly its five fields, each a string
 * within MessageSendFrameSchema's limits, none holding U+0000) is recognised without the schema. Anything else,
 * a faulty `message.send` included, returns null and takes the general path, which words the refusal.
 */
function messageSendOf(json: unknown): MessageSendFrame | null {
  if (typeof json !== 'object' || json === null) return null;
  const frame = json as Record<string, unknown>;
  if (frame['type'] !== 'message.send') return null;
  const { id, sessionID, clientId, text } = frame;
  if (!isId(id, LIMITS.maxIdChars) || !isId(sessionID, MAX_SESSION_ID_CHARS) || !isId(clientId, LIMITS.maxIdChars) || typeof text !== 'string') return null;
  if (text.includes('\u0000')) return null;
  let fields = 0;
  for (const key in frame) {
    if (!Object.hasOwn(frame, key)) return null;
    fields++;
  }
  return fields === 5 && Object.getPrototypeOf(frame) === Object.prototype ? { type: 'message.send', id, sessionID, clientId, text } : null;
}

function isId(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= max && !value.includes('\u0000');
}

function requestIdOf(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const id = (json as { id?: unknown }).id;
  return typeof id === 'string' && id.length > 0 && id.length <= LIMITS.maxIdChars ? id : undefined;
}

function withId(
  failure: { ok: false; code: ErrorCode; message: string },
  id: string | undefined,
): ParseResult {
  return id === undefined ? failure : { ...failure, id };
}
