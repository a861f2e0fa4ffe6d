import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConversationState } from '../model/ConversationState.ts';
import { strings } from '../strings.ts';

type GuestInvite = Awaited<ReturnType<ConversationState['contact']['createGuestInvite']>>;

/** Whole minutes until `expiresAt` (at least 1). */
function minutesLeft(expiresAt: string): number {
  const ms = Date.parse(expiresAt) - Date.now();
  return Number.isFinite(ms) ? Math.max(1, Math.round(ms / 60_000)) : 1;
}

async function copyToClipboard(text: string): Promise<boolean> {
  try {
    if (!navigator.clipboard?.writeText) return false;
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A guest link just made for the running call: copied to the clipboard when the browser lets it, and
 * always shown in a read-only field to copy by hand.
 */
export function GuestLink({ invite, onClose }: { invite: GuestInvite; onClose(): void }) {
  const g = strings.group;
  const [copied, setCopied] = useState<boolean | null>(null);
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => {
    field.current?.focus();
    field.current?.select();
    let live = true;
    void copyToClipboard(invite.url).then((ok) => live && setCopied(ok));
    return () => {
      live = false;
    };
  }, [invite.token]);
  const validity = g.validity(minutesLeft(invite.expiresAt));
  return (
    <div class="group-panel" role="group" aria-labelledby="guest-link-title">
      <div class="group-panel-head">
        <h3 id="guest-link-title">{g.guestLinkTitle}</h3>
        <button type="button" class="small" onClick={onClose}>
          {g.done}
        </button>
      </div>
      <p role="status">{copied === null ? '' : copied ? g.copied(validity) : g.copyByHand(validity)}</p>
      <label for="guest-link-field" class="field-label">
        {g.guestLink}
      </label>
      <div class="link-row">
        <input
          ref={field}
          id="guest-link-field"
          type="text"
          readOnly
          value={invite.url}
          spellcheck={false}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button
          type="button"
          class="small"
          onClick={() => {
            field.current?.select();
            void copyToClipboard(invite.url).then(setCopied);
          }}
        >
          {g.copy}
        </button>
      </div>
    </div>
  );
}

export type { GuestInvite };
