/*
 * The events of a Contact: the chat's (messages, typing, closing, snapshot changes) on top of the call's
 * (call/events.ts). The names are the public API (README, "Putting Parley on your site").
 */
import type { CallEvents } from '../call/events.ts';
import type { ConversationSnapshot, Message, Party } from '../wire.ts';

/** Someone in the conversation started or stopped typing. */
export interface TypingEvent {
  sessionID: string;
  from: Party;
  typing: boolean;
}

/** The conversation was closed. */
export interface ClosedEvent {
  sessionID: string;
  /** Who closed it (the system when it was closed while this page was offline). */
  by: Party;
}

/** Events of a `Contact`: the chat's, plus the call events of {@link CallEvents}. */
export interface ContactEvents extends CallEvents {
  /** A new message or system event, strictly in `seq` order, exactly once (your own messages included). */
  message: [message: Message];
  /** Another member started or stopped typing. */
  typing: [event: TypingEvent];
  /** The conversation was closed; no more messages can be sent. */
  closed: [event: ClosedEvent];
  /** The conversation's snapshot changed (an agent was assigned, the status changed). */
  updated: [conversation: ConversationSnapshot];
}
