import type { ConversationState } from '../model/ConversationState.ts';
import type { WorkspaceModel } from '../model/WorkspaceModel.ts';
import { strings } from '../strings.ts';
import { CALL_STAGE_ID } from './callStage.ts';

/** "Start video" and "Start voice" for the selected conversation (agent-initiated calls). */
export function CallControls({ model, state }: { model: WorkspaceModel; state: ConversationState }) {
  const s = strings.call;
  const live = model.liveCall;
  const busyElsewhere = live !== null && live !== state;
  // A call can run in this conversation without this agent (a colleague's call it left or was not added to).
  const runsWithoutMe = !state.callLive && (state.call.video.state === 'connecting' || state.call.video.state === 'active');
  const disabled = state.closed || live !== null || runsWithoutMe || state.contact.status !== 'active';
  const start = (useVideo: boolean) => {
    state.patchCall({ endReason: null, error: null });
    state.contact.inviteToVideo(CALL_STAGE_ID, { useAudio: true, useVideo }).catch((error: Error) => {
      state.patchCall({ error: error.message });
    });
  };
  const lastEnd = !state.callLive && state.call.endReason ? (s.ended[state.call.endReason] ?? s.ended.hangup) : null;
  return (
    <section class="panel" aria-labelledby="call-heading">
      <h2 id="call-heading">{s.heading}</h2>
      <div class="button-row">
        <button type="button" class="primary" disabled={disabled} onClick={() => start(true)}>
          {s.startVideo}
        </button>
        <button type="button" disabled={disabled} onClick={() => start(false)}>
          {s.startVoice}
        </button>
      </div>
      {busyElsewhere ? <p class="muted">{s.busy}</p> : null}
      {runsWithoutMe ? <p class="muted">{s.runsWithoutYou}</p> : null}
      {lastEnd ? <p class="muted">{lastEnd}</p> : null}
      {state.call.error && !state.callLive ? <p class="error">{s.error(state.call.error)}</p> : null}
    </section>
  );
}
