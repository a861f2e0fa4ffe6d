import { randomInt, randomUUID } from 'node:crypto';
import type {
  AgentLoginResponse,
  CreateVisitorResponse,
  ErrorCode,
  HistoryResponse,
} from '@parley/protocol';
import { AgentLoginBodySchema, CreateVisitorBodySchema, GuestJoinBodySchema, HistoryQuerySchema, httpStatusFor, nameKey } from '@parley/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { hashPassword, verifyPassword } from '../auth/password.ts';
import { describeTokenProblem, partyOf, type TokenService } from '../auth/tokens.ts';
import type { GuestInvites } from '../calls/GuestInvites.ts';
import type { ConversationService } from '../conversations/ConversationService.ts';
import { ParleyServerError } from '../errors.ts';
import { IpLimiter } from '../rateLimit/IpLimiter.ts';
import type { AgentPresence } from '../routing/AgentPresence.ts';
import type { Store } from '../store/Store.ts';

export interface ApiDeps {
  store: Store;
  tokens: TokenService;
  conversations: ConversationService;
  presence: AgentPresence;
  guests: GuestInvites;
  /** Visitor identities one client address may create per minute (VISITORS_PER_IP_PER_MINUTE). */
  visitorsPerIpPerMinute: number;
}

/** Sends a coded error with its HTTP status. */
export function sendError(reply: FastifyReply, code: ErrorCode, message: string) {
  return reply.code(httpStatusFor(code)).send({ code, message });
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw ParleyServerError.invalid(issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'bad request');
  }
  return result.data;
}

/** The JSON API under /api. */
export function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  const perMinute = deps.visitorsPerIpPerMinute;
  // A bucket of a minute's worth, refilled evenly over the minute.
  const visitorLimiter = new IpLimiter(perMinute / 60, perMinute);
  const loginLimiter = new IpLimiter(1, 10);
  // A hash of a random password, so an unknown email costs the same time as a wrong password.
  const dummyHash = hashPassword(randomUUID());

  app.post('/api/visitors', async (request, reply) => {
    if (!visitorLimiter.take(request.ip)) {
      throw ParleyServerError.rateLimited(`too many new visitors from your address: VISITORS_PER_IP_PER_MINUTE is ${perMinute}`);
    }
    const body = parse(CreateVisitorBodySchema, request.body);
    if (body.name !== undefined) await requireNotAnAgentsName(deps.store, body.name);
    const visitor = await deps.store.createVisitor({
      id: randomUUID(),
      name: body.name ?? `Visitor ${randomInt(1000, 10000)}`,
      email: body.email ?? null,
    });
    const party = { id: visitor.id, role: 'visitor' as const, name: visitor.name };
    const { token, expiresAt } = await deps.tokens.issue(party);
    const response: CreateVisitorResponse = { visitor: party, token, expiresAt };
    return reply.code(201).send(response);
  });

  // A guest redeems its invitation link (once) for a token good for that one call.
  const guestLimiter = new IpLimiter(1, 10);
  app.post('/api/guests', async (request, reply) => {
    if (!guestLimiter.take(request.ip)) throw ParleyServerError.rateLimited();
    const body = parse(GuestJoinBodySchema, request.body);
    await requireNotAnAgentsName(deps.store, body.name);
    return reply.code(201).send(await deps.guests.redeem(body.token, body.name));
  });

  app.post('/api/agents/login', async (request) => {
    if (!loginLimiter.take(request.ip)) throw ParleyServerError.rateLimited('too many sign-in attempts; wait a moment');
    const body = parse(AgentLoginBodySchema, request.body);
    const agent = await deps.store.getAgentByEmail(body.email);
    // Verify against a dummy hash when the agent is unknown, so timing does not tell which emails exist.
    const ok = await verifyPassword(body.password, agent?.passwordHash ?? (await dummyHash));
    if (!agent || !ok) throw ParleyServerError.unauthorized('wrong email or password');
    const { token, expiresAt } = await deps.tokens.issue({ id: agent.id, role: 'agent', name: agent.name });
    const response: AgentLoginResponse = {
      agent: { id: agent.id, name: agent.name, email: agent.email, presence: deps.presence.presenceOf(agent.id) },
      token,
      expiresAt,
    };
    return response;
  });

  app.get<{ Params: { sessionID: string } }>('/api/conversations/:sessionID/messages', async (request) => {
    const party = await authenticate(request, deps.tokens);
    const query = parse(HistoryQuerySchema, request.query);
    const page = await deps.conversations.history(party, request.params.sessionID, query);
    const response: HistoryResponse = page;
    return response;
  });
}

/**
 * Visitors and guests may not pass for an agent: a name equal to an agent's (compared by `nameKey`: NFKC,
 * case, white space and invisible characters ignored) is refused with `conflict`.
 */
async function requireNotAnAgentsName(store: Store, name: string): Promise<void> {
  const key = nameKey(name);
  if ((await store.listAgents()).some((agent) => nameKey(agent.name) === key)) {
    throw ParleyServerError.conflict(`"${name}" is the name of an agent here; choose another name`);
  }
}

async function authenticate(request: FastifyRequest, tokens: TokenService) {
  const header = request.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
  const verified = await tokens.verify(token);
  if (!verified.ok) throw ParleyServerError.unauthorized(describeTokenProblem(verified.problem));
  return partyOf(verified.claims);
}

