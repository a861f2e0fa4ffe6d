import { useEffect, useRef, useState } from 'preact/hooks';
import { strings as t } from '../strings.ts';

interface ComposerProps {
  disabled: boolean;
  /** Bumped when the panel opens: focus moves here. */
  focusKey: number;
  onSend(text: string): void;
  onTyping(typing: boolean): void;
}

/** The message box: Enter sends, Shift+Enter starts a new line. */
export function Composer({ disabled, focusKey, onSend, onTyping }: ComposerProps) {
  const [text, setText] = useState('');
  const box = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (focusKey > 0) box.current?.focus();
  }, [focusKey]);

  const send = (): void => {
    if (!text.trim() || disabled) return;
    onSend(text);
    setText('');
    onTyping(false);
  };

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <textarea
        ref={box}
        aria-label={t.message}
        placeholder={t.messagePlaceholder}
        rows={2}
        maxLength={4000}
        value={text}
        disabled={disabled}
        onInput={(e) => {
          const value = (e.currentTarget as HTMLTextAreaElement).value;
          setText(value);
          onTyping(value.trim().length > 0);
        }}
        onBlur={() => onTyping(false)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      <button type="submit" class="send" disabled={disabled || !text.trim()}>
        {t.send}
      </button>
    </form>
  );
}
