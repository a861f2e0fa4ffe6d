/*
 * The two invitations a page can be handed as `'videoInvite'`: to answer a pending call (the visitor,
 * invited by the agent), and to join a call already running (an added colleague, or a guest's link).
 * Built from callbacks, so this file knows the engine only through what it is given.
 */
import { inProgress } from '@parley/protocol/call';
import { ParleyError } from '../errors.ts';
import type { CallSnapshot, Party } from '../wire.ts';
import type { VideoInvite } from './events.ts';

/** What the invitations need from the call engine. */
export interface InvitationHost {
  /** This page's party. */
  self: Party;
  /** The conversation's call as it stands now. */
  currentCall(): CallSnapshot | null;
  /** True when this page already takes part in the call. */
  isEngaged(): boolean;
  /** Answers the pending call. */
  answer(accept: boolean, divID: string | null): Promise<void>;
  /** Joins the running call, drawn into `divID`. */
  join(call: CallSnapshot, divID: string): void;
  /** Declines a running call this page was brought into (`call.leave`). */
  leave(callId: string): Promise<void>;
}

const noLongerOpen = (): ParleyError => new ParleyError('conflict', 'this invitation is no longer open');

/** The agent invites the visitor: accepting or declining answers the pending call, while it is still this one. */
export function answerInvitation(call: CallSnapshot, host: InvitationHost): VideoInvite {
  const callId = call.callId;
  const stillOpen = (): void => {
    if (host.currentCall()?.callId !== callId) throw noLongerOpen();
  };
  return {
    sessionID: call.sessionID,
    useAudio: call.useAudio,
    useVideo: call.useVideo,
    from: call.initiator ?? host.self,
    accept: async (divID: string) => {
      stillOpen();
      await host.answer(true, divID);
    },
    decline: async () => {
      stillOpen();
      await host.answer(false, null);
    },
  };
}

/** A colleague (or the guest link) brought this party into a call already running: join it, or decline. */
export function joinInvitation(call: CallSnapshot, from: Party, host: InvitationHost): VideoInvite {
  const callId = call.callId;
  const stillOpen = (): CallSnapshot => {
    const current = host.currentCall();
    const me = current?.callId === callId ? current.participants.find((p) => p.id === host.self.id) : undefined;
    if (!current || !inProgress(current.state) || !me || me.joined || host.isEngaged()) throw noLongerOpen();
    return current;
  };
  return {
    sessionID: call.sessionID,
    useAudio: call.useAudio,
    useVideo: call.useVideo,
    from,
    accept: async (divID: string) => {
      host.join(stillOpen(), divID);
    },
    decline: async () => {
      stillOpen();
      await host.leave(callId);
    },
  };
}
