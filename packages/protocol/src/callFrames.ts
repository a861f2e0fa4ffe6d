import { z } from 'zod';
import type { CallSnapshot, IceServerInfo, IceTransportPolicy, MediaAccess } from './callSnapshot.ts';
import { LIMITS } from './limits.ts';

/*
 * Call frames. The flow, on the wire:
 *  1. visitor `call.request` or agent `call.invite` → every member gets `call.updated` (state requested|invited)
 *  2. the answerer `call.answer {accept}` → `call.updated` (connecting, or ended/declined)
 *  3. each participant, once the call is connecting (and again after a reload or reconnect), sends `call.join`;
 *     the result carries the ICE servers (with TURN credentials when configured) and the ICE transport policy —
 *     given to participants only. While a call rings, its two parties may send `call.join` early to prepare (through
 *     Janus, the room is made then and the result hands out its access): they are marked `prepared`, signal to each other and connect, open no device and send nothing;
 *     once the call is accepted each sends `call.join` again and attaches its tracks without renegotiating. A party
 *     with several pages is in the call on one (`page`): signals name it (`toPage`) and others ignore them
 *  4. participants exchange `signal` frames (SDP and ICE candidates), relayed by the server only between joined
 *     participants of the same call; `to`/`from` are party ids. Perfect negotiation: for each pair, the party
 *     whose id sorts higher is the polite one.
 *  5. `call.connection` reports each peer link's state; the first `connected` makes the call active
 *  6. `call.media` says what a participant sends (muted, camera off); `call.screen` starts or stops sharing its
 *     screen (one sharer at a time: a second one is refused with `screen_share_busy`); `call.hangup` ends it for everyone
 *     (the visitor or the conversation's agent; from anyone else it is a `call.leave`)
 *  7. groups: `conversation.addParticipant` (agent) and a guest link (`guest.invite`) bring more people into a
 *     running call as participants with `invitedBy` set and `joined` false; they enter with `call.join`.
 *     `call.leave` takes one participant out; `call.remove` (agents) takes out another. When the visitor or the
 *     last agent is gone, the call ends for everyone.
 * A call also ends when it is not answered in time (timeout), when the conversation closes (closed), or when a
 * participant stays disconnected past the grace period (failed).
 */

const Id = z.string().min(1).max(LIMITS.maxIdChars);
/**
 * One page of a party (a browser tab: random, made when the page loads, kept across reconnects). A party signed in
 * on several pages is in a call on one of them: the last that joined or prepared.
 */
const PageId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'a page id is 8 to 64 letters, digits, "_" or "-"');
const SessionID = z.string().min(1).max(64);
const CallId = z.string().min(1).max(64);

export const CallRequestFrameSchema = z
  .object({ type: z.literal('call.request'), id: Id, sessionID: SessionID, useAudio: z.boolean(), useVideo: z.boolean() })
  .strict();
export const CallInviteFrameSchema = z
  .object({ type: z.literal('call.invite'), id: Id, sessionID: SessionID, useAudio: z.boolean(), useVideo: z.boolean() })
  .strict();
export const CallAnswerFrameSchema = z
  .object({ type: z.literal('call.answer'), id: Id, sessionID: SessionID, callId: CallId, accept: z.boolean() })
  .strict();
export const CallCancelFrameSchema = z
  .object({ type: z.literal('call.cancel'), id: Id, sessionID: SessionID, callId: CallId })
  .strict();
export const CallHangupFrameSchema = z
  .object({
    type: z.literal('call.hangup'),
    id: Id,
    sessionID: SessionID,
    callId: CallId,
    /** `media-denied`: this side could get neither camera nor microphone. */
    reason: z.enum(['hangup', 'media-denied']).optional(),
  })
  .strict();
/** A participant leaves the call; when the visitor or the last agent leaves, the call ends for everyone. */
export const CallLeaveFrameSchema = z
  .object({ type: z.literal('call.leave'), id: Id, sessionID: SessionID, callId: CallId })
  .strict();
/** An agent in the call removes another participant (a guest, a colleague, or the visitor, which ends it). */
export const CallRemoveFrameSchema = z
  .object({ type: z.literal('call.remove'), id: Id, sessionID: SessionID, callId: CallId, participantId: z.string().min(1).max(64) })
  .strict();
/**
 * Enters the call's media. `prepare`: only prepare the path, without joining (a participant invited into a
 * running peer-to-peer call, before it accepts); while a call rings, every `call.join` prepares. `page`: the page
 * joining or preparing; it takes the call over from any other page of the party (signals go to it from now on).
 */
export const CallJoinFrameSchema = z
  .object({ type: z.literal('call.join'), id: Id, sessionID: SessionID, callId: CallId, prepare: z.boolean().optional(), page: PageId.optional() })
  .strict();
export const CallMediaFrameSchema = z
  .object({ type: z.literal('call.media'), sessionID: SessionID, callId: CallId, audio: z.boolean(), video: z.boolean(), videoPaused: z.boolean().optional() })
  .strict();
/**
 * A participant starts (`on`) or stops sharing its screen. `stream`: the id of the stream the screen is sent in
 * (see CallParticipant.screenStream); required to start.
 */
export const CallScreenFrameSchema = z
  .object({
    type: z.literal('call.screen'),
    id: Id,
    sessionID: SessionID,
    callId: CallId,
    on: z.boolean(),
    stream: z.string().min(1).max(128).optional(),
  })
  .strict()
  .refine((frame) => !frame.on || frame.stream !== undefined, { message: 'starting to share needs the stream id', path: ['stream'] });
export const CallConnectionFrameSchema = z
  .object({
    type: z.literal('call.connection'),
    sessionID: SessionID,
    callId: CallId,
    /** The remote participant this link goes to. */
    peerId: z.string().min(1).max(64),
    state: z.enum(['connecting', 'connected', 'reconnecting', 'failed']),
  })
  .strict();

const SessionDescriptionSchema = z
  .object({ type: z.enum(['offer', 'answer', 'pranswer', 'rollback']), sdp: z.string().max(60_000).optional() })
  .strict();
const IceCandidateSchema = z
  .object({
    candidate: z.string().max(2048),
    sdpMid: z.string().max(64).nullable().optional(),
    sdpMLineIndex: z.number().int().min(0).max(1024).nullable().optional(),
    usernameFragment: z.string().max(256).nullable().optional(),
  })
  .strict();

export const SignalFrameSchema = z
  .object({
    type: z.literal('signal'),
    sessionID: SessionID,
    callId: CallId,
    to: z.string().min(1).max(64),
    /** The sending page (the one it joined or prepared with): a signal from another page of the party is dropped. */
    page: PageId.optional(),
    description: SessionDescriptionSchema.optional(),
    /** null: end of candidates. */
    candidate: IceCandidateSchema.nullable().optional(),
  })
  .strict();

export const CALL_CLIENT_FRAME_SCHEMAS = [
  CallRequestFrameSchema,
  CallInviteFrameSchema,
  CallAnswerFrameSchema,
  CallCancelFrameSchema,
  CallHangupFrameSchema,
  CallJoinFrameSchema,
  CallLeaveFrameSchema,
  CallRemoveFrameSchema,
  CallMediaFrameSchema,
  CallScreenFrameSchema,
  CallConnectionFrameSchema,
  SignalFrameSchema,
] as const;

export type SessionDescription = z.infer<typeof SessionDescriptionSchema>;
export type IceCandidate = z.infer<typeof IceCandidateSchema>;

/** The data of `result` for each call request type. */
export interface CallRequestResults {
  'call.request': { call: CallSnapshot };
  'call.invite': { call: CallSnapshot };
  'call.answer': { call: CallSnapshot };
  'call.cancel': { call: CallSnapshot };
  'call.hangup': { call: CallSnapshot };
  'call.join': { call: CallSnapshot; iceServers: IceServerInfo[]; media: MediaAccess; iceTransportPolicy?: IceTransportPolicy };
  'call.leave': { call: CallSnapshot };
  'call.remove': { call: CallSnapshot };
  'call.screen': { call: CallSnapshot };
}

/** Any change of a call: state, participants, media. */
export interface CallUpdatedFrame {
  type: 'call.updated';
  call: CallSnapshot;
}

/** Signaling from another participant. */
export interface SignalEventFrame {
  type: 'signal';
  sessionID: string;
  callId: string;
  from: string;
  /** The page of the receiving party it is for (the one in the call); another page of that party ignores it. */
  toPage?: string;
  description?: SessionDescription;
  candidate?: IceCandidate | null;
}
