import type { VideoInvite } from '@parley/sdk';
import { useEffect, useRef, useState } from 'preact/hooks';
import { formatDuration } from '../format.ts';
import type { ConversationState } from '../model/ConversationState.ts';
import type { WorkspaceModel } from '../model/WorkspaceModel.ts';
import { strings } from '../strings.ts';
import { AddPeople } from './AddPeople.tsx';
import { CallPeople } from './CallPeople.tsx';
import { GuestLink, type GuestInvite } from './GuestLink.tsx';
import { CALL_STAGE_ID } from './callStage.ts';

/** Seconds since `startedAt`, redrawn every second. */
function Duration({ startedAt }: { startedAt: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [startedAt]);
  return (
    <span class="duration" role="timer" aria-label={strings.call.duration}>
      {formatDuration(now - startedAt)}
    </span>
  );
}

/** A call waiting for this agent's answer: Accept or Decline. Takes focus when it appears. */
function AnswerBanner({ id, text, onAnswer }: { id: string; text: string; onAnswer: (accept: boolean) => void }) {
  const s = strings.call;
  const acceptRef = useRef<HTMLButtonElement>(null);
  useEffect(() => acceptRef.current?.focus(), []);
  return (
    <div class="banner" role="alertdialog" aria-labelledby={id}>
      <p id={id}>{text}</p>
      <div class="button-row">
        <button type="button" class="primary" ref={acceptRef} onClick={() => onAnswer(true)}>
          {s.accept}
        </button>
        <button type="button" class="danger" onClick={() => onAnswer(false)}>
          {s.decline}
        </button>
      </div>
    </div>
  );
}

/** The visitor asks for a call. */
function RequestBanner({ state }: { state: ConversationState }) {
  const request = state.call.request;
  const name = request?.from.name ?? state.visitorName;
  const video = request?.useVideo ?? state.call.video.useVideo;
  const answer = (accept: boolean) => {
    state.contact.responseVideoUpgrade(accept, accept ? CALL_STAGE_ID : undefined).catch((error: Error) => {
      state.patchCall({ error: error.message, request: null });
    });
  };
  return <AnswerBanner id="call-request-text" text={strings.call.request(name, video)} onAnswer={answer} />;
}

/** A colleague brings this agent into a running call: Accept joins it, Decline stays out. */
function InviteBanner({ state, invite }: { state: ConversationState; invite: VideoInvite }) {
  const answer = (accept: boolean) => {
    state.patchCall({ invite: null, endReason: null, error: null });
    (accept ? invite.accept(CALL_STAGE_ID) : invite.decline()).catch((error: Error) => state.patchCall({ error: error.message }));
  };
  return <AnswerBanner id="call-invite-text" text={strings.call.invitedBy(invite.from.name, state.visitorName, invite.useVideo)} onAnswer={answer} />;
}

/** The state line of a call, as words. */
function describe(state: ConversationState): string {
  const s = strings.call.state;
  const { video, link } = state.call;
  if (video.state === 'invited') return s.invited(state.visitorName);
  if (video.state === 'requested') return s.requested(state.visitorName);
  if (state.self && !state.self.joined) return s.connecting;
  if (link === 'reconnecting') return s.reconnecting;
  if (link === 'failed') return s.failed;
  if (video.state === 'active' && (link === 'connected' || link === null)) return s.connected;
  return s.connecting;
}

/** Which group tool is open under the call bar. */
type Tool = { kind: 'none' } | { kind: 'add' } | { kind: 'guest'; invite: GuestInvite } | { kind: 'making' };

/**
 * The running call: the request or invitation banner, the stage the SDK draws into (always in the page,
 * hidden without a call, so a call can be drawn the moment it starts), the state line, the duration, who is
 * in the call (with Remove), and Mute / Camera off / Share screen / Add people / Invite guest / Leave / End for all.
 * The conversation's own agent ends the call for everyone; an agent a colleague added can only leave.
 */
export function CallPanel({ model }: { model: WorkspaceModel }) {
  const s = strings.call;
  const g = strings.group;
  const state = model.liveCall;
  const call = state?.call ?? null;
  const [tool, setTool] = useState<Tool>({ kind: 'none' });
  const addButton = useRef<HTMLButtonElement>(null);
  const ringing = call?.video.state === 'requested';
  const invite = call?.invite ?? null;
  const inCall = call !== null && (call.video.state === 'connecting' || call.video.state === 'active');
  const videoOn = call ? (call.videoOn ?? call.video.useVideo) : false;
  useEffect(() => {
    if (!inCall) setTool({ kind: 'none' });
  }, [inCall, state?.id]);
  const sharing = state?.self?.screen ?? false;
  const act = (action: () => Promise<void>, patch: Partial<NonNullable<typeof call>>) => {
    if (!state) return;
    state.patchCall({ error: null });
    action().then(
      () => state.patchCall(patch),
      (error: Error & { code?: string }) => state.patchCall({ error: error.code === 'screen_share_busy' ? s.screenBusy : error.message }),
    );
  };
  const inviteGuest = () => {
    if (!state) return;
    setTool({ kind: 'making' });
    state.contact.createGuestInvite().then(
      (made) => setTool({ kind: 'guest', invite: made }),
      (error: Error) => {
        setTool({ kind: 'none' });
        state.patchCall({ error: error.message });
      },
    );
  };
  const closeTool = () => {
    const wasAdd = tool.kind === 'add';
    setTool({ kind: 'none' });
    if (wasAdd) addButton.current?.focus();
  };
  const added = state?.addedToCall ?? false;
  const otherAgents = state ? state.others.filter((p) => p.role === 'agent').length : 0;
  return (
    <section class={state ? 'call' : 'call is-idle'} aria-label={s.panel} hidden={!state}>
      {state && ringing ? <RequestBanner key={state.call.video.callId ?? 'request'} state={state} /> : null}
      {state && invite ? <InviteBanner key={state.call.video.callId ?? 'invite'} state={state} invite={invite} /> : null}
      {state && !ringing && !invite ? (
        <div class="call-bar">
          <span class="call-with name">{state.visitorName}</span>
          <span class="call-state" role="status">
            {describe(state)}
          </span>
          {state.call.startedAt !== null && inCall ? <Duration startedAt={state.call.startedAt} /> : null}
          <div class="button-row">
            {inCall ? (
              <>
                <button
                  type="button"
                  onClick={() =>
                    call?.muted
                      ? act(() => state.contact.unmuteAudio(), { muted: false })
                      : act(() => state.contact.muteAudio(), { muted: true })
                  }
                >
                  {call?.muted ? s.unmute : s.mute}
                </button>
                <button
                  type="button"
                  onClick={() =>
                    videoOn
                      ? act(() => state.contact.disableVideo(), { videoOn: false })
                      : act(() => state.contact.enableVideo(), { videoOn: true })
                  }
                >
                  {videoOn ? s.cameraOff : s.cameraOn}
                </button>
                <button
                  type="button"
                  aria-pressed={sharing}
                  onClick={() => act(() => (sharing ? state.contact.stopScreenShare() : state.contact.startScreenShare()), {})}
                >
                  {sharing ? s.stopSharing : s.shareScreen}
                </button>
                <button
                  type="button"
                  ref={addButton}
                  aria-expanded={tool.kind === 'add'}
                  aria-controls="add-people"
                  onClick={() => (tool.kind === 'add' ? closeTool() : setTool({ kind: 'add' }))}
                >
                  {g.addPeople}
                </button>
                <button type="button" disabled={tool.kind === 'making'} onClick={inviteGuest}>
                  {tool.kind === 'making' ? g.inviteGuestMaking : g.inviteGuest}
                </button>
              </>
            ) : null}
            {inCall && (added || otherAgents > 0) ? (
              <button type="button" class={added ? 'danger' : undefined} onClick={() => act(() => state.contact.leaveVideo(), {})}>
                {s.leave}
              </button>
            ) : null}
            {!(inCall && added) ? (
              <button type="button" class="danger" onClick={() => act(() => state.contact.endVideo(), {})}>
                {inCall && otherAgents > 0 ? s.endForAll : s.end}
              </button>
            ) : null}
          </div>
          {inCall ? <CallPeople state={state} /> : null}
        </div>
      ) : null}
      {state && tool.kind === 'add' ? <AddPeople model={model} state={state} onClose={closeTool} /> : null}
      {state && tool.kind === 'guest' ? <GuestLink invite={tool.invite} onClose={() => setTool({ kind: 'none' })} /> : null}
      {state?.call.error ? <p class="error">{s.error(state.call.error)}</p> : null}
      <div id={CALL_STAGE_ID} class={inCall && !invite ? 'stage' : 'stage is-empty'} aria-label={s.stage} role="group" />
    </section>
  );
}
