import { TypedEmitter, type EventMap } from '../TypedEmitter.ts';
import type { CallSnapshot, SignalEventFrame } from '../wire.ts';
import type { CallEvents, CallStatsRow, VideoParticipantEvent, VideoParticipantEventName, VideoSnapshot } from './events.ts';
import { Call, type CallDeps } from './Call.ts';
import type { DeviceChoice } from './devices.ts';

/**
 * The media-escalation half of a `Contact` (and all of a `GuestContact`): a conversation lifts into a
 * voice or video call, asked for by the visitor (CTLive `requestVideoUpgrade`) or offered by the agent
 * (LiveEngage `inviteToVideo`). The engine behind it is {@link Call}; this class is its public face.
 * `Events` is the event map of the whole emitter: the call events plus whatever the subclass adds
 * (a Contact adds the chat's), so this file knows nothing of the chat.
 */
export abstract class ContactVideoApi<Events extends CallEvents & EventMap<Events> = CallEvents> extends TypedEmitter<Events> {
  /** @internal The call engine. */
  protected readonly call: Call;

  /** @internal */
  protected constructor(deps: Omit<CallDeps, 'emit'>, initial: CallSnapshot | null | undefined) {
    super();
    // Every key of CallEvents is a key of Events with the same arguments; the type system cannot see that through the generic.
    const emit = <K extends keyof CallEvents>(event: K, ...args: CallEvents[K]): void => {
      (this.emit as (event: K, ...args: CallEvents[K]) => boolean)(event, ...args);
    };
    this.call = new Call({ ...deps, emit }, initial);
  }

  /** @internal Whether this page is in a live call (see `SignalingChannelOptions.inCall`). */
  get inCall(): boolean {
    return this.call.engaged;
  }

  /**
   * Visitor: asks the agent to lift the chat into a call. Resolves once the server has the request;
   * the answer comes as `'responseVideoUpgrade'`, and on `true` media engages by itself, drawn into
   * `document.getElementById(divID)`.
   * @throws ParleyError `conflict` (a call is already live, or no agent yet), `forbidden` (not the visitor).
   * @example
   * ```ts
   * contact.on('responseVideoUpgrade', (e) => console.log('agent said', e.response));
   * await contact.requestVideoUpgrade('videoPanel', true, true);
   * ```
   */
  requestVideoUpgrade(divID: string, useAudio: boolean, useVideo: boolean): Promise<void> {
    return this.call.request(divID, useAudio, useVideo);
  }

  /**
   * Agent: answers the visitor's `'requestVideoUpgrade'`. On `true` the call starts, drawn into `divID`
   * (without one, it plays sound only).
   * @throws ParleyError `conflict` when no request is waiting (withdrawn, expired).
   * @example
   * ```ts
   * contact.on('requestVideoUpgrade', () => contact.responseVideoUpgrade(true, 'videoPanel'));
   * ```
   */
  responseVideoUpgrade(accept: boolean, divID?: string): Promise<void> {
    return this.call.answer(accept, divID ?? null);
  }

  /**
   * Agent: invites the visitor to a call (audio and video unless said otherwise). Resolves when the
   * visitor answers: `{ accepted: true }`, or `{ accepted: false }` on decline, timeout or cancel.
   * @throws ParleyError `conflict` (a call is already live), `forbidden` (not this conversation's agent).
   * @example
   * ```ts
   * const { accepted } = await contact.inviteToVideo('videoPanel', { useVideo: true });
   * if (!accepted) showNote('The visitor declined');
   * ```
   */
  inviteToVideo(divID: string, opts: { useAudio?: boolean; useVideo?: boolean } = {}): Promise<{ accepted: boolean }> {
    return this.call.invite(divID, opts.useAudio ?? true, opts.useVideo ?? true);
  }

  /**
   * Ends the call for everyone in it (the chat goes on). While it is still ringing, withdraws the
   * request or invitation (or declines it on the answering side). Nothing happens without a call.
   * In a group call, only the visitor and the conversation's agent end it for everyone; for a guest or an
   * added colleague this is {@link leaveVideo}.
   * @example
   * ```ts
   * hangupButton.onclick = () => contact.endVideo();
   * ```
   */
  endVideo(): Promise<void> {
    return this.call.end();
  }

  /**
   * Comes back into the call after this page's connection was away past the grace period (`'videoEnded'` with
   * `reason: 'dropped'`; `contact.video.canRejoin` is true while the call goes on for the others). The devices
   * open again and media flows anew, drawn into `divID` (by default where the call was drawn before).
   * @throws ParleyError `conflict` when there is nothing to rejoin (the call ended, or this page is in it).
   * @example
   * ```ts
   * contact.on('videoEnded', (e) => { if (e.reason === 'dropped') rejoinButton.hidden = false; });
   * rejoinButton.onclick = () => contact.rejoinVideo();
   * ```
   */
  rejoinVideo(divID?: string): Promise<void> {
    return this.call.rejoin(divID ?? null);
  }

  /**
   * Leaves the call. The call goes on for the others, unless this is the visitor or the last agent in it:
   * then it ends for everyone. `'videoEnded'` fires here with reason `left`.
   * @example
   * ```ts
   * leaveButton.onclick = () => contact.leaveVideo();
   * ```
   */
  leaveVideo(): Promise<void> {
    return this.call.leave();
  }

  /**
   * Agent: takes another participant (a guest, a colleague) out of the call; its page gets `'videoEnded'` with
   * reason `removed`. Removing the visitor ends the call.
   * @throws ParleyError `forbidden` (not an agent in the call), `not_found`, `conflict`.
   * @example
   * ```ts
   * await contact.removeVideoParticipant(guestId);
   * ```
   */
  removeVideoParticipant(participantId: string): Promise<void> {
    return this.call.remove(participantId);
  }

  /**
   * Stops sending video and releases the camera; audio goes on untouched.
   * @throws ParleyError `conflict` when this page is not in a call.
   * @example
   * ```ts
   * await contact.disableVideo(); // voice only
   * ```
   */
  disableVideo(): Promise<void> {
    return this.call.setVideo(false);
  }

  /**
   * Opens the camera again and sends video; also upgrades a call that started audio-only.
   * @throws ParleyError `unavailable` when the camera cannot be opened (a `'videoError'` tells why),
   *   `conflict` when this page is not in a call.
   * @example
   * ```ts
   * await contact.enableVideo();
   * ```
   */
  enableVideo(): Promise<void> {
    return this.call.setVideo(true);
  }

  /**
   * Mutes the microphone (the track stays open, so unmuting is instant).
   * @example
   * ```ts
   * await contact.muteAudio();
   * ```
   */
  muteAudio(): Promise<void> {
    return this.call.setAudio(false);
  }

  /**
   * Unmutes the microphone (opens it if it could not be opened at first).
   * @example
   * ```ts
   * await contact.unmuteAudio();
   * ```
   */
  unmuteAudio(): Promise<void> {
    return this.call.setAudio(true);
  }

  /**
   * Shares a screen, window or tab in the call (the browser asks which), with the camera on or off, in a video
   * or a voice call: the call gains a screen and nothing else changes (audio and camera go on untouched).
   * The others see it large (`<video data-participant-id data-screen>`), with the camera tiles small; this page
   * sees a small "you are sharing" preview. Everyone gets `'screenShareStarted'` through
   * {@link bindVideoParticipantEvent}, and the transcript says "<name> shared their screen".
   *
   * One sharer at a time: while someone else shares, this is refused with `screen_share_busy` (the first sharer
   * keeps the screen; nobody is cut off mid-explanation). Sharing again while this page shares does nothing.
   * @throws ParleyError `screen_share_busy` (someone else shares), `forbidden` (the user cancelled the picker
   *   or the browser refused), `unavailable` (this browser cannot share a screen), `conflict` (not in a call).
   * @example
   * ```ts
   * try {
   *   await contact.startScreenShare();
   * } catch (err) {
   *   if (err instanceof ParleyError && err.code === 'screen_share_busy') showNote('Someone else is sharing');
   * }
   * ```
   */
  startScreenShare(): Promise<void> {
    return this.call.shareScreen(true);
  }

  /**
   * Stops sharing the screen; the browser's own "Stop sharing" bar does exactly the same. Everyone gets
   * `'screenShareStopped'`, and the transcript says "<name> stopped sharing". Nothing happens when this page
   * does not share.
   * @throws ParleyError `conflict` when this page is not in a call.
   * @example
   * ```ts
   * stopButton.onclick = () => contact.stopScreenShare();
   * ```
   */
  stopScreenShare(): Promise<void> {
    return this.call.shareScreen(false);
  }

  /**
   * Chooses the camera, microphone and/or speaker (ids from `Parley.listDevices()`). In a call they switch at
   * once, without renegotiating and without a gap in the audio (`RTCRtpSender.replaceTrack`); the camera while
   * it is off, or any of them outside a call, is used when it opens next. `video.devices` says what is in use,
   * `'deviceChanged'` tells of each change. A device unplugged mid-call falls back to the default by itself.
   * @throws ParleyError `device_not_found` (no such device; nothing changed), `invalid_frame` (not an id),
   *   `not_supported` (this browser cannot choose the speaker), `unavailable` (the device could not be started).
   * @example
   * ```ts
   * const { microphones } = await Parley.listDevices();
   * const headset = microphones.find((m) => /headset/i.test(m.label));
   * if (headset) await contact.setDevices({ microphone: headset.id });
   * ```
   */
  setDevices(choice: DeviceChoice): Promise<void> {
    return this.call.setDevices(choice);
  }

  /** The conversation's call: state, what it carries, who is in it (a snapshot; `'videoStateChanged'` tells when it changes). */
  get video(): VideoSnapshot {
    return this.call.snapshot;
  }

  /**
   * Calls `callback(event, eventName)` for every participant event of this conversation's calls
   * (`participantJoined`, `participantLeft`, `audioMuted`, `audioUnmuted`, `videoDisabled`,
   * `videoEnabled`, `connectionStateChanged`, `screenShareStarted`, `screenShareStopped`). Returns a function
   * that unbinds it.
   * @example
   * ```ts
   * contact.bindVideoParticipantEvent((event, eventName) => {
   *   console.log(eventName, event.participant.name, event.connectionState ?? '');
   * });
   * ```
   */
  bindVideoParticipantEvent(callback: (event: VideoParticipantEvent, eventName: VideoParticipantEventName) => void): () => void {
    return this.on('videoParticipant', callback);
  }

  /**
   * What this page receives from each remote participant: one row per participant, from the peer
   * connection's statistics.
   * @example
   * ```ts
   * const [row] = await contact.getCallStats();
   * console.log(row?.videoFramesDecoded, row?.roundTripTimeMs);
   * ```
   */
  getCallStats(): Promise<CallStatsRow[]> {
    return this.call.stats();
  }

  /** @internal A `call.updated` for this conversation. */
  receiveCall(call: CallSnapshot): void {
    this.call.apply(call);
  }

  /** @internal A `signal` for this conversation. */
  receiveSignal(frame: SignalEventFrame): void {
    this.call.receiveSignal(frame);
  }
}
