/*
 * The public face of calls on a Contact: states, snapshots and the typed event map that
 * `ContactEvents` extends. The names are the public API (README, "Putting Parley on your site") and
 * keep the media-escalation vocabulary it follows: requestVideoUpgrade, responseVideoUpgrade, videoParticipant.
 */
import type { CallEndReason, Party } from '../wire.ts';
import type { ConnectionQuality } from './quality/linkQuality.ts';

export type { ConnectionQuality } from './quality/linkQuality.ts';
import type { Device, DeviceKind, DeviceList, DevicesInUse } from './devices.ts';

/** Where the conversation's call stands, as this page sees it. */
export type VideoState = 'idle' | 'requested' | 'invited' | 'connecting' | 'active' | 'ended';

/**
 * Why the call ended for this page (`cancelled`: the one who asked withdrew before an answer). Beyond the call's
 * own reasons: `left` (this page left), `removed` (an agent took it out) and `dropped` (its connection was away
 * past the grace period): the call goes on for the others, and after `dropped` this page may come back with
 * `rejoinVideo()` while `contact.video.canRejoin` holds. `elsewhere`: another page of the same party (a second tab)
 * joined the call, which goes on there.
 */
export type VideoEndReason = CallEndReason | 'left' | 'removed' | 'dropped' | 'elsewhere';

/**
 * A party in a call, with what it sends. `screen`: it shares its screen now (one participant at a time).
 * `joined`: it is in the media (an invited colleague or guest is listed before it joins). `invitedBy`: who
 * brought it into the call while the call ran (null for the first two).
 */
export type VideoParticipant = Party & {
  audio: boolean;
  video: boolean;
  screen: boolean;
  /** Its camera is on but held back because its connection cannot carry video next to audio (see `'videoPaused'`). */
  videoPaused: boolean;
  joined: boolean;
  invitedBy: Party | null;
};

/** Who is heard loudest now in a call (`null`: nobody speaks). */
export interface ActiveSpeakerEvent {
  sessionID: string;
  /** A participant id; this page's own party id when it is this page. */
  participantId: string | null;
}

/** The state of the link to one remote participant. */
export type VideoConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'failed';

/** A read-only snapshot of the conversation's call (`contact.video`). */
export interface VideoSnapshot {
  state: VideoState;
  /** The call's id while there is one (also kept after it ended), else null. */
  callId: string | null;
  useAudio: boolean;
  useVideo: boolean;
  /** Everyone in the call, this page's party included. */
  participants: VideoParticipant[];
  /** The camera, microphone and speaker in use (in a call) or chosen for the next call; null: the browser's default. */
  devices: DevicesInUse;
  /** This party was dropped from the call (its connection was away past the grace period) and the call goes on: `rejoinVideo()` brings it back. */
  canRejoin: boolean;
}

/**
 * A device this page uses changed. `unplugged`: the one in use went away mid-call (its track ended) and the
 * call fell back to the default device — `deviceId` is the one in use now, null when none could be opened
 * (then a `'videoError'` says so and that kind is no longer sent). `selected`: `setDevices` switched it.
 */
export interface DeviceChangedEvent {
  sessionID: string;
  kind: DeviceKind;
  deviceId: string | null;
  /** The device used before, when known. */
  previousId: string | null;
  reason: 'unplugged' | 'selected';
}

/** Devices were plugged in or out during a call: offer what was `added` (a headset, say) with `setDevices`. */
export interface DeviceListChangedEvent {
  sessionID: string;
  devices: DeviceList;
  /** Devices that were not there before, with their kind. */
  added: Array<Device & { kind: DeviceKind }>;
}

/** Agent side: the visitor asks to lift the chat into a call. */
export interface RequestVideoUpgradeEvent {
  sessionID: string;
  useAudio: boolean;
  useVideo: boolean;
  from: Party;
}

/** The answer to a request (visitor side) or to an invitation (agent side). */
export interface ResponseVideoUpgradeEvent {
  sessionID: string;
  response: boolean;
}

/**
 * Visitor side: the agent invites the visitor to a call. Agent side: a colleague added this agent to a
 * conversation whose call is running. Answer with `accept(divID)` or `decline()`.
 */
export interface VideoInvite {
  sessionID: string;
  useAudio: boolean;
  useVideo: boolean;
  from: Party;
  /** Joins the call, rendered into `document.getElementById(divID)`. */
  accept(divID: string): Promise<void>;
  /** Declines; the agent's `inviteToVideo` resolves with `{ accepted: false }`. */
  decline(): Promise<void>;
}

/** Media flows: the first link of this page connected. */
export interface VideoStartedEvent {
  sessionID: string;
}

/** The call ended; everything rendered for it has been removed. */
export interface VideoEndedEvent {
  sessionID: string;
  reason: VideoEndReason;
  /** Who ended it, when a party did. */
  by?: Party;
}

/** What went wrong on this side. */
export type VideoErrorCode =
  /** The user or the browser refused the camera and/or microphone. */
  | 'media-denied'
  /** No camera and/or microphone present. */
  | 'media-missing'
  /** The device is there but could not be started (in use, hardware error). */
  | 'media-failed'
  /** A link could not be (re)established in time. */
  | 'connection-failed'
  /** A call request to the server failed (e.g. the rejoin after a reload). */
  | 'signaling-failed';

/** A failure on this side of the call. The call may go on (e.g. audio only when the camera is denied). */
export interface VideoErrorEvent {
  sessionID: string;
  code: VideoErrorCode;
  message: string;
  /** For media errors: which device failed. */
  device?: 'audio' | 'video' | 'both';
  /** The underlying error (a DOMException from getUserMedia, …). */
  cause?: unknown;
}

/** Names of participant events (CTLive `bindVideoParticipantEvent`). */
export type VideoParticipantEventName =
  | 'participantJoined'
  | 'participantLeft'
  | 'audioMuted'
  | 'audioUnmuted'
  | 'videoDisabled'
  | 'videoEnabled'
  | 'connectionStateChanged'
  /** The quality of the link changed (`event.quality`); for this page's own sending, `participant.id` is its own id. */
  | 'connectionQuality'
  /**
   * The participant's video stopped: `event.reason` `network` when its own page held it back to keep the audio
   * alive on a weak link (it comes back by itself, with `'videoResumed'`), `user` when it turned its camera off.
   */
  | 'videoPaused'
  /** The participant's video is back (`event.reason`: `network` when its link recovered, `user` when it turned the camera on). */
  | 'videoResumed'
  /** The participant started sharing its screen (`participant.screen` is true). */
  | 'screenShareStarted'
  /** The participant stopped sharing its screen (by hand, or with the browser's own "Stop sharing"). */
  | 'screenShareStopped';

/** Payload of a participant event. */
export interface VideoParticipantEvent {
  sessionID: string;
  participant: VideoParticipant;
  /** With `connectionStateChanged`: the link's new state. */
  connectionState?: VideoConnectionState;
  /**
   * With `connectionQuality`: how well media flows — from that participant to this page, or, for this page's own id,
   * from this page out. `good`, `fair`, `poor` (loss, delay or jitter a listener notices), `lost` (nothing arrives).
   */
  quality?: ConnectionQuality;
  /** With `videoPaused` / `videoResumed`: why. */
  reason?: 'network' | 'user';
}

/** One row of `getCallStats()`: what this page receives from one remote participant. */
export interface CallStatsRow {
  participantId: string;
  audioPacketsReceived: number;
  videoFramesDecoded: number;
  roundTripTimeMs?: number;
  packetLossPct?: number;
  /** The participant's audio level now, 0..1 (when the browser reports it). */
  audioLevel?: number;
  /** The shown quality of the link from that participant (see `connectionQuality`), once it was sampled. */
  quality?: ConnectionQuality;
  /** This page's sending estimate towards that participant, in kbit/s (its mesh link; through Janus, the publishing connection's). */
  availableOutgoingBitrateKbps?: number;
}

/** The call events of a Contact (merged into `ContactEvents`). */
export interface CallEvents {
  /** Agent side: the visitor asks for a call. Answer with `responseVideoUpgrade`. */
  requestVideoUpgrade: [event: RequestVideoUpgradeEvent];
  /** The other side answered a request or an invitation. */
  responseVideoUpgrade: [event: ResponseVideoUpgradeEvent];
  /** Visitor side: the agent invites to a call. */
  videoInvite: [invite: VideoInvite];
  /** Media connected. */
  videoStarted: [event: VideoStartedEvent];
  /** The call ended. */
  videoEnded: [event: VideoEndedEvent];
  /** Something failed on this side (camera denied, link lost, …). */
  videoError: [event: VideoErrorEvent];
  /** A participant joined, left, muted, turned the camera off or on, started or stopped sharing its screen, or its link changed state. */
  videoParticipant: [event: VideoParticipantEvent, eventName: VideoParticipantEventName];
  /** `contact.video` changed. */
  videoStateChanged: [snapshot: VideoSnapshot];
  /** The loudest participant changed (from audio levels, about twice a second). */
  activeSpeaker: [event: ActiveSpeakerEvent];
  /** A device in use was switched (`setDevices`) or went away mid-call and the default took its place. */
  deviceChanged: [event: DeviceChangedEvent];
  /** During a call, a device was plugged in or out: the new list, and what was added. */
  deviceListChanged: [event: DeviceListChangedEvent];
}
