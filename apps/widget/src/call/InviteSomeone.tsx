/*
 * "Invite someone" during a call: makes a guest link (one person, expiring), copies it to the clipboard
 * and always shows it in a read-only field too, since the clipboard can be refused (a browser setting, a
 * host page that does not let the frame write to it). Errors are the SDK's own message (call full, …).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CallModel, GuestLink } from '../frame/CallModel.ts';
import { strings as t } from '../strings.ts';

type InviteState =
  | { kind: 'idle' }
  | { kind: 'making' }
  | { kind: 'made'; link: GuestLink; copied: boolean }
  | { kind: 'failed'; message: string };

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

/** The "Invite someone" button and, once a link is made, the link with what it is good for. */
export function InviteSomeone({ calls }: { calls: CallModel }) {
  const [state, setState] = useState<InviteState>({ kind: 'idle' });
  const field = useRef<HTMLInputElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const closing = useRef(false);
  const made = state.kind === 'made' ? state : null;

  useEffect(() => {
    if (!made) return;
    field.current?.focus();
    field.current?.select();
  }, [made?.link.token]);

  useEffect(() => {
    if (state.kind !== 'idle' || !closing.current) return;
    closing.current = false;
    button.current?.focus();
  }, [state.kind]);

  const invite = async (): Promise<void> => {
    setState({ kind: 'making' });
    try {
      const link = await calls.createGuestLink();
      setState({ kind: 'made', link, copied: await copyToClipboard(link.url) });
    } catch (err) {
      // The server's word on a full call is for whoever runs it; the visitor just needs to know it is full.
      const full = (err as { code?: unknown }).code === 'capacity';
      setState({ kind: 'failed', message: full ? t.inviteFull : (err as Error).message });
    }
  };

  const copyAgain = async (): Promise<void> => {
    if (!made) return;
    field.current?.select();
    setState({ ...made, copied: await copyToClipboard(made.link.url) });
  };

  const validity = made ? t.inviteValidity(minutesLeft(made.link.expiresAt)) : '';
  return (
    <div class="invite-someone">
      {!made && (
        <button type="button" class="control" ref={button} disabled={state.kind === 'making'} onClick={() => void invite()}>
          {state.kind === 'making' ? t.inviteMaking : t.inviteSomeone}
        </button>
      )}
      {state.kind === 'failed' && (
        <p class="invite-note invite-error" role="alert">
          {t.inviteFailed(state.message)}
        </p>
      )}
      {made && (
        <div class="invite-card" role="group" aria-labelledby="parley-invite-link-title">
          <h2 id="parley-invite-link-title">{t.inviteTitle}</h2>
          <p class="invite-note" role="status">
            {made.copied ? t.inviteCopied(validity) : t.inviteCopyByHand(validity)}
          </p>
          <label for="parley-invite-link">{t.inviteLink}</label>
          <input
            ref={field}
            id="parley-invite-link"
            class="invite-link"
            type="text"
            readOnly
            value={made.link.url}
            spellcheck={false}
            onFocus={(e) => e.currentTarget.select()}
          />
          <div class="actions">
            <button type="button" onClick={() => void copyAgain()}>
              {t.inviteCopy}
            </button>
            <button
              type="button"
              onClick={() => {
                closing.current = true;
                setState({ kind: 'idle' });
              }}
            >
              {t.inviteDone}
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
