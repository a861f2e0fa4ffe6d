import type { ClientFrame, RequestResults, RequestType } from '@parley/protocol';
import { topics } from '../bus/topics.ts';
import type { CallService } from '../calls/CallService.ts';
import type { GuestInvites } from '../calls/GuestInvites.ts';
import type { ConversationService } from '../conversations/ConversationService.ts';
import { ParleyServerError } from '../errors.ts';
import type { AgentPresence } from '../routing/AgentPresence.ts';
import type { ClientConnection } from './ClientConnection.ts';

type Answer<T extends RequestType> = RequestResults[T];

/** The services frames reach. */
export interface FrameHandlers {
  conversations: ConversationService;
  presence: AgentPresence;
  calls: CallService;
  guests: GuestInvites;
}

/**
 * Carries out one validated frame of an authenticated connection. Returns the `result` data for requests,
 * undefined for fire-and-forget frames. Throws ParleyServerError for refusals.
 */
export async function handleFrame(
  frame: Exclude<ClientFrame, { type: 'auth' }>,
  connection: ClientConnection,
  { conversations, presence, calls, guests }: FrameHandlers,
): Promise<Answer<RequestType> | undefined> {
  const party = connection.party;
  if (party === null) throw ParleyServerError.unauthorized('authenticate first');
  switch (frame.type) {
    case 'chat.start': {
      const result: Answer<'chat.start'> = await conversations.startChat(party, {
        text: frame.text,
        clientId: frame.clientId,
        info: connection.visitorInfo,
        address: connection.remote,
      });
      connection.subscribe(topics.conversation(result.conversation.sessionID), result.conversation.lastSeq);
      return result;
    }
    case 'message.send': {
      const result: Answer<'message.send'> = await conversations.sendMessage(party, frame.sessionID, frame.clientId, frame.text, connection);
      return result;
    }
    case 'typing':
      await conversations.typing(party, frame.sessionID, frame.typing);
      return undefined;
    case 'conversation.close': {
      const result: Answer<'conversation.close'> = { conversation: await conversations.close(party, frame.sessionID) };
      return result;
    }
    case 'conversation.sync': {
      const result: Answer<'conversation.sync'> = await conversations.sync(party, frame.sessionID, frame.afterSeq);
      if (result.conversation.status !== 'closed') connection.subscribe(topics.conversation(frame.sessionID), result.conversation.lastSeq);
      return result;
    }
    case 'queue.list': {
      const result: Answer<'queue.list'> = await conversations.queue(party, { limit: frame.limit, after: frame.after });
      return result;
    }
    case 'conversation.accept': {
      const result: Answer<'conversation.accept'> = { conversation: await conversations.accept(party, frame.sessionID) };
      connection.subscribe(topics.conversation(frame.sessionID), result.conversation.lastSeq);
      return result;
    }
    case 'presence.set': {
      const result: Answer<'presence.set'> = { presence: await presence.choose(party, frame.presence) };
      return result;
    }
    case 'agents.list': {
      const result: Answer<'agents.list'> = { agents: await presence.list(party) };
      return result;
    }
    case 'ping': {
      const result: Answer<'ping'> = { now: new Date().toISOString() };
      return result;
    }
    case 'call.request':
    case 'call.invite': {
      const result: Answer<'call.request'> = { call: await calls.start(party, frame) };
      return result;
    }
    case 'call.answer': {
      const result: Answer<'call.answer'> = { call: await calls.answer(party, frame) };
      return result;
    }
    case 'call.cancel': {
      const result: Answer<'call.cancel'> = { call: await calls.cancel(party, frame) };
      return result;
    }
    case 'call.hangup': {
      const result: Answer<'call.hangup'> = { call: await calls.hangup(party, frame) };
      return result;
    }
    case 'call.join': {
      const result: Answer<'call.join'> = await calls.join(party, frame);
      return result;
    }
    case 'call.leave': {
      const result: Answer<'call.leave'> = { call: await calls.leave(party, frame) };
      return result;
    }
    case 'call.remove': {
      const result: Answer<'call.remove'> = { call: await calls.remove(party, frame) };
      return result;
    }
    case 'call.screen': {
      const result: Answer<'call.screen'> = { call: await calls.screen(party, frame) };
      return result;
    }
    case 'conversation.addParticipant': {
      const result: Answer<'conversation.addParticipant'> = { conversation: await conversations.addMember(party, frame.sessionID, frame.agentId) };
      return result;
    }
    case 'guest.invite': {
      const result: Answer<'guest.invite'> = await guests.create(party, frame.sessionID);
      return result;
    }
    case 'call.media':
      await calls.media(party, frame);
      return undefined;
    case 'call.connection':
      await calls.connection(party, frame);
      return undefined;
    case 'signal':
      calls.signal(party, frame);
      return undefined;
    default:
      return assertNever(frame);
  }
}

function assertNever(frame: never): never {
  throw ParleyServerError.invalid(`unknown frame type ${(frame as { type?: unknown }).type as string}`);
}

