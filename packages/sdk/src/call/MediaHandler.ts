/*
 * The browser behind an interface. The call engine speaks only to these shapes — the subset of
 * RTCPeerConnection, MediaStream and the DOM it uses — so its negotiation and call-state logic runs
 * in Node against fakes (testing/FakeMedia.ts), while the browser implementation
 * (BrowserMediaHandler.ts) is a thin pass-through to the real objects.
 */
import type { IceCandidate, SessionDescription } from '../wire.ts';
import type { ConnectionQuality } from './quality/linkQuality.ts';

/** The part of a MediaStreamTrack the engine uses. */
export interface MediaTrackLike {
  readonly id: string;
  readonly kind: string;
  enabled: boolean;
  readonly readyState: 'live' | 'ended';
  stop(): void;
  /** What the track is set to; `deviceId` names the camera or microphone it comes from. */
  getSettings(): { deviceId?: string };
  /** `ended`: the device went away (unplugged, or taken by the system); `stop()` does not fire it. */
  addEventListener(type: 'ended', listener: () => void): void;
  removeEventListener(type: 'ended', listener: () => void): void;
}

/** The part of a MediaStream the engine uses. */
export interface MediaStreamLike {
  readonly id: string;
  getTracks(): MediaTrackLike[];
  getAudioTracks(): MediaTrackLike[];
  getVideoTracks(): MediaTrackLike[];
  addTrack(track: MediaTrackLike): void;
  removeTrack(track: MediaTrackLike): void;
}

/** The part of RTCRtpSendParameters the engine uses. */
export interface SendParametersLike {
  encodings: Array<{ active?: boolean }>;
  /** What the encoder gives up first when the link is short: `maintain-resolution` lowers the frame rate instead. */
  degradationPreference?: 'balanced' | 'maintain-framerate' | 'maintain-resolution';
}

/** The part of an RTCRtpSender the engine uses. */
export interface RtpSenderLike {
  readonly track: MediaTrackLike | null;
  replaceTrack(track: MediaTrackLike | null): Promise<void>;
  /** The encodings sent (the object to hand back to `setParameters`). */
  getParameters?(): SendParametersLike;
  setParameters?(parameters: SendParametersLike): Promise<void>;
  /** Names the streams the track is sent in (the SDP's msid), for a sender made without its track. */
  setStreams?(...streams: MediaStreamLike[]): void;
}

/** The part of an RTCRtpTransceiver the engine uses. */
export interface RtpTransceiverLike {
  readonly mid: string | null;
  /** Whether this side sends and/or receives on it; a change takes effect with the next negotiation. */
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive' | 'stopped';
  readonly sender: RtpSenderLike;
  readonly receiver: {
    readonly track: MediaTrackLike;
    /** The sources heard lately, each with when its latest packet was played out (cheap: no stats are gathered). */
    getSynchronizationSources?(): ReadonlyArray<{ readonly timestamp: number }>;
  };
}

/** What `ontrack` delivers. */
export interface TrackEventLike {
  readonly track: MediaTrackLike;
  /** The streams the sender put the track in (peer-to-peer: the sender's stream ids, from the SDP's msid). */
  readonly streams: readonly MediaStreamLike[];
  /** The transceiver the track arrived on (its `mid` names the m-line). */
  readonly transceiver?: RtpTransceiverLike;
}

/** A stats report: RTCStatsReport is a Map of stats objects by id. */
export interface StatsReportLike {
  forEach(callback: (stat: Record<string, unknown>) => void): void;
}

/** The part of an RTCPeerConnection the engine uses (the names and semantics are the browser's). */
export interface PeerConnectionLike {
  readonly signalingState: 'stable' | 'have-local-offer' | 'have-remote-offer' | 'have-local-pranswer' | 'have-remote-pranswer' | 'closed';
  readonly connectionState: 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';
  readonly localDescription: { type: string; sdp: string } | null;
  readonly remoteDescription: { type: string; sdp: string } | null;
  onnegotiationneeded: (() => void) | null;
  onicecandidate: ((event: { candidate: { toJSON(): IceCandidate } | null }) => void) | null;
  onconnectionstatechange: (() => void) | null;
  ontrack: ((event: TrackEventLike) => void) | null;
  /** Without an argument: the implicit offer or answer (perfect negotiation). */
  setLocalDescription(description?: SessionDescription): Promise<void>;
  setRemoteDescription(description: SessionDescription): Promise<void>;
  addIceCandidate(candidate?: IceCandidate): Promise<void>;
  addTrack(track: MediaTrackLike, ...streams: MediaStreamLike[]): RtpSenderLike;
  /** A transceiver of `kind` with no track yet (one is given later with `replaceTrack`, without renegotiating). */
  addTransceiver(kind: 'audio' | 'video', init: { direction: 'sendrecv' | 'sendonly'; streams: MediaStreamLike[] }): RtpTransceiverLike;
  getTransceivers(): RtpTransceiverLike[];
  restartIce(): void;
  getStats(): Promise<StatsReportLike>;
  close(): void;
}

/** What a peer connection is created with. */
export interface PeerConnectionConfig {
  iceServers: Array<{ urls: string | string[]; username?: string; credential?: string }>;
  /** Candidates gathered before they are needed: shortens the setup. */
  iceCandidatePoolSize?: number;
  /** `relay`: TURN candidates only (the server's ICE_TRANSPORT_POLICY). */
  iceTransportPolicy?: 'all' | 'relay';
}

/** Which devices to open; without an id, the browser's default device of that kind. */
export interface MediaRequest {
  audio: boolean;
  video: boolean;
  /** The microphone to open (exactly this one: a missing one fails with `OverconstrainedError`). */
  audioDeviceId?: string;
  /** The camera to open (exactly this one). */
  videoDeviceId?: string;
}

/** A device as `navigator.mediaDevices.enumerateDevices()` describes it (MediaDeviceInfo). */
export interface MediaDeviceInfoLike {
  readonly kind: 'audioinput' | 'audiooutput' | 'videoinput';
  readonly deviceId: string;
  /** Empty until the page was granted a device. */
  readonly label: string;
}

/**
 * Where a call is drawn: one element per remote participant, a local preview, named tiles for
 * participants without video. Created per call, `clear()`ed when it ends.
 */
export interface CallView {
  /** Shows (or updates) the local preview; `stream` null or without video shows this party's tile. */
  showLocal(stream: MediaStreamLike | null, name: string, hasVideo: boolean): void;
  /** Shows (or updates) a remote participant: its stream plays (audio too); a tile replaces missing video. */
  showRemote(participantId: string, name: string, stream: MediaStreamLike | null, hasVideo: boolean): void;
  /** Removes one remote participant (its screen too). */
  removeRemote(participantId: string): void;
  /**
   * Shows a remote participant's shared screen large (`stream` with a video track), or removes it (null). Its
   * camera tile stays, small.
   */
  showScreen(participantId: string, name: string, stream: MediaStreamLike | null): void;
  /** Shows this page's own shared screen as a small "you are sharing" preview, or removes it (null). */
  showLocalScreen(stream: MediaStreamLike | null): void;
  /** Marks who is heard loudest now (a remote id, `local`, or null for nobody). */
  setActiveSpeaker(participantId: string | null): void;
  /** Shows a participant's link quality (a remote id, or `local` for this page's sending). */
  setQuality(participantId: string, quality: ConnectionQuality): void;
  /** Says on a remote participant's tile that its video is paused for its weak link (or takes the note away). */
  setPaused(participantId: string, paused: boolean): void;
  /** Marks a remote participant whose link is being restored ("Reconnecting…"), or clears the mark. */
  setReconnecting(participantId: string, reconnecting: boolean): void;
  /**
   * Plays every participant's sound on this output device (`HTMLMediaElement.setSinkId`), now and for
   * participants drawn later. @throws ParleyError `not_supported` when the browser cannot choose outputs.
   */
  setSpeaker(deviceId: string): Promise<void>;
  /** Removes everything this view added. */
  clear(): void;
}

/**
 * Everything the call engine needs from the browser: peer connections, camera and microphone, and
 * a place to draw. Pass your own (e.g. a fake in tests, or custom constraints) through `CallOptions.media`.
 */
export interface MediaHandler {
  createPeerConnection(config: PeerConnectionConfig): PeerConnectionLike;
  /** Opens the devices; rejects like `navigator.mediaDevices.getUserMedia` (a DOMException with a `name`). */
  getUserMedia(request: MediaRequest): Promise<MediaStreamLike>;
  /**
   * Asks the user for a screen, window or tab to share; rejects like `navigator.mediaDevices.getDisplayMedia`
   * (`NotAllowedError` when the user cancels the picker or it is refused).
   */
  getDisplayMedia(): Promise<MediaStreamLike>;
  /** A new empty stream (to collect tracks). */
  createStream(): MediaStreamLike;
  /** The cameras, microphones and speakers there are (`navigator.mediaDevices.enumerateDevices`). */
  enumerateDevices(): Promise<MediaDeviceInfoLike[]>;
  /** Calls `listener` whenever a device is plugged in or out (`devicechange`); returns a function that stops it. */
  watchDevices(listener: () => void): () => void;
  /** The view drawing into `document.getElementById(divID)`. */
  createView(divID: string | null): CallView;
}
