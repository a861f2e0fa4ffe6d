import { useEffect, useRef, useState } from 'preact/hooks';
import { formatDuration } from '../format.ts';
import type { ConversationState } from '../model/ConversationState.ts';
import type { WorkspaceModel } from '../model/WorkspaceModel.ts';
import { strings } from '../strings.ts';
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

/** The visitor asks for a call: Accept or Decline. Takes focus when it appears. */
function RequestBanner({ state }: { state: ConversationState }) {
  const s = strings.call;
  const acceptRef = useRef<HTMLButtonElement>(null);
  useEffect(() => acceptRef.current?.focus(), []);
  const request = state.call.request;
  const name = request?.from.name ?? state.visitorName;
  const video = request?.useVideo ?? state.call.video.useVideo;
  const answer = (accept: boolean) => {
    state.contact.responseVideoUpgrade(accept, accept ? CALL_STAGE_ID : undefined).catch((error: Error) => {
      state.patchCall({ error: error.message, request: null });
    });
  };
  return (
    <div class="banner" role="alertdialog" aria-labelledby="call-request-text">
      <p id="call-request-text">{s.request(name, video)}</p>
      <div class="button-row">
        <button type="button" class="primary" ref={acceptRef} onClick={() => answer(true)}>
          {s.accept}
        </button>
        <button type="button" class="danger" onClick={() => answer(false)}>
          {s.decline}
        </button>
      </div>
    </div>
  );
}

/** The state line of a call, as words. */
function describe(state: ConversationState): string {
  const s = strings.call.state;
  const { video, link } = state.call;
  if (video.state === 'invited') return s.invited(state.visitorName);
  if (video.state === 'requested') return s.requested(state.visitorName);
  if (link === 'reconnecting') return s.reconnecting;
  if (link === 'failed') return s.failed;
  if (video.state === 'active' && (link === 'connected' || link === null)) return s.connected;
  return s.connecting;
}

/**
 * The running call: the request banner, the stage the SDK draws into (always in the page, hidden
 * without a call, so a call can be drawn the moment it starts), the state line, the duration and
 * Mute / Camera off / End call.
 */
export function CallPanel({ model }: { model: WorkspaceModel }) {
  const s = strings.call;
  const state = model.liveCall;
  const call = state?.call ?? null;
  const ringing = call?.video.state === 'requested';
  const inCall = call !== null && (call.video.state === 'connecting' || call.video.state === 'active');
  const videoOn = call ? (call.videoOn ?? call.video.useVideo) : false;
  const act = (action: () => Promise<void>, patch: Partial<NonNullable<typeof call>>) => {
    if (!state) return;
    action().then(
      () => state.patchCall(patch),
      (error: Error) => state.patchCall({ error: error.message }),
    );
  };
  return (
    <section class={state ? 'call' : 'call is-idle'} aria-label={s.panel} hidden={!state}>
      {state && ringing ? <RequestBanner key={state.call.video.callId ?? 'request'} state={state} /> : null}
      {state && !ringing ? (
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
              </>
            ) : null}
            <button type="button" class="danger" onClick={() => act(() => state.contact.endVideo(), {})}>
              {s.end}
            </button>
          </div>
        </div>
      ) : null}
      {state?.call.error ? <p class="error">{s.error(state.call.error)}</p> : null}
      <div id={CALL_STAGE_ID} class={inCall ? 'stage' : 'stage is-empty'} aria-label={s.stage} role="group" />
    </section>
  );
}
