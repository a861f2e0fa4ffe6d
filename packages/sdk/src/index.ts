/**
 * Parley browser SDK: connect visitors and agents, chat with delivery guarantees, lift a chat into a call.
 *
 * @example
 * ```ts
 * import { Parley } from '@parley/sdk';
 * const visitor = await Parley.connectVisitor({ server: 'https://chat.example.com', name: 'Ada' });
 * const contact = visitor.contact ?? (await visitor.startChat({ text: 'Hi!' }));
 * contact.on('message', (m) => console.log(m.from.name, m.text));
 * ```
 * @packageDocumentation
 */
export { Parley } from './Parley.ts';
export { Visitor, type VisitorConnectOptions, type VisitorEvents } from './session/Visitor.ts';
export { Agent, type AgentConnectOptions, type AgentEvents } from './session/Agent.ts';
export { GuestContact, type GuestJoinOptions } from './session/Guest.ts';
export { Contact } from './conversation/Contact.ts';
export type { ClosedEvent, ContactEvents, TypingEvent } from './conversation/contactEvents.ts';
export type { OutboxEntry } from './conversation/Outbox.ts';
export { ContactVideoApi } from './call/ContactVideoApi.ts';
export type { CallOptions } from './call/callOptions.ts';
export { DeviceCheck, type DeviceCheckEvents, type DeviceCheckLabels, type DeviceCheckOptions } from './call/DeviceCheck.ts';
export type { Device, DeviceChoice, DeviceKind, DeviceList, DevicesInUse } from './call/devices.ts';
export type {
  ActiveSpeakerEvent,
  CallEvents,
  CallStatsRow,
  DeviceChangedEvent,
  DeviceListChangedEvent,
  RequestVideoUpgradeEvent,
  ResponseVideoUpgradeEvent,
  VideoConnectionState,
  VideoEndReason,
  VideoEndedEvent,
  VideoErrorCode,
  VideoErrorEvent,
  VideoInvite,
  VideoParticipant,
  VideoParticipantEvent,
  VideoParticipantEventName,
  VideoSnapshot,
  VideoStartedEvent,
  VideoState,
} from './call/events.ts';
export type {
  CallView,
  MediaDeviceInfoLike,
  MediaHandler,
  MediaRequest,
  MediaStreamLike,
  MediaTrackLike,
  PeerConnectionConfig,
  PeerConnectionLike,
} from './call/MediaHandler.ts';
export { BrowserMediaHandler } from './call/BrowserMediaHandler.ts';
export { DomCallView, type DocumentLike } from './call/DomCallView.ts';
export { ParleyError, type SdkErrorCode } from './errors.ts';
export { TypedEmitter } from './TypedEmitter.ts';
export {
  SignalingChannel,
  type ConnectionState,
  type SignalingChannelEvents,
  type SignalingChannelOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from './signaling/SignalingChannel.ts';
export { nextRetryDelayMs, type RetryPolicy, type RetryPolicyOptions } from './signaling/retryPolicy.ts';
export { MemoryStorage, type KeyValueStorage } from './storage.ts';
export type { ConnectOptions } from './options.ts';
export type { FetchFunction } from './http.ts';
export type {
  AgentSummary,
  ConversationSnapshot,
  GuestInvite,
  ConversationStatus,
  ErrorCode,
  Message,
  Party,
  Presence,
  QueuedConversation,
  QueueUpdatedFrame,
  Role,
  VisitorInfo,
} from './wire.ts';
