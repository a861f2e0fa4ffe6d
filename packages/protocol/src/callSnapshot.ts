/*
 * What a call looks like on the wire: the snapshot every member receives and what a participant is handed
 * to reach the media. Plain data, no zod, so it can be imported anywhere (the conversation snapshot carries
 * a call; the call frames carry snapshots) without import circles.
 */
import type { CallEndReason, CallState, Participant } from './call.ts';
import type { Party } from './party.ts';

/** A peer link's state as a participant reports it, or `absent` before it joined / after it left. */
export type ParticipantConnection = 'absent' | 'connecting' | 'connected' | 'reconnecting' | 'failed';

export interface CallParticipant extends Participant {
  /** Has sent `call.join` and is (or was) in the media session. */
  joined: boolean;
  /**
   * Prepared its media path while the call rang (`call.join` before the answer): its peer connection (or, through
   * Janus, its publisher and subscriptions) may be negotiated and connected, with no device open and nothing sent
   * until the call is accepted. Absent in calls stored before preparing existed, and for participants who did not prepare.
   */
  prepared?: boolean;
  /**
   * The page it is in the call on (see `call.join`'s `page`): the last that joined or prepared. Signals reach that
   * page only; another page of the same party leaves the call to it. Absent for a participant whose client sends
   * no page.
   */
  page?: string;
  connection: ParticipantConnection;
  /** Who brought this participant into a call already running (an added agent, a guest); null for the first two. */
  invitedBy: Party | null;
  /**
   * The id of the stream its screen is (or was last) sent in: the sender's MediaStream id, which peer-to-peer
   * receivers see as the track's stream id, so they tell the screen from the camera. Kept after the share stops
   * (the idle track stays on the link); null when it never shared.
   */
  screenStream: string | null;
}

/**
 * How a call's media travels. `mesh`: every page links to every other one (peer-to-peer, the default);
 * `sfu`: every page publishes once to a Janus VideoRoom and subscribes to the others there.
 */
export type CallTopology = 'mesh' | 'sfu';

/** What a participant needs to reach the call's media, handed out with `call.join`. */
export type MediaAccess =
  | { kind: 'mesh' }
  | {
      kind: 'sfu';
      /** The Janus WebSocket URL (subprotocol `janus-protocol`). */
      url: string;
      /** The VideoRoom of this call. */
      room: number;
      /** The room's PIN: without it the room refuses to be joined. */
      pin: string;
      /** This participant's own join token for the room (the room admits listed tokens only). */
      token: string;
      /** What this participant publishes as (its party id), so others can tell whose feed is whose. */
      display: string;
    };

/** Everything a member knows about a call. */
export interface CallSnapshot {
  callId: string;
  sessionID: string;
  /**
   * Grows with every change of the call. Of two snapshots of one call the one with the higher revision is the
   * newer: frames of one socket arrive in order, but a request's answer (say `call.join`'s) may be handled after
   * a `call.updated` that the server sent later.
   */
  revision: number;
  state: CallState;
  initiator: Party | null;
  useAudio: boolean;
  useVideo: boolean;
  participants: CallParticipant[];
  topology: CallTopology;
  /** Most participants this call carries (invited ones count). */
  capacity: number;
  createdAt: string;
  /** When a pending call expires (requested/invited only). */
  expiresAt: string | null;
  /** When media first connected. */
  startedAt: string | null;
  endedAt: string | null;
  endReason: CallEndReason | null;
  endedBy: Party | null;
  /**
   * Only on the `call.updated` that announces it: the call's media moved (its Janus instance died and the
   * room is now on another), this many times so far. A participant whose media was set up before must send
   * `call.join` again for the new {@link MediaAccess}, and publish there.
   */
  mediaMoved?: number;
  /**
   * Parties taken out of the call in progress because their grace period passed (their connection did not come
   * back in time). Each may join again (`call.join`) while the call lasts. Absent when there are none.
   */
  dropped?: string[];
}

/**
 * Which ICE candidates a participant's peer connections use (RTCConfiguration.iceTransportPolicy): `all`, or
 * `relay` for TURN only, so that no party learns another's own addresses (set on the server: ICE_TRANSPORT_POLICY).
 */
export type IceTransportPolicy = 'all' | 'relay';

/** An RTCIceServer as handed to participants. */
export interface IceServerInfo {
  urls: string | string[];
  username?: string;
  credential?: string;
}
