/*
 * The wire protocol as the SDK sees it. Types come from @parley/protocol (erased at build time);
 * the few runtime constants are repeated here, typed against the protocol's own literal types so the
 * type checker fails if they ever drift. Importing values from @parley/protocol would pull its zod
 * schemas into the browser bundle.
 */
import type {
  ClientFrameOf,
  GoAwayFrame,
  LIMITS as WireLimits,
  PROTOCOL_VERSION as WireVersion,
  ReadyFrame,
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
  MediaAccess,
  Message,
  Party,
  Presence,
  QueuedConversation,
  ReadyFrame,
  RequestResults,
  RequestType,
  Role,
  ServerFrame,
  SessionDescription,
  SignalEventFrame,
  VisitorInfo,
} from '@parley/protocol';

/** Protocol version sent in `auth`. */
export const PROTOCOL_VERSION: typeof WireVersion = 1;
/** Longest chat message, in characters. */
export const MAX_MESSAGE_CHARS: (typeof WireLimits)['maxMessageChars'] = 4000;
/** Most messages one history or sync page may return. */
export const MAX_PAGE_SIZE: (typeof WireLimits)['maxPageSize'] = 500;

/** The body of a request frame: everything but `type` and the correlation `id`. */
export type RequestBody<T extends RequestType> = Omit<ClientFrameOf<T>, 'id' | 'type'>;

/** Frames the server pushes on its own (everything that is not an answer or connection control). */
export type PushFrame = Exclude<ServerFrame, ReadyFrame | ResultFrame | GoAwayFrame>;

/** Client frames that expect no answer. */
export type FireAndForgetFrame = ClientFrameOf<'typing' | 'signal' | 'call.media' | 'call.connection'>;
