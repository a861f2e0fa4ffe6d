import { DeviceCheck } from '@parley/sdk';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConversationState } from '../model/ConversationState.ts';
import type { WorkspaceModel } from '../model/WorkspaceModel.ts';
import { strings } from '../strings.ts';
import { CALL_STAGE_ID } from './callStage.ts';

/**
 * The pre-call check for this conversation's next call: what is picked is handed to the contact at once
 * (`setDevices` before a call: the call opens those devices). It holds the devices while shown.
 */
function PreCallCheck({ state }: { state: ConversationState }) {
  const host = useRef<HTMLDivElement>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let check: DeviceCheck | null = null;
    let gone = false;
    const choose = () => check && state.contact.setDevices(check.choice).catch((error: Error) => setProblem(error.message));
    void DeviceCheck.open(host.current!).then((opened) => {
      if (gone) return opened.close();
      check = opened;
      setProblem(opened.failures[0]?.message ?? null);
      opened.on('unavailable', (failure) => setProblem(failure.message));
      opened.on('change', () => void choose());
      void choose();
    });
    return () => {
      gone = true;
      check?.close();
    };
  }, [state]);
  return (
    <div class="pre-call-check" role="group" aria-label={strings.call.deviceCheck}>
      <div ref={host} />
      {problem ? <p class="error">{strings.call.deviceProblem(problem)}</p> : null}
    </div>
  );
}

/** "Start video" and "Start voice" for the selected conversation (agent-initiated calls), and the pre-call check. */
export function CallControls({ model, state }: { model: WorkspaceModel; state: ConversationState }) {
  const s = strings.call;
  const [checking, setChecking] = useState(false);
  const live = model.liveCall;
  const busyElsewhere = live !== null && live !== state;
  // A call can run in this conversation without this agent (a colleague's call it left or was not added to).
  const runsWithoutMe = !state.callLive && (state.call.video.state === 'connecting' || state.call.video.state === 'active');
  const disabled = state.closed || live !== null || runsWithoutMe || state.contact.status !== 'active';
  const start = (useVideo: boolean) => {
    setChecking(false); // the check lets go of the devices the call opens
    state.patchCall({ endReason: null, error: null });
    state.contact.inviteToVideo(CALL_STAGE_ID, { useAudio: true, useVideo }).catch((error: Error) => {
      state.patchCall({ error: error.message });
    });
  };
  // Dropped past the grace period while the call goes on: offered to come back (the SDK never does it silently).
  const canRejoin = state.call.video.canRejoin && live === null;
  const rejoin = () => {
    state.patchCall({ endReason: null, error: null });
    state.contact.rejoinVideo(CALL_STAGE_ID).catch((error: Error) => state.patchCall({ error: error.message }));
  };
  const lastEnd = !state.callLive && !canRejoin && state.call.endReason ? (s.ended[state.call.endReason] ?? s.ended.hangup) : null;
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
        <button type="button" disabled={live !== null} aria-expanded={checking && live === null} onClick={() => setChecking(!checking)}>
          {s.checkDevices}
        </button>
      </div>
      {checking && live === null ? <PreCallCheck state={state} /> : null}
      {busyElsewhere ? <p class="muted">{s.busy}</p> : null}
      {canRejoin ? (
        <div class="rejoin" role="status">
          <p>{s.droppedOut}</p>
          <button type="button" class="primary" onClick={rejoin}>
            {s.rejoin}
          </button>
        </div>
      ) : runsWithoutMe ? (
        <p class="muted">{s.runsWithoutYou}</p>
      ) : null}
      {lastEnd ? <p class="muted">{lastEnd}</p> : null}
      {state.call.error && !state.callLive ? <p class="error">{s.error(state.call.error)}</p> : null}
    </section>
  );
}
