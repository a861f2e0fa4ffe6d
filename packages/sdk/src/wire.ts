/*
 * The wire protocol as the SDK sees it. Types come from @parley/protocol (erased at build time).
 * Values (limits, rules) come only from its zod-free entry points (`@parley/protocol/limits`,
 * `/call`, `/party`): the main entry point would pull the zod schemas into the browser bundle.
 */
import type {
  ClientFrameOf,
  GoAwayFrame,
  ReadyFrame,
  RequestResults,
  RequestType,
  ResultFrame,
  ServerFrame,
} from '@parley/protocol';

export type {
  AgentLoginResponse,
  AgentSummary,
  CallEndReason,
  CallParticipant,
  CallSnapshot,
  CallState,
  CallTopology,
  ConversationSnapshot,
  GuestInvite,
  GuestJoinResponse,
  ConversationStatus,
  CreateVisitorResponse,
  ErrorBody,
  ErrorCode,
  HistoryResponse,
  IceCandidate,
  IceServerInfo,
  IceTransportPolicy,
  MediaAccess,
  Message,
  Party,
  Presence,
  QueuedConversation,
  QueueUpdatedFrame,
  ReadyFrame,
  RequestResults,
  RequestType,
  Role,
  ServerFrame,
  SessionDescription,
  SignalEventFrame,
  VisitorInfo,
} from '@parley/protocol';

/** The body of a request frame: everything but `type` and the correlation `id`. */
export type RequestBody<T extends RequestType> = Omit<ClientFrameOf<T>, 'id' | 'type'>;

/** Frames the server pushes on its own (everything that is not an answer or connection control). */
export type PushFrame = Exclude<ServerFrame, ReadyFrame | ResultFrame | GoAwayFrame>;

/** Client frames that expect no answer. */
export type FireAndForgetFrame = ClientFrameOf<'typing' | 'signal' | 'call.media' | 'call.connection'>;

/** The requests of the call engine. */
export type CallRequestType =
  | 'call.request'
  | 'call.invite'
  | 'call.answer'
  | 'call.cancel'
  | 'call.hangup'
  | 'call.join'
  | 'call.leave'
  | 'call.remove'
  | 'call.screen';

/** Sends a call request and resolves with its result (rejects with a `ParleyError`). */
export type CallRequester = <T extends CallRequestType>(type: T, body: RequestBody<T>) => Promise<RequestResults[T]>;

/** Sends a frame that expects no answer; false when offline (nothing was sent). */
export type FrameSender = (frame: FireAndForgetFrame) => boolean;
