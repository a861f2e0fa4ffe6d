import type { Message } from '@parley/sdk';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { formatClock } from '../format.ts';
import type { ConversationState } from '../model/ConversationState.ts';
import type { WorkspaceModel } from '../model/WorkspaceModel.ts';
import { strings } from '../strings.ts';

/** One line of the transcript: a chat message, or a call/system event shown in line. */
function TranscriptLine({ message, selfId }: { message: Message; selfId: string }) {
  if (message.kind === 'event') {
    return (
      <li class="event">
        <span class="msg-text">{message.text}</span> <time dateTime={message.at}>{formatClock(message.at)}</time>
      </li>
    );
  }
  const mine = message.from.id === selfId;
  return (
    <li class={mine ? 'message mine' : 'message theirs'}>
      <span class="from msg-author">{mine ? strings.conversation.you : message.from.name}</span>{' '}
      <time dateTime={message.at}>{formatClock(message.at)}</time>
      <p class="text msg-text">{message.text}</p>
    </li>
  );
}

/** The composer: Enter sends, Shift+Enter makes a new line; typing is reported to the visitor. */
function Composer({ state }: { state: ConversationState }) {
  const s = strings.conversation;
  const [text, setText] = useState('');
  const [failed, setFailed] = useState(false);
  const send = () => {
    const body = text.trim();
    if (!body) return;
    setText('');
    setFailed(false);
    state.contact.sendMessage(body).catch(() => setFailed(true));
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label for="composer-input" class="visually-hidden">
        {s.message}
      </label>
      <textarea
        id="composer-input"
        rows={2}
        value={text}
        disabled={state.closed}
        placeholder={state.closed ? s.closed : ''}
        onInput={(e) => {
          const value = e.currentTarget.value;
          setText(value);
          state.contact.setTyping(value.trim().length > 0);
        }}
        onBlur={() => state.contact.setTyping(false)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      <button type="submit" class="primary" disabled={state.closed}>
        {s.send}
      </button>
      {failed ? <p class="error" role="alert">{s.sendFailed}</p> : null}
    </form>
  );
}

/** The selected conversation: transcript (a live log), typing indicator, composer, close. */
export function ConversationView({ model, state }: { model: WorkspaceModel; state: ConversationState }) {
  const s = strings.conversation;
  const selfId = model.agent?.id ?? '';
  const logRef = useRef<HTMLDivElement>(null);
  const count = state.messages.length;
  useLayoutEffect(() => {
    const log = logRef.current;
    if (log) log.scrollTop = log.scrollHeight;
  }, [count, state.typing]);
  useEffect(() => {
    if (document.visibilityState === 'visible') state.markRead();
  }, [count, state]);
  return (
    <section class="conversation" aria-labelledby="conversation-heading">
      <div class="conversation-head">
        <h2 id="conversation-heading">{s.heading(state.visitorName)}</h2>
        {state.closed ? (
          <button type="button" onClick={() => model.dismiss(state.id)}>
            {s.dismiss}
          </button>
        ) : (
          <button type="button" onClick={() => void state.contact.close().catch(() => undefined)}>
            {s.close}
          </button>
        )}
      </div>
      <div class="transcript" ref={logRef} id="transcript" role="log" aria-label={s.transcript} tabIndex={0}>
        <ol class="transcript-lines">
          {state.messages.map((m) => (
            <TranscriptLine key={m.id} message={m} selfId={selfId} />
          ))}
        </ol>
      </div>
      <p class="typing" id="typing" aria-hidden={state.typing ? undefined : 'true'}>
        {state.typing ? s.typing(state.typing.name) : ' '}
      </p>
      {state.closed ? <p class="muted">{s.closed}</p> : null}
      <Composer state={state} />
    </section>
  );
}
