import { z } from 'zod';
import type { AgentSummary, Message } from './model.ts';
import type { Party } from './party.ts';
import { EmailSchema, NameSchema, VisitorInfoSchema } from './model.ts';

/*
 * HTTP API shared by server and SDK. Every error body is an `ErrorBody` ({ code, message }).
 * Authenticated routes take `Authorization: Bearer <token>`.
 */

/** `POST /api/visitors` — a new anonymous visitor identity. */
export const CreateVisitorBodySchema = z
  .object({ name: NameSchema.optional(), email: EmailSchema.optional(), info: VisitorInfoSchema.optional() })
  .strict();
export type CreateVisitorBody = z.infer<typeof CreateVisitorBodySchema>;
export interface CreateVisitorResponse {
  visitor: Party;
  token: string;
  expiresAt: string;
}

/** `POST /api/agents/login` — exchange email and password for an agent token. */
export const AgentLoginBodySchema = z
  .object({ email: z.string().trim().min(1).max(254), password: z.string().min(1).max(1024) })
  .strict();
export type AgentLoginBody = z.infer<typeof AgentLoginBodySchema>;
export interface AgentLoginResponse {
  agent: AgentSummary & { email: string };
  token: string;
  expiresAt: string;
}

/** `GET /api/conversations/:sessionID/messages?before=SEQ&limit=N` — one page of history, oldest first. */
export const HistoryQuerySchema = z
  .object({
    before: z.coerce.number().int().min(1).optional(),
    after: z.coerce.number().int().min(0).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
export type HistoryQuery = z.infer<typeof HistoryQuerySchema>;
export interface HistoryResponse {
  messages: Message[];
  /** True when older (with `before`) or newer (with `after`) messages remain. */
  more: boolean;
}

/**
 * `POST /api/guests` — a guest redeems an invitation link (once) and gets a guest token for the call.
 * Refusals: `unauthorized` (tampered), `invite_expired`, `invite_used`, `conflict` (the call is over), `capacity`.
 */
export const GuestJoinBodySchema = z.object({ token: z.string().min(1).max(4096), name: NameSchema }).strict();
export type GuestJoinBody = z.infer<typeof GuestJoinBodySchema>;
export interface GuestJoinResponse {
  guest: Party;
  /** The guest's own token: authenticates its WebSocket for this one call. */
  token: string;
  expiresAt: string;
  sessionID: string;
  callId: string;
}
