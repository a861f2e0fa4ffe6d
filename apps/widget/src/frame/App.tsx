import { strings as t } from '../strings.ts';
import type { FrameParams } from '../channel.ts';
import { CALL_MEDIA_ID, type CallModel, type CallState } from './CallModel.ts';
import type { ChatModel, ChatState } from './ChatModel.ts';
import { callUi } from './callUi.ts';
import { Composer } from './Composer.tsx';
import { DeviceCheckPanel } from './DeviceCheckPanel.tsx';
import { Invitation } from './Invitation.tsx';
import { useStore } from './Store.ts';
import { Transcript } from './Transcript.tsx';

interface AppProps {
  chat: ChatModel;
  calls: CallModel;
  params: FrameParams;
  /** Bumped each time the panel is shown (focus goes to the composer). */
  focusKey: number;
  /** Bumped each time the panel is shown with an invitation in it (focus goes to the invitation). */
  inviteFocusKey: number;
  onMinimize(): void;
}

function statusLine(chat: ChatState): string {
  if (chat.phase === 'failed') return t.failed;
  if (chat.phase !== 'ready') return t.connecting;
  if (chat.connection === 'reconnecting' || chat.connection === 'connecting') return t.statusReconnecting;
  if (chat.status === 'closed') return t.statusClosed;
  if (chat.status === 'queued') return t.statusQueued;
  return t.statusOnline;
}

function callLine(call: CallState): string {
  if (call.state === 'requested') return t.requested;
  if (call.state === 'connecting' || call.link === 'connecting') return t.callConnecting;
  if (call.link === 'reconnecting') return t.callReconnecting;
  if (call.state === 'active') return t.callActive(call.useVideo, call.cameraOn);
  return call.notice ?? '';
}

/** The chat panel inside the frame: header, call area, transcript, typing line and composer. */
export function App({ chat: chatModel, calls: callModel, params, focusKey, inviteFocusKey, onMinimize }: AppProps) {
  const chat = useStore(chatModel.store);
  const call = useStore(callModel.store);
  const { Controls } = useStore(callUi);
  const inCall = (call.state === 'connecting' || call.state === 'active' || call.state === 'requested') && !call.canRejoin;
  const canCall = chat.status === 'active' && chat.connection === 'connected' && !inCall && !call.invite;
  const ready = chat.phase === 'ready';
  const style = params.color ? { '--accent': params.color } : undefined;

  return (
    <div class={`panel${inCall ? ' in-call' : ''}${call.useVideo || call.screenShown ? ' with-video' : ''}`} style={style}>
      <header class="header">
        <div class="who">
          <h1>{chat.agent?.name ?? t.title}</h1>
          <p class={`status status-${chat.status}`} data-state={chat.phase === 'ready' ? chat.connection : chat.phase}>
            {statusLine(chat)}
          </p>
        </div>
        <button type="button" class="minimize" aria-label={t.minimize} title={t.minimize} onClick={onMinimize}>
          <span aria-hidden="true">–</span>
        </button>
      </header>
      <div class="tools">
        {params.calls.includes('video') && (
          <button type="button" class="tool" disabled={!canCall} title={canCall ? undefined : t.callsNeedAgent} onClick={() => void callModel.request(true)}>
            {t.videoCall}
          </button>
        )}
        {params.calls.includes('voice') && (
          <button type="button" class="tool" disabled={!canCall} title={canCall ? undefined : t.callsNeedAgent} onClick={() => void callModel.request(false)}>
            {t.voiceCall}
          </button>
        )}
        {canCall && (
          <button type="button" class="tool" aria-expanded={call.checking} onClick={() => callModel.toggleCheck()}>
            {t.checkDevices}
          </button>
        )}
        {chat.contact && chat.status !== 'closed' && (
          <button type="button" class="tool end-chat" onClick={() => void chatModel.endChat()}>
            {t.endChat}
          </button>
        )}
      </div>

      <div class="notes" role="status">
        {chat.phase === 'failed' && (
          <p class="note note-error">
            {t.failed}{' '}
            <button type="button" onClick={() => void chatModel.connect()}>
              {t.retry}
            </button>
          </p>
        )}
        {ready && (chat.connection === 'reconnecting' || chat.connection === 'connecting') && (
          <p class="note note-warn">{t.reconnectingNote}</p>
        )}
        {ready && chat.status === 'queued' && <p class="note">{t.queuedNote}</p>}
        {chat.error && <p class="note note-error">{`${t.sendFailed} ${chat.error}`}</p>}
        {call.deviceNote && (
          <p class="note note-warn">
            {call.deviceNote}{' '}
            {call.offer && (
              <button type="button" onClick={() => void callModel.useOffered()}>
                {t.useDevice(call.offer.label)}
              </button>
            )}
          </p>
        )}
      </div>

      {call.checking && (canCall || call.invite) && <DeviceCheckPanel calls={callModel} video={call.invite?.useVideo ?? params.calls.includes('video')} />}

      {call.invite && (
        <Invitation
          invite={call.invite}
          focusKey={inviteFocusKey}
          checking={call.checking}
          onCheck={() => callModel.toggleCheck()}
          onAccept={() => void callModel.accept()}
          onDecline={() => void callModel.decline()}
        />
      )}

      <section class="call" aria-label={t.callRegion} hidden={!inCall && !call.notice && !call.mediaProblem && !call.canRejoin}>
        <div id={CALL_MEDIA_ID} class="call-media" />
        <p class="call-state" role="status" data-state={call.link ?? call.state}>
          {callLine(call)}
        </p>
        {Controls && (inCall || call.mediaProblem) && <Controls calls={callModel} />}
        {!inCall && call.canRejoin && (
          <button type="button" class="primary" onClick={() => void callModel.rejoin()}>
            {t.rejoin}
          </button>
        )}
        {!inCall && call.notice && (
          <button type="button" class="link" onClick={() => callModel.dismissNotice()}>
            {t.dismiss}
          </button>
        )}
      </section>

      <Transcript messages={chat.messages} pending={chat.pending} greeting={params.greeting ?? t.defaultGreeting} />
      <p class="typing" aria-live="polite">
        {chat.typing ? t.typing(chat.typing) : ''}
      </p>

      {chat.status === 'closed' ? (
        <div class="closed">
          <p>{t.closedNote}</p>
          <button type="button" class="primary" onClick={() => chatModel.startOver()}>
            {t.startNewChat}
          </button>
        </div>
      ) : (
        <Composer
          disabled={!ready}
          focusKey={focusKey}
          onSend={(text) => void chatModel.send(text)}
          onTyping={(typing) => chatModel.setTyping(typing)}
        />
      )}
    </div>
  );
}
