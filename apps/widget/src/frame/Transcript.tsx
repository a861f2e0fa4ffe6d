import type { Message } from '@parley/sdk';
import { useEffect, useRef } from 'preact/hooks';
import { formatTime, strings as t } from '../strings.ts';
import type { PendingMessage } from './ChatModel.ts';

interface TranscriptProps {
  messages: Message[];
  pending: PendingMessage[];
  greeting: string;
}

/**
 * The conversation, as text only (preact sets text nodes; nothing is parsed as HTML). A `log` live
 * region, so new messages are announced. Call events appear in line as system lines.
 */
export function Transcript({ messages, pending, greeting }: TranscriptProps) {
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    const el = list.current?.parentElement;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages.length, pending.length]);

  return (
    <div class="transcript" role="log" aria-label={t.transcript} tabIndex={0}>
      <ol ref={list}>
        {messages.length === 0 && pending.length === 0 && (
          <li class="msg msg-agent msg-greeting">
            <p class="msg-text">{greeting}</p>
          </li>
        )}
        {messages.map((m) =>
          m.kind === 'event' ? (
            <li key={m.id} class="msg-event">
              <p class="msg-text">{m.text}</p>
            </li>
          ) : (
            <li key={m.id} class={m.from.role === 'visitor' ? 'msg msg-own' : 'msg msg-agent'}>
              <p class="msg-meta">
                <span class="msg-from">{m.from.role === 'visitor' ? t.you : m.from.name}</span>{' '}
                <time dateTime={m.at}>{formatTime(m.at)}</time>
              </p>
              <p class="msg-text">{m.text}</p>
            </li>
          ),
        )}
        {pending.map((p) => (
          <li key={p.clientId} class="msg msg-own msg-pending">
            <p class="msg-meta">
              <span class="msg-from">{t.you}</span> <span>{t.sending}</span>
            </p>
            <p class="msg-text">{p.text}</p>
          </li>
        ))}
      </ol>
    </div>
  );
}
