/*
 * The in-call controls, loaded only when a call starts: Mute/Unmute, Camera off/on, Share screen/Stop sharing, Invite someone,
 * End call, and what to do when the camera or microphone is refused. The video itself is drawn by the
 * SDK into the call area (two people: remote video large, self-view small; more: a grid of named
 * cells with the speaker outlined — see call.css).
 */
import type { CallControlsProps } from '../frame/callUi.ts';
import { useStore } from '../frame/Store.ts';
import { strings as t } from '../strings.ts';
import { InviteSomeone } from './InviteSomeone.tsx';
import { MediaHelp } from './MediaHelp.tsx';
import './call.css';

/** Mute, camera and hang-up buttons for the running call. */
export function CallControls({ calls }: CallControlsProps) {
  const call = useStore(calls.store);
  const live = call.state === 'connecting' || call.state === 'active';
  return (
    <div class="call-ui">
      {call.mediaProblem && (
        <MediaHelp
          device={call.mediaProblem.device}
          missing={call.mediaProblem.missing}
          inCall={live}
          onVoiceOnly={() => calls.continueVoiceOnly()}
          onChatOnly={() => void calls.continueChatOnly()}
        />
      )}
      {(live || call.state === 'requested') && (
        <div class="call-controls">
          {live && (
            <button type="button" class="control" aria-pressed={!call.micOn} onClick={() => void calls.toggleMic()}>
              {call.micOn ? t.mute : t.unmute}
            </button>
          )}
          {live && (
            <button type="button" class="control" aria-pressed={!call.cameraOn} onClick={() => void calls.toggleCamera()}>
              {call.cameraOn ? t.cameraOff : t.cameraOn}
            </button>
          )}
          {live && (
            <button type="button" class="control" aria-pressed={call.sharing} onClick={() => void calls.toggleScreenShare()}>
              {call.sharing ? t.stopSharing : t.shareScreen}
            </button>
          )}
          <button type="button" class="control hangup" onClick={() => void calls.end()}>
            {call.state === 'requested' ? t.cancelCall : t.endCall}
          </button>
        </div>
      )}
      {call.state === 'active' && <InviteSomeone calls={calls} />}
    </div>
  );
}
