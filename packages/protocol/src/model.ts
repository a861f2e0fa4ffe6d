import { z } from 'zod';
import type { CallSnapshot } from './callSnapshot.ts';
import { checkName, LIMITS } from './limits.ts';
import { ROLES, type Party } from './party.ts';

/** Who an identity is in a conversation (the schema of `Role`). */
export const RoleSchema = z.enum(ROLES);

/** Agent availability. `offline` is never set by a client: it means no connection is open. */
export type Presence = 'online' | 'away' | 'offline';
export const SettablePresenceSchema = z.enum(['online', 'away']);

/** A chat message or a system event, as stored and delivered. */
export interface Message {
  /** Server-made unique id. */
  id: string;
  /** Position in its conversation, from 1, without gaps. */
  seq: number;
  sessionID: string;
  from: Party;
  kind: 'text' | 'event';
  text: string;
  /** ISO 8601, server clock. */
  at: string;
  /** The sender's own id for this message (text messages only); a retry with the same id is not stored twice. */
  clientId?: string;
}

export type ConversationStatus = 'queued' | 'active' | 'closed';

/** What a participant knows about a conversation. `sessionID` is also the real-time session id. */
export interface ConversationSnapshot {
  sessionID: string;
  status: ConversationStatus;
  visitor: Party;
  agent: Party | null;
  /** Other agents added to the conversation (colleagues, supervisors), in the order they were added. */
  participants: Party[];
  /** Highest `seq` stored in this conversation. */
  lastSeq: number;
  createdAt: string;
  closedAt: string | null;
  /** Where the visitor is (page URL, browser), as the visitor's SDK reported it. */
  visitorInfo: VisitorInfo;
  /** The conversation's call, while one is live (so a reloaded page can rejoin it). */
  call?: CallSnapshot | null;
}

export interface VisitorInfo {
  page?: string;
  userAgent?: string;
}

/** A conversation waiting for an agent. */
export interface QueuedConversation {
  sessionID: string;
  visitor: Party;
  /** ISO 8601: when it entered the queue. */
  waitingSince: string;
  /** The first message, if the visitor opened with one. */
  firstMessage: string | null;
  visitorInfo: VisitorInfo;
}

/** A colleague as listed to agents. */
export interface AgentSummary {
  id: string;
  name: string;
  presence: Presence;
}

export const VisitorInfoSchema = z
  .object({
    page: z.string().max(2048).optional(),
    userAgent: z.string().max(512).optional(),
  })
  .strict();

/** A display name: trimmed, well-formed, visible, at most LIMITS.maxNameChars code units (see checkName). */
export const NameSchema = z
  .string()
  .trim()
  .min(1)
  .max(LIMITS.maxNameChars)
  .superRefine((name, ctx) => {
    const problem = checkName(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem.message });
  });
export const EmailSchema = z.string().trim().max(254).email();
